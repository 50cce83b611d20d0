"""Speed and memory of the instance models (CLIP-VIS, OVFormer) at their real size (random weights): per-stage
milliseconds per frame at 480p for several vocabulary sizes (20 and LV-VIS's 1,196 by default), the one-time
text encoding of the vocabulary, and memory while streaming a long video (500 frames).

Usage: python benchmarks/instance_speed.py [--model clip_vis_vitb16 ovformer_vitb16] [--clip random:vit-b-16]
           [--size 480 854] [--classes 20 1196] [--frames 50 500] [--memory-size 480 854] [--repeats 5]
           [--device auto] [--precision fp32] [--skip-memory] [--memory-only]
Per frame for OVFormer = a 5-frame clip's time / 5 (it decodes clips jointly). Prints markdown tables.
Around each model's timings, one CLIP image forward at its native size (224 x 224, batch 1) is timed in this
process and the whole frame is given as a multiple of it (ratios carry across machines and loads, absolute
times do not); the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np
import torch
from process_memory import reset_peak_rss, rss_mib
from segment_speed import clip_forward_ms

from openvidseg.inference.instance_predictor import InstancePredictor
from openvidseg.models import create_model
from openvidseg.runtime import describe_device, resolve_device

STAGES = ("CLIP + appearance", "feature pyramid", "pixel decoder", "query decoder", "heads + classification",
          "tracking", "masks + RLE + scores")


class StageTimer:
    """Wall time per stage: forward hooks on the model's modules, wrappers around the encoder and the tracker."""

    def __init__(self, model, predictor: InstancePredictor, device: torch.device):
        self.times: dict[str, float] = defaultdict(float)
        self.device, self._start = device, {}
        modules = {"feature pyramid": [model.backbone.pyramid], "pixel decoder": [model.pixel_decoder],
                   "query decoder": [model.query_decoder],
                   "heads + classification": [model.objectness, model.iou_head, model.alignment, model.mask_pooling]}
        for stage, group in modules.items():
            for module in filter(None, group):
                module.register_forward_pre_hook(lambda m, a, s=stage: self.begin(s))
                module.register_forward_hook(lambda m, a, o, s=stage: self.end(s))
        self.wrap(model, "encode_frames", "encode")
        self.wrap(predictor.tracker, "align", "tracking")

    def wrap(self, owner, name: str, stage: str) -> None:
        method = getattr(owner, name)

        def timed(*args, **kwargs):
            self.begin(stage)
            out = method(*args, **kwargs)
            self.end(stage)
            return out

        setattr(owner, name, timed)

    def begin(self, stage: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self._start[stage] = time.perf_counter()

    def end(self, stage: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.times[stage] += time.perf_counter() - self._start.pop(stage)

    def split(self, total: float) -> dict[str, float]:
        """Seconds per stage of what was timed since the last split; the CLIP pass is the encoder's time less the
        pyramid's, the post-processing what the whole step spent outside the model and the tracker."""
        t = dict(self.times)
        self.times.clear()
        stages = {s: t.get(s, 0.0) for s in STAGES}
        stages["CLIP + appearance"] = t.get("encode", 0.0) - stages["feature pyramid"]
        inside = t.get("encode", 0.0) + sum(t.get(s, 0.0) for s in STAGES[2:6])
        stages["masks + RLE + scores"] = total - inside
        return stages


def video(length: int, size: tuple[int, int], seed: int = 0):
    """A moving random image (cheap to make, never the same frame twice)."""
    base = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    for i in range(length):
        yield np.roll(base, i * 3, axis=1)


def load_average() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def timings(name: str, model, device, args) -> None:
    clip_before, _ = clip_forward_ms(args.clip, str(device), args.precision)
    load_before = load_average()
    names = [f"class {i}" for i in range(max(args.classes))]
    rows, totals, text_ms = {}, {}, {}
    predictor = None
    for k in args.classes:
        model.clip.clear_caches()
        start = time.perf_counter()
        if predictor is None:
            predictor = InstancePredictor(model, names[:k], device=device, precision=args.precision)
            timer = StageTimer(model, predictor, device)
        else:
            predictor.set_vocabulary(names[:k])
        text_ms[k] = (time.perf_counter() - start) * 1000
        unit = model.frames_per_decode
        per_unit: dict[str, list[float]] = defaultdict(list)
        whole = []
        predictor.reset()
        frames = list(video(unit * (1 + args.repeats), tuple(args.size)))
        for first in range(0, len(frames), unit):
            timer.times.clear()
            start = time.perf_counter()
            for frame in frames[first : first + unit]:
                predictor.step(frame)
            elapsed = time.perf_counter() - start
            whole.append(elapsed * 1000 / unit)
            for stage, seconds in timer.split(elapsed).items():
                per_unit[stage].append(seconds * 1000 / unit)
        rows[k] = {s: statistics.median(v[1:]) for s, v in per_unit.items()}  # the first clip warms up
        totals[k] = statistics.median(whole[1:])
    clip_after, _ = clip_forward_ms(args.clip, str(device), args.precision)
    clip_ms = 0.5 * (clip_before + clip_after)
    print(f"\nload average before / after: {load_before} / {load_average()}; one CLIP forward at 224 x 224: "
          f"{clip_before:.0f} ms before, {clip_after:.0f} ms after (ratios below use the mean, {clip_ms:.0f} ms)")
    print(f"\n### {name}: ms per frame (median of {args.repeats} {'clips' if model.frames_per_decode > 1 else 'frames'}"
          f" after one warm-up)\n")
    print("| stage | " + " | ".join(f"K={k}" for k in args.classes) + " |")
    print("|---|" + "---|" * len(args.classes))
    for stage in STAGES:
        print(f"| {stage} | " + " | ".join(f"{rows[k][stage]:.1f}" for k in args.classes) + " |")
    print("| **whole frame (streaming)** | " + " | ".join(f"**{totals[k]:.1f}**" for k in args.classes) + " |")
    print("| whole / CLIP + appearance | " + " | ".join(
        f"{totals[k] / rows[k]['CLIP + appearance']:.2f}x" for k in args.classes) + " |")
    print("| **whole frame / one CLIP forward at 224** | " + " | ".join(
        f"**{totals[k] / clip_ms:.1f}x**" for k in args.classes) + " |")
    print("| text encoding, once per vocabulary (ms) | " + " | ".join(f"{text_ms[k]:.0f}" for k in args.classes) + " |")


def memory(name: str, model, device, args) -> None:
    """Peak and current memory while streaming a long video, counted from the start of the stream."""
    k = 20 if 20 in args.classes else args.classes[0]
    predictor = InstancePredictor(model, [f"class {i}" for i in range(k)], device=device, precision=args.precision)
    reset = reset_peak_rss()
    marks, peaks = sorted(args.frames), {}
    start = time.perf_counter()
    for t, frame in enumerate(video(marks[-1], tuple(args.memory_size)), start=1):
        predictor.step(frame)
        if t in marks:
            peaks[t] = (rss_mib("VmHWM"), rss_mib("VmRSS"), predictor.tracker.nbytes() / 2**10,
                        predictor.accumulator.spool.tell() / 2**20)
    predictor.flush()
    elapsed = time.perf_counter() - start
    print(f"\n{name}: streaming {marks[-1]} frames of {args.memory_size[0]}x{args.memory_size[1]} at K={k}: "
          f"{marks[-1] / elapsed:.2f} frames/s" + ("" if reset else " (peak RSS not reset: includes the timings)"))
    print("| frames | peak RSS MiB | current RSS MiB | tracker memory KiB | mask spool on disk MiB |\n|---|---|---|---|---|")
    for t in marks:
        peak, current, tracker, spool = peaks[t]
        print(f"| {t} | {peak:.0f} | {current:.0f} | {tracker:.0f} | {spool:.1f} |")
    first, last = peaks[marks[0]][0], peaks[marks[-1]][0]
    print(f"peak RSS after {marks[-1]} vs {marks[0]} frames: {100 * (last - first) / first:+.1f}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", default=["clip_vis_vitb16", "ovformer_vitb16"])
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--size", type=int, nargs=2, default=[480, 854])
    ap.add_argument("--classes", type=int, nargs="+", default=[20, 1196])
    ap.add_argument("--frames", type=int, nargs="+", default=[50, 500], help="memory checkpoints (frames streamed)")
    ap.add_argument("--memory-size", type=int, nargs=2, default=[480, 854])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-only", action="store_true")
    args = ap.parse_args()
    device = resolve_device(args.device)
    print(f"instance models (CLIP {args.clip}) on {describe_device(device)}, {args.precision}, "
          f"input {args.size[0]}x{args.size[1]}, batch 1")
    for name in args.model:
        torch.manual_seed(0)
        model = create_model(name, clip=args.clip).eval().to(device)
        if not args.memory_only:
            timings(name, model, device, args)
        if not args.skip_memory:
            memory(name, model, device, args)


if __name__ == "__main__":
    main()
