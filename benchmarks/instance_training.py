"""Do the tiny instance presets learn? Trains `clip_vis_tiny_synthetic` and `ovformer_tiny_synthetic` through the
shared engine (`run_training`, as `openvidseg train --config PRESET` does) on the synthetic instance world and
compares the model before training (the same initial weights: same seed) with the trained one on the world's
validation videos, which show every class (base and novel).

Usage: python benchmarks/instance_training.py [--presets clip_vis_tiny_synthetic ovformer_tiny_synthetic]
           [--iters 60] [--out runs/instance_training] [--override KEY=VALUE ...]

Columns: the training loss (mean of the first and of the last 5 logged steps, every step logged), video AP /
AP50 / AP_base / AP_novel (YouTube-VIS's definition, part 1's metric) of the untrained -> trained model, and
class-agnostic AP (every class merged into one: are the objects found, segmented and tracked, whatever their
class). The tiny presets run on a *random* tiny CLIP (`random:tiny`): its text embeddings of the class names are
distinct but carry no meaning, so class-aware AP can only come from what training teaches about the base
names (OVFormer aligns its queries to them; CLIP-VIS trains class-agnostic and classifies by pooling the random
CLIP's features), and AP_novel stays near zero for both: open-vocabulary transfer needs a pretrained CLIP.
Wall and CPU seconds of training on this machine (its load average is printed).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from openvidseg.config import load_config
from openvidseg.data.build import build_instance_eval_dataset, prepare_dataset
from openvidseg.data.instance_layouts import load_instance_annotations
from openvidseg.engine.checkpoint import checkpoint_name
from openvidseg.engine.instance_evaluator import RESULTS_NAME, evaluate_instances
from openvidseg.engine.rng import seed_everything
from openvidseg.engine.training import run_training
from openvidseg.metrics.instance_scoring import parse_results
from openvidseg.metrics.video_ap import VideoAP
from openvidseg.models.build import build_model

KEYS = ("AP", "AP50", "AP_base", "AP_novel")


def agnostic_ap(results: Path, annotations: Path) -> float:
    """Video AP (percent) with every category merged into one, of a results.json against an annotation file."""
    data = load_instance_annotations(annotations)
    predictions = parse_results(json.loads(results.read_text()), data, str(results))
    metric = VideoAP([0])
    for video in data.videos:
        metric.update(video.id, [dataclasses.replace(p, category_id=0) for p in predictions.get(video.id, [])],
                      [dataclasses.replace(t, category_id=0) for t in data.tracks_of(video.id)])
    return 100 * metric.compute().scores["AP"]


def run(preset: str, args) -> dict:
    out = Path(args.out) / preset
    cfg = load_config(preset, [f"data.root={Path(args.out) / 'world'}", f"output_dir={out / 'run'}",
                               f"train.max_iters={args.iters}", f"train.eval_interval={args.iters}",
                               f"train.checkpoint_interval={args.iters}", "train.log_interval=1",
                               "eval.save_predictions=true", *args.override])
    prepare_dataset(cfg.data)
    seed_everything(cfg.train.seed)  # the initial weights `run_training` starts from
    untrained = build_model(cfg.model)
    before_file = out / f"untrained_{RESULTS_NAME}"
    before = evaluate_instances(untrained, build_instance_eval_dataset(cfg.data), short_side=cfg.data.test_short_side,
                                max_detections=cfg.eval.max_detections, results_path=before_file,
                                progress=False).to_json()
    wall, cpu = time.perf_counter(), time.process_time()
    summary = run_training(cfg, overwrite=True, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    step, after = summary.evaluations[-1]
    after_file = out / "run" / "eval" / checkpoint_name(step) / RESULTS_NAME
    records = [json.loads(line) for line in (out / "run" / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if r.get("type") == "train"]
    val = Path(cfg.data.root) / "val.json"
    return {"preset": preset, "iters": step, "loss": (sum(losses[:5]) / 5, sum(losses[-5:]) / 5),
            "before": before, "after": after, "agnostic": (agnostic_ap(before_file, val), agnostic_ap(after_file, val)),
            "wall": wall, "cpu": cpu, "videos": after["num_videos"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["clip_vis_tiny_synthetic", "ovformer_tiny_synthetic"])
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--out", default="runs/instance_training")
    ap.add_argument("--override", nargs="*", default=[], help="config overrides for every preset (KEY=VALUE)")
    args = ap.parse_args()
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    rows = [run(preset, args) for preset in args.presets]
    print(f"\ntiny instance presets on the synthetic instance world, {rows[0]['videos']} validation videos "
          f"(every class); load average {load} before, {' '.join(open('/proc/loadavg').read().split()[:3])} after\n")
    print("| preset | steps | loss first 5 -> last 5 | " + " | ".join(f"{k} untrained -> trained" for k in KEYS)
          + " | class-agnostic AP | train wall s | train CPU s |")
    print("|---|---|---|" + "---|" * len(KEYS) + "---|---|---|")
    for r in rows:
        cells = [f"{_fmt(r['before'].get(k))} -> {_fmt(r['after'].get(k))}" for k in KEYS]
        print(f"| {r['preset']} | {r['iters']} | {r['loss'][0]:.2f} -> {r['loss'][1]:.2f} | " + " | ".join(cells)
              + f" | {r['agnostic'][0]:.1f} -> {r['agnostic'][1]:.1f} | {r['wall']:.0f} | {r['cpu']:.0f} |")


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
