"""Accuracy of OV2VSS's large-vocabulary options in the demo world (issue 14), beside their speed gain
(benchmarks/ov2vss_vocabulary_speed.py, benchmarks/ov2vss_speed.py).

Rows that change training (`vte_queries=classes`, `cost_templates=8`, `class_attention_stride=2`, all
three) are trained on the world's seen classes like the demo's ov2vss row, one process and one thread,
one row at a time. Every trained model is then evaluated (gzsl, all 19 classes, clip mode) with class
pruning off and with `class_pruning=k` for each --pruning k: pruning is inference-only, so the same
model is scored with and without it (a paired comparison). The world's frames show 4-7 classes (3-5
things and 1-2 grounds) out of 19, so a k below 19 prunes for real and k near the number present tests
whether the right classes are kept; the script prints how many classes the ground truth shows per frame.

Results are appended to OUT/results.jsonl as they come (a rerun skips rows already there); the table
gives mean ± std over seeds and the mean paired difference to the same seed's default model unpruned.
Usage: python benchmarks/ov2vss_vocabulary_accuracy.py OUT [--seeds 0 1 2] [--rows default vte ...]
       [--pruning 12 8 5] [--quick | --iters N] [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from openvidseg.demo.experiment import DemoSettings, Variant, cache_root, prepare, train_variant
from openvidseg.demo.report import format_cell, seed_summary

ROWS = {
    "default": {},
    "all three": {"vte_queries": "classes", "cost_templates": 8, "class_attention_stride": 2},
    "vte_queries=classes": {"vte_queries": "classes"},
    "cost_templates=8": {"cost_templates": 8},
    "class_attention_stride=2": {"class_attention_stride": 2},
}
COLUMNS = ("miou", "seen", "unseen")


def evaluate_pruned(model, paths, settings, keep: int) -> dict:
    """gzsl scores (%) of `model` with `class_pruning=keep`, and the classes shown per ground-truth frame."""
    from openvidseg.data import VSPWDataset
    from openvidseg.engine.evaluator import evaluate

    data = VSPWDataset(paths.world, "val", split=str(paths.world / "seen_classes.json"))
    present = []

    def observe(video, t, prediction, gt):
        labels = np.unique(np.asarray(gt))
        present.append(int((labels < 255).sum()))

    model.class_pruning = keep
    scores = evaluate(model, data.videos, data.split.protocol("gzsl"), mode="clip", short_side=settings.world.size[0],
                      progress=False, on_prediction=observe)
    return dict(miou=scores.miou, seen=scores.miou_seen, unseen=scores.miou_unseen,  # in %
                present_mean=statistics.fmean(present), present_max=max(present))


def table(results: list[dict]) -> str:
    base = {r["seed"]: r for r in results if r["row"] == "default" and r["pruning"] == 0}
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in results:
        groups.setdefault((r["row"], r["pruning"]), []).append(r)
    lines = ["| row | class pruning | seeds | mIoU | seen | unseen | mIoU - default (paired) | unseen - default (paired) |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(values: list[float]) -> str:
        return format_cell(seed_summary(values))  # mean ± std over seeds

    for (row, keep), runs in groups.items():
        paired = [r for r in runs if r["seed"] in base]
        diffs = [cell([r[c] - base[r["seed"]][c] for r in paired]) if paired else "-" for c in ("miou", "unseen")]
        lines.append(f"| {row} | {keep or 'off'} | {len(runs)} | " + " | ".join(cell([r[c] for r in runs]) for c in COLUMNS)
                     + f" | {diffs[0]} | {diffs[1]} |")
    present = [r["present_mean"] for r in results]
    if present:
        lines.append(f"\nclasses in a ground-truth frame: mean {statistics.fmean(present):.1f}, "
                     f"max {max(r['present_max'] for r in results)} (of 19)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--pruning", type=int, nargs="*", default=[12, 8, 5], help="class_pruning k values (0 always runs)")
    ap.add_argument("--quick", action="store_true", help="the quick demo world (32 + 6 videos, 200 iterations)")
    ap.add_argument("--iters", type=int, default=0, help="training iterations (0: the world's default)")
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out, cache = Path(args.out), Path(args.cache or cache_root())
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.jsonl"
    results = [json.loads(line) for line in results_file.read_text().splitlines()] if results_file.exists() else []
    done = {(r["row"], r["seed"], r["pruning"]) for r in results}
    from openvidseg.models import load_model

    for row in args.rows:  # rows outer: the default row (which every pruning k is measured on) first
        for seed in args.seeds:
            settings = DemoSettings.make(args.quick, seed)
            settings = replace(settings, train_iters=args.iters) if args.iters else settings
            paths, _ = prepare(settings, cache, print)
            keeps = [k for k in [0, *args.pruning] if (row, seed, k) not in done]
            if not keeps:
                continue
            variant = Variant(row, "ov2vss_tiny", ROWS[row])
            folder = out / f"seed{seed}" / row.replace(" ", "_")
            trained = folder / "model.safetensors"  # a rerun (e.g. with other k) reuses the trained model
            model = load_model(trained if trained.is_file() else train_variant(variant, settings, paths, folder)).eval()
            for keep in keeps:
                results.append(dict(row=row, seed=seed, pruning=keep, iters=settings.train_iters,
                                    **evaluate_pruned(model, paths, settings, keep)))
                print(json.dumps(results[-1]), flush=True)
                with open(results_file, "a") as f:
                    f.write(json.dumps(results[-1]) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
