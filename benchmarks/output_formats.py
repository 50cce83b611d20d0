"""Cost of `segment`'s output formats per frame: writing (and reading back, as --resume does) a class map as
palette PNG, npz and COCO RLE, the (K, H, W) float16 scores of --save-scores, and a timeline.csv row;
prints a table with milliseconds per frame, bytes per frame and the ratio to the PNG write.

Usage: python benchmarks/output_formats.py [--size 480 854] [--classes 20] [--frames 30]
Class maps are the real ones of a segmented-looking scene: K classes as smooth random blobs (a low-resolution
random label grid upsampled), moving a little every frame, so that compressors see realistic structure.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def class_maps(frames: int, height: int, width: int, classes: int, seed: int = 0) -> list[np.ndarray]:
    """(H, W) uint8 maps of `classes` blobs drifting by 4 pixels a frame."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, classes, (height // 40 + 2, width // 40 + 2), dtype=np.uint8)
    big = np.kron(grid, np.ones((40, 40), dtype=np.uint8))
    return [np.ascontiguousarray(big[: height, 4 * t % 40: 4 * t % 40 + width]) for t in range(frames)]


def timed(function, items) -> float:
    start = time.perf_counter()
    for item in items:
        function(*item)
    return (time.perf_counter() - start) / len(items) * 1000


def main() -> None:
    from openvidseg.inference.output_folder import OutputFolder
    from openvidseg.inference.timeline import TimelineWriter
    from openvidseg.viz import class_colors

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs=2, default=[480, 854], metavar=("H", "W"))
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    height, width = args.size
    maps = class_maps(args.frames, height, width, args.classes)
    colors = class_colors(args.classes)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("png", "npz", "coco-rle"):
            folder = OutputFolder(Path(tmp) / fmt, fmt, args.classes)
            folder.masks.mkdir(parents=True)
            write = timed(folder.write_mask, [(i, m, colors) for i, m in enumerate(maps)])
            read = timed(folder.read_mask, [(i, (height, width)) for i in range(len(maps))])
            size = sum(os.path.getsize(folder.mask_path(i)) for i in range(len(maps))) / len(maps)
            assert all(np.array_equal(folder.read_mask(i, (height, width)), m) for i, m in enumerate(maps))
            rows.append((f"masks --format {fmt}", write, read, size))
        folder = OutputFolder(Path(tmp) / "scores")
        folder.scores.mkdir(parents=True)
        rng = np.random.default_rng(1)
        logits = rng.standard_normal((args.classes, height // 8, width // 8)).astype(np.float32)
        smooth = np.kron(logits, np.ones((8, 8), dtype=np.float32))[:, :height, :width]
        probabilities = (np.exp(smooth) / np.exp(smooth).sum(axis=0)).astype(np.float16)
        write = timed(folder.write_scores, [(i, probabilities) for i in range(min(5, len(maps)))])
        size = os.path.getsize(folder.scores_path(0))
        rows.append((f"--save-scores (K={args.classes}, float16)", write, float("nan"), size))
        timeline = TimelineWriter(Path(tmp) / "timeline.csv", [f"class {k}" for k in range(args.classes)], 25.0)
        counts = [(i, np.bincount(m.ravel(), minlength=256)) for i, m in enumerate(maps)]
        write = timed(timeline.write, counts)
        timeline.close()
        rows.append(("timeline.csv row", write, float("nan"), os.path.getsize(Path(tmp) / "timeline.csv") / len(maps)))
    png = rows[0][1]
    print(f"{height}x{width}, {args.classes} classes, {args.frames} frames; load {os.getloadavg()[0]:.1f}")
    print(f"| output | write ms/frame | read ms/frame | bytes/frame | write / PNG write |")
    print("|---|---|---|---|---|")
    for name, write, read, size in rows:
        read_text = "-" if np.isnan(read) else f"{read:.2f}"
        print(f"| {name} | {write:.2f} | {read_text} | {size:,.0f} | {write / png:.2f} |")


if __name__ == "__main__":
    main()
