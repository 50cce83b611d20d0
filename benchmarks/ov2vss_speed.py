"""Speed and memory of OV2VSS at its real size (random weights): per-module milliseconds per frame,
streaming vs recomputing every reference (the public code), the slide test mode, and memory over long videos.

Usage: python benchmarks/ov2vss_speed.py [--clip DIR|random:vit-b-16] [--size 480 854] [--classes 5 20 124]
                                         [--frames 50 500] [--device auto] [--precision fp32] [--memory-only]
The CLIP folder may be one written by ../shared/tools/make_random_clip.py vit-b-16 DIR (loads like a hub
snapshot); by default random:vit-b-16 builds the same architecture in memory. Prints markdown tables.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
import torch
from process_memory import reset_peak_rss, rss_mib

from openvidseg.inference import ClipPredictor, VideoPredictor
from openvidseg.models import create_model
from openvidseg.runtime import describe_device, resolve_device

STAGES = ("CLIP image", "backbone", "STF", "RFE", "TCF", "VTE", "cost volume + aggregation", "decoder")


class StageTimer:
    """Wall time per stage, measured with forward hooks (and a wrapper around CLIP's dense pass)."""

    def __init__(self, model, device: torch.device):
        self.times: dict[str, list[float]] = defaultdict(list)
        self.device = device
        self._start: dict[str, float] = {}
        stages = {"backbone": [model.backbone, *model.level_proj], "STF": [model.fusion],
                  "RFE": [model.frame_enhancement], "TCF": [getattr(model, "cost_fusion", None)],
                  "VTE": [model.text_encoder],
                  "cost volume + aggregation": [model.cost_embedding, model.guidance, model.aggregation],
                  "decoder": [*model.decoder_guidance, model.decoder]}
        for stage, modules in stages.items():
            for module in filter(None, modules):
                module.register_forward_pre_hook(lambda m, a, s=stage: self._begin(s))
                module.register_forward_hook(lambda m, a, o, s=stage: self._end(s))
        dense = model.clip.dense_features

        def timed_dense(*args, **kwargs):
            self._begin("CLIP image")
            out = dense(*args, **kwargs)
            self._end("CLIP image")
            return out

        model.clip.dense_features = timed_dense

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def _begin(self, stage):
        self._sync()
        self._start[stage] = time.perf_counter()

    def _end(self, stage):
        self._sync()
        self.times[stage].append(time.perf_counter() - self._start.pop(stage))

    @contextmanager
    def frame(self, per_frame: dict):
        self.times.clear()
        yield
        for stage in STAGES:
            per_frame[stage].append(sum(self.times.get(stage, [])) * 1000)


def video(length: int, size: tuple[int, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    for i in range(length):
        yield np.roll(base, i * 3, axis=1)  # a moving image: cheap to make, never all the same frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--model", default="ov2vss_vitb16")
    ap.add_argument("--size", type=int, nargs=2, default=[480, 854])
    ap.add_argument("--classes", type=int, nargs="+", default=[5, 20, 124])
    ap.add_argument("--frames", type=int, nargs=2, default=[50, 500], help="memory checkpoints (frames streamed)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=12, help="frames streamed before timing (the buffer is full from 9)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--memory-only", action="store_true", help="skip the timings, measure memory over a long video")
    ap.add_argument("--timings-only", action="store_true",
                    help="only the per-stage table (no recompute, slide-mode or memory comparisons)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's; 1 gives steadier ratios)")
    ap.add_argument("--options", default="{}", help='model options as JSON, e.g. \'{"vte_queries": "classes"}\'')
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device, size = resolve_device(args.device), tuple(args.size)
    torch.manual_seed(0)
    options = json.loads(args.options)
    model = create_model(args.model, clip=args.clip, **options).eval().to(device)
    print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}; {args.model} {options or ''} "
          f"(CLIP {args.clip}) on {describe_device(device)}, {args.precision}, "
          f"input {size[0]}x{size[1]}, "
          + ("batch 1" if args.memory_only else f"batch 1; median ms per frame over {args.repeats} frames after warm-up\n"))
    names = [f"class {i}" for i in range(max(args.classes))]
    k = 20 if 20 in args.classes else args.classes[0]
    if not args.memory_only:
        timings(model, device, names, k, size, args)
    if args.timings_only:
        return
    memory(model, device, names[:k], size, args)


def timings(model, device, names, k_compare, size, args) -> None:
    """Per-stage milliseconds per frame for every K, then streaming vs recompute at K = `k_compare`."""
    timer = StageTimer(model, device)
    rows, totals = {}, {}
    for k in args.classes:
        stream = VideoPredictor(model, names[:k], device=device, precision=args.precision)
        per_frame: dict[str, list[float]] = defaultdict(list)
        whole = []
        for frame in video(args.warmup + args.repeats, size):
            start = time.perf_counter()
            with timer.frame(per_frame):
                stream.step(frame)
            whole.append((time.perf_counter() - start) * 1000)
        skip = args.warmup  # warm-up (by default until the reference buffer is full, from frame 9 on)
        rows[k] = {s: statistics.median(v[skip:]) for s, v in per_frame.items()}
        totals[k] = statistics.median(whole[skip:])
    print("| stage | " + " | ".join(f"K={k}" for k in args.classes) + " |")
    print("|---|" + "---|" * len(args.classes))
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{rows[k][stage]:.1f}" for k in args.classes) + " |")
    print("| rest (logits to frame size, class map, ...) | " + " | ".join(
        f"{totals[k] - sum(rows[k].values()):.1f}" for k in args.classes) + " |")
    print("| **whole frame (streaming)** | " + " | ".join(f"**{totals[k]:.1f}**" for k in args.classes) + " |")
    print("| whole / CLIP image | " + " | ".join(f"{totals[k] / rows[k]['CLIP image']:.2f}x" for k in args.classes) + " |")
    if args.timings_only:
        return

    # recompute (the public code: every target re-encodes its references and the random frame) vs streaming
    k = k_compare
    recompute = ClipPredictor(model, names[:k], device=device, precision=args.precision, recompute=True)
    frames = list(video(12, size))
    times = []
    for t in range(9, 12):
        start = time.perf_counter()
        recompute.predict(lambda i: frames[i], t, [t - 9, t - 6, t - 3], 0)
        times.append((time.perf_counter() - start) * 1000)
    print(f"\nK={k}: recompute every reference {statistics.median(times):.1f} ms/frame vs streaming "
          f"{totals[k]:.1f} ms/frame: streaming is {statistics.median(times) / totals[k]:.2f}x faster")

    # CAT-Seg's slide test mode: square windows over the frame plus the whole frame, each a batch entry
    slide = VideoPredictor(model, names[:k], device=device, precision=args.precision, test_mode="slide")
    views = len(slide.views.windows(*size)) + 1
    times = []
    for frame in video(12 + args.repeats, size):
        start = time.perf_counter()
        slide.step(frame)
        times.append((time.perf_counter() - start) * 1000)
    slide_ms = statistics.median(times[12:])
    print(f"K={k}: slide test mode ({views - 1} windows + the whole frame) {slide_ms:.1f} ms/frame vs whole "
          f"{totals[k]:.1f} ms/frame: {slide_ms / totals[k]:.2f}x the cost")


def memory(model, device, names, size, args) -> None:
    """Peak memory while streaming a long video, counted from the start of the stream."""
    stream = VideoPredictor(model, names, device=device, precision=args.precision)
    reset = reset_peak_rss()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    marks, peaks = sorted(args.frames), {}
    start = time.perf_counter()
    for t, frame in enumerate(video(marks[-1], size), start=1):
        stream.step(frame)
        if t in marks:
            cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
            peaks[t] = (rss_mib("VmHWM"), rss_mib("VmRSS"), cuda)
    elapsed = time.perf_counter() - start
    print(f"\nstreaming {marks[-1]} frames at K={len(names)}: {marks[-1] / elapsed:.2f} frames/s"
          + ("" if reset else " (peak RSS could not be reset: it includes the timings above)"))
    print("| frames | peak RSS MiB | current RSS MiB | peak CUDA MiB |\n|---|---|---|---|")
    for t in marks:
        peak, current, cuda = peaks[t]
        print(f"| {t} | {peak:.0f} | {current:.0f} | {'-' if cuda is None else f'{cuda:.0f}'} |")
    first, last = peaks[marks[0]][0], peaks[marks[-1]][0]
    print(f"peak RSS after {marks[-1]} vs {marks[0]} frames: {100 * (last - first) / first:+.1f}%")


if __name__ == "__main__":
    main()
