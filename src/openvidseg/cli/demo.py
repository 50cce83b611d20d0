"""Run the offline demo: a synthetic open-vocabulary world, a tiny CLIP pretrained in it, OV2VSS and
baselines trained on seen classes and scored on unseen ones. Needs no download and no argument.

Writes report.md (the table, the settings, the time taken), metrics.json, per_class_iou.png and an
overlay video into --out. Generated worlds and pretrained CLIPs are cached ($OPENVIDSEG_CACHE or
~/.cache/openvidseg). --quick: a smaller world and shorter training, about 2-3 minutes on 2 cores;
the full run adds OV2VSS with temporal cost fusion (ours) and one ablation per temporal module of it (STF,
RFE, VTE), about 12 minutes on 2 idle cores (metrics.json is written after each seed).

--task instance: the instance edition. In a synthetic world of tracked objects (coloured shapes that enter,
leave and occlude each other; same-class pairs that swap places), the tiny CLIP-VIS and OVFormer are trained on
base classes with the world CLIP (full mode: pretrained 2000 steps) and scored with video AP, AP_base, AP_novel
and identity switches, beside the shuffled-text control and the per-frame baseline without temporal matching
(detections linked frame to frame by class and mask IoU), and OVFormer also with the mask-pooled CLIP ensemble
(ours); the overlay shows CLIP-VIS's tracks with ids and class names. Full mode: about 28 minutes for 3 seeds
on the 2-core VM at load 2-3.

--task audio-visual: the same for open-vocabulary audio-visual segmentation: a synthetic world where each
class sounds as its name says and half of each video's shapes are silent; OV-AVSS trained on the base classes,
scored against itself hearing other videos' sound (shuffled audio) and with shuffled class names (its quick
mode trains 1,000 steps per seed on 960 videos: about 13-15 minutes per seed on one thread of the 2-core VM at
load ~5; docs/audio-visual.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from openvidseg.tasks import COMMAND_TASKS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="semantic", choices=COMMAND_TASKS["demo"],
                        help="semantic (default): OV2VSS and baselines; instance: CLIP-VIS and OVFormer with tracks; "
                             "audio-visual: OV-AVSS")
    parser.add_argument("--out", default="openvidseg-demo", help="output folder (default: openvidseg-demo)")
    parser.add_argument("--quick", action="store_true", help="a smaller world and shorter training (~3 minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to run (the report gives mean ± std)")
    parser.add_argument("--workers", type=int, default=2, help="models trained at once, one process each (default: 2)")
    parser.add_argument("--cache", help="where worlds and CLIPs are kept (default: $OPENVIDSEG_CACHE or ~/.cache/openvidseg)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")


def _semantic(args: argparse.Namespace, out: Path, mode: str, cache: Path | None) -> list[Path]:
    import json

    from openvidseg.demo.experiment import DemoSettings, run_demo
    from openvidseg.demo.report import metrics_json, write_demo_outputs

    runs = []
    for seed in args.seeds:
        print(f"== demo ({mode}), seed {seed}")
        runs.append(run_demo(out / f"seed{seed}", DemoSettings.make(args.quick, seed), cache, workers=args.workers))
        # the seeds so far, in case a long run is stopped before the report
        (out / "metrics.json").write_text(json.dumps(metrics_json(runs, mode), indent=2) + "\n")
    return write_demo_outputs(runs, out, mode)


def _instance(args: argparse.Namespace, out: Path, mode: str, cache: Path | None) -> list[Path]:
    from openvidseg.demo.experiment import cache_root
    from openvidseg.demo.instance_experiment import InstanceDemoSettings, run_instance_demo
    from openvidseg.demo.instance_report import write_instance_demo_outputs

    runs = []
    for seed in args.seeds:
        print(f"== instance demo ({mode}), seed {seed}")
        runs.append(run_instance_demo(out / f"seed{seed}", InstanceDemoSettings.make(args.quick, seed),
                                      cache or cache_root(), workers=args.workers))
    return write_instance_demo_outputs(runs, out, mode)


def _audio_visual(args: argparse.Namespace, out: Path, mode: str, cache: Path | None) -> list[Path]:
    from openvidseg.demo.audio_visual import run_audio_demo_seeds
    from openvidseg.demo.audio_visual_report import write_audio_demo_outputs

    runs = run_audio_demo_seeds(out, args.quick, args.seeds, cache, args.workers)
    return write_audio_demo_outputs(runs, out, mode)


# task -> how `demo` runs it (args, output folder, "quick"/"full", cache) -> files written; one line per task family
TASKS = {"semantic": _semantic, "instance": _instance, "audio-visual": _audio_visual}


def run(args: argparse.Namespace) -> int:
    import shutil
    import time

    import torch

    from openvidseg.cli.outputs import refuse_existing

    out = Path(args.out).expanduser()
    refuse_existing([out], args.overwrite)
    if out.exists():
        shutil.rmtree(out)
    torch.set_num_threads(1)  # tiny models: many small ops, fastest on one thread per process
    start = time.perf_counter()
    mode = "quick" if args.quick else "full"
    paths = TASKS[args.task](args, out, mode, Path(args.cache) if args.cache else None)
    print((out / "report.md").read_text())
    print(f"wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - start:.0f} s")
    return 0
