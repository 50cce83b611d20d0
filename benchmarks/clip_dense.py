"""Time CLIP's dense image features (and `import openvidseg`) on this machine; prints a table.

Usage: python benchmarks/clip_dense.py [--clip random:vit-b-16] [--sizes 224 384 480] [--repeats 7]
Weights are random by default (the speed of the real architecture; see README's CLIP section).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from openvidseg.clip import load_clip
from openvidseg.runtime import describe_device, resolve_device, resolve_dtype


def import_time(repeats: int) -> float:
    """Median wall time of `python -c 'import openvidseg'` in a fresh interpreter, minus bare start-up."""
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start
    bare = statistics.median(run("pass") for _ in range(repeats))
    return statistics.median(run("import openvidseg") for _ in range(repeats)) - bare


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 384, 480])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    device, dtype = resolve_device(args.device), resolve_dtype(args.precision)
    clip = load_clip(args.clip, device=device, dtype=dtype)
    print(f"CLIP {args.clip} on {describe_device(device)}, {args.precision}, batch 1, median of {args.repeats}")
    print(f"import openvidseg: {import_time(args.repeats) * 1000:.0f} ms (beyond bare interpreter start-up)\n")
    print("| input | grid | dense features ms | min ms | max ms |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        pixels = clip.preprocess(torch.rand(1, 3, size, size, device=device) * 255)
        with torch.inference_mode():
            clip.dense_features(pixels)  # warm-up
            times = []
            for _ in range(args.repeats):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                out = clip.dense_features(pixels)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times.append((time.perf_counter() - start) * 1000)
        grid = "x".join(map(str, out.embeddings.shape[-2:]))
        print(f"| {size}x{size} | {grid} | {statistics.median(times):.1f} | {min(times):.1f} | {max(times):.1f} |")


if __name__ == "__main__":
    main()
