"""Run the offline demo: a synthetic open-vocabulary world, a tiny CLIP pretrained in it, OV2VSS and
baselines trained on seen classes and scored on unseen ones. Needs no download and no argument.

Writes report.md (the table, the settings, the time taken), metrics.json, per_class_iou.png and an
overlay video into --out. Generated worlds and pretrained CLIPs are cached ($OPENVIDSEG_CACHE or
~/.cache/openvidseg). --quick: a smaller world and shorter training, about 2-3 minutes on 2 cores;
the full run adds one ablation per OV2VSS module (STF, RFE, VTE) and takes about 10 minutes.

--task audio-visual: the same for open-vocabulary audio-visual segmentation: a synthetic world where each
class sounds as its name says and only some objects sound at a time; OV-AVSS trained on the base classes,
scored against itself hearing other videos' sound (shuffled audio) and with shuffled class names (its quick
mode trains 300 steps per seed: about 37 minutes per seed on the loaded 2-core VM; docs/audio-visual.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from openvidseg.tasks import COMMAND_TASKS

    parser.add_argument("--task", default="semantic", choices=COMMAND_TASKS["demo"],
                        help="which demo: semantic (OV2VSS) or audio-visual (OV-AVSS) (default: semantic)")
    parser.add_argument("--out", default="openvidseg-demo", help="output folder (default: openvidseg-demo)")
    parser.add_argument("--quick", action="store_true", help="a smaller world and shorter training (~3 minutes)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to run (the report gives mean ± std)")
    parser.add_argument("--workers", type=int, default=2, help="models trained at once, one process each (default: 2)")
    parser.add_argument("--cache", help="where worlds and CLIPs are kept (default: $OPENVIDSEG_CACHE or ~/.cache/openvidseg)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")


def run(args: argparse.Namespace) -> int:
    import shutil
    import time

    import torch

    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.demo.experiment import DemoSettings, run_demo
    from openvidseg.demo.report import write_demo_outputs

    out = Path(args.out).expanduser()
    refuse_existing([out], args.overwrite)
    if out.exists():
        shutil.rmtree(out)
    torch.set_num_threads(1)  # tiny models: many small ops, fastest on one thread per process
    start = time.perf_counter()
    mode = "quick" if args.quick else "full"
    if args.task == "audio-visual":
        from openvidseg.demo.audio_visual import run_audio_demo_seeds
        from openvidseg.demo.audio_visual_report import write_audio_demo_outputs

        runs = run_audio_demo_seeds(out, args.quick, args.seeds, Path(args.cache) if args.cache else None, args.workers)
        paths = write_audio_demo_outputs(runs, out, mode)
        print((out / "report.md").read_text())
        print(f"wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - start:.0f} s")
        return 0
    runs = []
    for seed in args.seeds:
        print(f"== demo ({mode}), seed {seed}")
        runs.append(run_demo(out / f"seed{seed}", DemoSettings.make(args.quick, seed),
                             Path(args.cache) if args.cache else None, workers=args.workers))
    paths = write_demo_outputs(runs, out, mode)
    print((out / "report.md").read_text())
    print(f"wrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - start:.0f} s")
    return 0
