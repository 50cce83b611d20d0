"""Time `openvidseg score --task instance` on a generated set; prints a table.

Usage: python benchmarks/instance_score_speed.py [--videos 100] [--frames 30] [--tracks 10]
                                                 [--sizes 360x640 720x1280] [--repeats 1]
Each video has `tracks` ground-truth objects (discs moving over the frames, absent in some frames) in 8
categories; the results hold, per video, a jittered copy of every object (20% with a wrong category)
and as many spurious tracks, so 2 x tracks predicted tracks per video, every frame an RLE. The files are
written to a temporary folder first (not timed); each timed run is a fresh process running the whole
command (JSON reading and validation, matching, accumulation, metrics.json), beside the time of the
imports alone. Issue 17's target: under a minute for 100 videos x 30 frames x 10 tracks.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

PROBE = """
import json, sys, time
start = time.perf_counter()
from openvidseg.cli import main
import openvidseg.metrics.instance_scoring
imported = time.perf_counter()
code = main(sys.argv[1:])
print(json.dumps({"code": code, "total": time.perf_counter() - start, "scoring": time.perf_counter() - imported}))
"""
NUM_CATEGORIES = 8


class Disc:
    """A disc moving in a straight line; `draw` gives its (T, H, W) masks, absent in about 10% of the frames,
    drawn only inside its bounding box (generation is not what is measured)."""

    def __init__(self, rng: np.random.Generator, frames: int, height: int, width: int):
        self.size, self.frames = (height, width), frames
        self.cy, self.cx = rng.uniform(0, height), rng.uniform(0, width)
        self.vy, self.vx = rng.uniform(-0.01, 0.01, 2) * np.array([height, width])
        self.radius = rng.uniform(0.03, 0.15) * min(height, width)
        self.absent = rng.random(frames) < 0.1
        self.absent[0] = False

    def draw(self, dy: float = 0.0, dx: float = 0.0) -> np.ndarray:
        height, width = self.size
        out = np.zeros((self.frames, height, width), dtype=bool)
        r = self.radius
        for t in np.flatnonzero(~self.absent):
            cy, cx = self.cy + self.vy * t + dy, self.cx + self.vx * t + dx
            y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 2, height)
            x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 2, width)
            if y0 < y1 and x0 < x1:
                yy, xx = np.ogrid[y0:y1, x0:x1]
                out[t, y0:y1, x0:x1] = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        return out


def write_set(folder: Path, videos: int, frames: int, tracks: int, size: tuple[int, int], seed: int = 0) -> tuple[Path, Path]:
    """Write val.json (YouTube-VIS layout) and results.json into `folder`."""
    from openvidseg.data.rle import encode_masks

    rng = np.random.default_rng(seed)
    height, width = size
    info, annotations, results = [], [], []
    for v in range(1, videos + 1):
        info.append({"id": v, "file_names": [f"v{v}/{t:05d}.jpg" for t in range(frames)], "height": height,
                     "width": width, "length": frames})
        for _ in range(tracks):
            disc = Disc(rng, frames, height, width)
            masks = disc.draw()
            cid = int(rng.integers(1, NUM_CATEGORIES + 1))
            rles = encode_masks(masks)
            annotations.append({"id": len(annotations) + 1, "video_id": v, "category_id": cid, "iscrowd": 0,
                                "segmentations": [r if m.any() else None for r, m in zip(rles, masks)],
                                "areas": [int(m.sum()) or None for m in masks]})
            shifted = disc.draw(*rng.uniform(-0.15, 0.15, 2) * disc.radius)
            wrong = rng.random() < 0.2
            results.append({"video_id": v, "category_id": int(rng.integers(1, NUM_CATEGORIES + 1)) if wrong else cid,
                            "score": float(rng.random()), "segmentations": encode_masks(shifted)})
            spurious = Disc(rng, frames, height, width).draw()
            results.append({"video_id": v, "category_id": int(rng.integers(1, NUM_CATEGORIES + 1)),
                            "score": float(rng.random()) * 0.5, "segmentations": encode_masks(spurious)})
    ann = folder / "val.json"
    ann.write_text(json.dumps({"videos": info, "annotations": annotations,
                               "categories": [{"id": c, "name": f"class {c}"} for c in range(1, NUM_CATEGORIES + 1)]}))
    pred = folder / "results.json"
    pred.write_text(json.dumps(results))
    return ann, pred


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--tracks", type=int, default=10)
    ap.add_argument("--sizes", nargs="+", default=["360x640", "720x1280"], help="frame sizes HxW")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size_text in args.sizes:
            size = tuple(int(s) for s in size_text.split("x"))
            folder = Path(tmp) / size_text
            folder.mkdir()
            start = time.perf_counter()
            ann, pred = write_set(folder, args.videos, args.frames, args.tracks, size)
            generated = time.perf_counter() - start
            runs = []
            for _ in range(args.repeats):
                command = ["score", "--task", "instance", "--pred", str(pred), "--ann", str(ann),
                           "--out", str(folder / "metrics.json"), "--overwrite"]
                env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
                done = subprocess.run([sys.executable, "-c", PROBE, *command], capture_output=True, text=True,
                                      check=True, env=env)
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            ap_value = json.loads((folder / "metrics.json").read_text())["AP"]
            rows.append((size_text, pred.stat().st_size / 2 ** 20, generated,
                         statistics.median(r["total"] for r in runs), statistics.median(r["scoring"] for r in runs),
                         ap_value))
    load = open("/proc/loadavg").read().split()[0] if Path("/proc/loadavg").exists() else "n/a"
    print(f"openvidseg score --task instance: {args.videos} videos x {args.frames} frames x {args.tracks} tracks "
          f"({2 * args.tracks} predicted tracks per video), median of {args.repeats}, load average {load}")
    print(f"{'frame size':>11} {'results MB':>11} {'generate s':>11} {'command s':>10} {'scoring s':>10} {'AP %':>7}")
    for size_text, mb, generated, total, scoring, ap_value in rows:
        print(f"{size_text:>11} {mb:>11.1f} {generated:>11.1f} {total:>10.2f} {scoring:>10.2f} {ap_value:>7.2f}")


if __name__ == "__main__":
    main()
