"""What each dense-CLIP lever costs on one 1280x720 frame, as a multiple of one CLIP forward at 224 x 224.

Usage: python benchmarks/dense_clip_levers.py [--clip random:vit-b-16] [--repeats 3] [--threads N]
           [--device cpu] [--precision fp32] [--height 720 --width 1280] [--compile]

Each configuration's `encode_frames` on one frame is timed right after a CLIP forward at 224 x 224
(batch 1), `--repeats` times; the table gives the median of the paired ratios (robust to a machine whose
load drifts during the run) beside the median milliseconds and the load average, in wall time and in
CPU time of this process (the work done, which other processes on a busy machine do not inflate as they
do wall time; with --threads 1 it is the cleanest measure of a lever). Rows: today's quality
setting (short side 448, 224 windows at stride 112), the same without overlap (stride 224), in one batch
vs one window per forward (window_batch), smaller short sides with windows, and one pass over the whole
frame with interpolated position embeddings at several short sides; with --compile, the balanced row
again with the CLIP blocks compiled by torch.compile (`segment --compile`), and the compile time.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `segment` sets it

ROWS = [
    ("448, windows at stride 112 (quality)", dict(short_side=448)),
    ("448, windows at stride 112, one window per forward", dict(short_side=448, window_batch=1)),
    ("448, windows at stride 224 (no overlap)", dict(short_side=448, stride=224)),
    ("336, windows at stride 112", dict(short_side=336)),
    ("224, windows at stride 112", dict(short_side=224)),
    ("224, windows at stride 224 (no overlap)", dict(short_side=224, stride=224)),
    ("448, one pass", dict(short_side=448, single_pass=True)),
    ("336, one pass", dict(short_side=336, single_pass=True)),
    ("288, one pass", dict(short_side=288, single_pass=True)),
    ("224, one pass (balanced)", dict(short_side=224, single_pass=True)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, help="torch threads (default: every core)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--compile", action="store_true", help="add the balanced row with torch.compile")
    args = ap.parse_args()

    import torch

    from openvidseg.clip import load_clip
    from openvidseg.inference.segment import compile_model
    from openvidseg.models.dense_clip import DenseClip
    from openvidseg.runtime import resolve_device, resolve_dtype, set_threads

    threads = set_threads(args.threads)
    device, dtype = resolve_device(args.device), resolve_dtype(args.precision)
    clip = load_clip(args.clip, device=device)
    frame = torch.rand(1, 3, args.height, args.width, device=device) * 255
    base_input = torch.randn(1, 3, clip.image_size, clip.image_size, device=device)

    def timed(function) -> tuple[float, float]:
        """(wall ms, CPU ms) of one call."""
        if device.type == "cuda":
            torch.cuda.synchronize()
        begin, cpu = time.perf_counter(), time.process_time()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return 1000 * (time.perf_counter() - begin), 1000 * (time.process_time() - cpu)

    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    print(f"dense CLIP levers, {args.clip} (random weights), {args.height}x{args.width} frame, {device}, {args.precision}, "
          f"{threads} threads; load average {open('/proc/loadavg').read().split()[:3]}\n")
    print("| configuration | CLIP forwards | wall ms | / CLIP forward at 224 | CPU ms | / CLIP forward (CPU) |")
    print("|---|---|---|---|---|---|")
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32)
    with torch.inference_mode(), autocast:
        clip.dense_features(base_input)
        rows = [*ROWS, ("224, one pass, torch.compile", dict(short_side=224, single_pass=True))] if args.compile else ROWS
        for label, options in rows:
            model = DenseClip(clip, **options)
            if "compile" in label:
                compile_model(model)
                print(f"(torch.compile: first call {timed(lambda: model.encode_frames(frame))[0] / 1000:.0f} s)")
            model.encode_frames(frame)  # warm-up (position embeddings interpolated, buffers allocated)
            walls, cpus, wall_ratios, cpu_ratios = [], [], [], []
            for _ in range(args.repeats):
                base_wall, base_cpu = timed(lambda: clip.dense_features(base_input))
                wall, cpu = timed(lambda: model.encode_frames(frame))
                walls.append(wall), cpus.append(cpu), wall_ratios.append(wall / base_wall), cpu_ratios.append(cpu / base_cpu)
            print(f"| {label} | {model.num_windows(args.height, args.width)} | {median(walls):.0f} | "
                  f"{median(wall_ratios):.2f}x | {median(cpus):.0f} | {median(cpu_ratios):.2f}x |", flush=True)
    print(f"\nload average at the end: {open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    main()
