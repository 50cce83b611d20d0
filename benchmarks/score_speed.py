"""Time `openvidseg score` and measure its peak memory on a VSPW-layout dataset; prints a table.

Usage: python benchmarks/score_speed.py [--data ../shared/data/mini_vspw] [--split val] [--repeats 3]
Predictions are made from the ground truth (perfect, and perturbed: every mask shifted 40 pixels right
with the first 20 frames of each video relabelled) in a temporary folder. Each run is a fresh process
(`python -m openvidseg score ...`): wall time of the whole command, time inside scoring, and the
process's peak resident memory (ru_maxrss), beside the peak after the imports alone.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
PROBE = """
import json, resource, sys, time
start = time.perf_counter()
import torch, openvidseg.metrics.scoring as scoring
from openvidseg.cli import main
imported, rss_imports = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = main(sys.argv[1:])
end = time.perf_counter()
print(json.dumps({"code": code, "total": end - start, "scoring": end - imported,
                  "rss_imports": rss_imports, "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def make_predictions(root: Path, split: str, out: Path, perturb: bool) -> int:
    """Prediction PNGs for every frame of `split` from its masks; returns the number of frames."""
    frames = 0
    for video in (root / f"{split}.txt").read_text().split():
        (out / video).mkdir(parents=True)
        for t, mask_file in enumerate(sorted((root / "data" / video / "mask").glob("*.png"))):
            mask = np.asarray(Image.open(mask_file))
            if perturb:
                shifted = np.zeros_like(mask)
                shifted[:, 40:] = mask[:, :-40]
                mask = np.where((shifted > 0) & (shifted < 255) & (t < 20), shifted % 124 + 1, shifted).astype(np.uint8)
            Image.fromarray(mask).save(out / video / mask_file.name)
            frames += 1
    return frames


def measure(pred: Path, root: Path, split: str, out: Path) -> dict:
    args = ["score", "--pred", str(pred), "--data", str(root), "--split", split, "--out", str(out), "--overwrite"]
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "mini_vspw"))
    ap.add_argument("--split", default="val")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.data)
    print(f"openvidseg score on {root} ({args.split}), median of {args.repeats} fresh processes, 1 torch thread\n")
    print("| predictions | frames | command s | scoring s | frames/s | peak RSS MiB | RSS after imports MiB | mIoU | VC8 |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, perturb in (("perfect", False), ("perturbed", True)):
            pred = Path(tmp) / label
            frames = make_predictions(root, args.split, pred, perturb)
            runs = [measure(pred, root, args.split, Path(tmp) / "metrics.json") for _ in range(args.repeats)]
            scores = json.loads((Path(tmp) / "metrics.json").read_text())
            total = statistics.median(r["total"] for r in runs)
            scoring = statistics.median(r["scoring"] for r in runs)
            peak = max(r["rss_peak"] for r in runs) / 1024
            imports = max(r["rss_imports"] for r in runs) / 1024
            print(f"| {label} | {frames} | {total:.2f} | {scoring:.2f} | {frames / scoring:.0f} | {peak:.0f} | "
                  f"{imports:.0f} | {scores['mIoU']:.2f} | {scores['VC8']:.2f} |")


if __name__ == "__main__":
    main()
