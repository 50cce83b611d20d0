"""Demo rows over training seeds, for the temporal ablation of OV2VSS (issue 12): trains and evaluates the
chosen rows of the full demo world, several at a time (one process and one thread each), and appends each
row's scores to OUT/results.jsonl as it ends; prints a mean ± std table when all are done.

--world-seed N keeps one world and its CLIP (seed N) for every seed, so only training varies (no CLIP
pretraining beyond that world's); without it each seed has its own world and CLIP, as `openvidseg demo`.
Usage: python benchmarks/ov2vss_temporal_rows.py OUT [--seeds 0 1 2] [--rows frame ov2vss ov2vss+tcf ...]
       [--iters 250] [--world-seed 0] [--workers 5] [--cache DIR]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch

from openvidseg.demo.experiment import DemoSettings, Variant, cache_root, prepare, run_variant
from openvidseg.demo.report import format_cell, seed_summary

ROWS = {
    "frame": Variant("frame", "frame_tiny"),
    "ov2vss": Variant("ov2vss", "ov2vss_tiny", {"use_tcf": False}),
    "ov2vss+tcf": Variant("ov2vss+tcf", "ov2vss_tiny", {"use_tcf": True}),
    "tcf-noSTF": Variant("tcf-noSTF", "ov2vss_tiny", {"use_tcf": True, "use_stf": False}),
    "tcf-noRFE": Variant("tcf-noRFE", "ov2vss_tiny", {"use_tcf": True, "use_rfe": False}),
    "tcf-noVTE": Variant("tcf-noVTE", "ov2vss_tiny", {"use_tcf": True, "use_vte": False}),
}
COLUMNS = ("miou", "seen", "unseen", "vc8", "corrupted")


def settings_for(seed: int, iters: int, world_seed: int) -> DemoSettings:
    settings = DemoSettings.make(False, seed)
    if world_seed >= 0:
        settings = replace(settings, world=replace(settings.world, seed=world_seed))
    return replace(settings, train_iters=iters) if iters else settings


def run_row(name: str, seed: int, out: str, cache: str, iters: int, world_seed: int) -> dict:
    torch.set_num_threads(1)
    settings = settings_for(seed, iters, world_seed)
    paths, _ = prepare(settings, Path(cache), print)
    result = run_variant(ROWS[name], settings, paths, Path(out) / f"seed{seed}", print)
    s = result.scores
    return dict(name=name, seed=seed, miou=s.miou, seen=s.miou_seen, unseen=s.miou_unseen, vc8=s.vc8,
                corrupted=result.corrupted_miou, train_s=result.train_seconds, iters=settings.train_iters,
                world_seed=settings.world.seed)


def table(results: list[dict]) -> str:
    by_row: dict[str, list[dict]] = {}
    for r in results:
        by_row.setdefault(r["name"], []).append(r)
    lines = ["| row | seeds | mIoU | seen | unseen | VC8 | corrupted frames |", "|---|---|---|---|---|---|---|"]
    for name, runs in by_row.items():
        cells = [format_cell(seed_summary([r[c] for r in runs])) for c in COLUMNS]  # scores in %, mean ± std
        lines.append(f"| {name} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--iters", type=int, default=0, help="training iterations (0: the full demo's 500)")
    ap.add_argument("--world-seed", type=int, default=-1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    cache = args.cache or str(cache_root())
    Path(args.out).mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    for seed in args.seeds:  # worlds and CLIPs first (cached)
        prepare(settings_for(seed, args.iters, args.world_seed), Path(cache), print)
    # the first three rows of every seed first, then the rest
    jobs = [(r, s) for r in args.rows[:3] for s in args.seeds] + [(r, s) for r in args.rows[3:] for s in args.seeds]
    results = []
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(run_row, r, s, args.out, cache, args.iters, args.world_seed) for r, s in jobs]
        for future in futures:
            results.append(future.result())
            with open(Path(args.out) / "results.jsonl", "a") as f:
                f.write(json.dumps(results[-1]) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
