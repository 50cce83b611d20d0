"""Error of frame reuse (`--speed fast`, `--keyframe-interval N`) against running the model on every frame.

Usage: python benchmarks/frame_reuse.py [--videos ../shared/data/videos] [--intervals 2,3,5] [--max-frames 90]
           [--model dense_clip_vitb16] [--clip random:vit-b-16] [--speed balanced] [--device cpu] [--precision fp32]

For each real video, the model runs on every frame once (the reference class maps). Frame reuse is then
replayed for each interval N: keyframes (every Nth frame, and wherever the motion residual says the scene
changed) take the reference map of that frame, which is what the model gives there; the frames in between
get the previous map carried along the optical flow, exactly as `KeyframePredictor` does. Printed per
video and interval: the share of frames that were keyframes, the share of pixels whose class agrees with
the every-frame result (over all frames, and over the carried frames only), and the mIoU between the two
(per-class intersection over union accumulated over the video, averaged over the classes present in either).
With random CLIP weights the class maps mean nothing, but they are spatially structured, follow the image
content and change from frame to frame as the model's would; the numbers measure how well the motion carries
a map, not how good the map is.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parent.parent
CLASSES = ["person", "bed", "wall", "floor", "window"]


class _Cached:
    """Stands in for the model's predictor: returns the reference prediction of the frame it is given."""

    history_length, smoothing, return_logits = 0, 0.0, False

    def __init__(self, model, frames, predictions):
        self.model = model
        self._by_frame = {id(f): p for f, p in zip(frames, predictions)}

    def reset(self) -> None:
        pass

    def step(self, frame):
        return self._by_frame[id(frame)]


def agreement(reference: list[np.ndarray], other: list[np.ndarray], num_classes: int) -> tuple[float, float]:
    """(% of pixels with the same class, mIoU in % over the classes present in either)."""
    same = sum(int((a == b).sum()) for a, b in zip(reference, other))
    total = sum(a.size for a in reference)
    inter, union = np.zeros(num_classes), np.zeros(num_classes)
    for a, b in zip(reference, other):
        for k in range(num_classes):
            in_a, in_b = a == k, b == k
            inter[k] += np.logical_and(in_a, in_b).sum()
            union[k] += np.logical_or(in_a, in_b).sum()
    present = union > 0
    return 100 * same / total, 100 * float((inter[present] / union[present]).mean())


def main() -> None:
    import torch

    from openvidseg.data.video import open_frames
    from openvidseg.inference.keyframes import KeyframePredictor
    from openvidseg.inference.segment import load_segmenter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=str(REPO.parent / "shared" / "data" / "videos"))
    ap.add_argument("--intervals", default="2,3,5")
    ap.add_argument("--max-frames", type=int, default=90, help="frames per video (default: 90; 0 = all)")
    ap.add_argument("--model", default="dense_clip_vitb16")
    ap.add_argument("--clip", default="random:vit-b-16")
    ap.add_argument("--speed", default="balanced", help="profile of the model run on keyframes (default: balanced)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    segmenter = load_segmenter(CLASSES, model=args.model, clip=args.clip, device=args.device,
                               precision=args.precision, speed=args.speed)
    print(f"frame reuse vs every frame: {args.model} (CLIP {args.clip}, random weights: maps meaningless, motion real), "
          f"--speed {args.speed}, K = {len(CLASSES)}, first {args.max_frames or 'all'} frames of each video\n")
    print("| video | frames | interval | keyframes % | agreement % (all frames) | agreement % (carried frames) | "
          "mIoU % | carry ms/frame |")
    print("|---|---|---|---|---|---|---|---|")
    for path in sorted(Path(args.videos).glob("*.mp4")):
        with open_frames(path) as source:
            frames = [f for i, f in source if not args.max_frames or i < args.max_frames]
        reference_predictor = segmenter.predictor()
        with torch.inference_mode():
            predictions = [reference_predictor.step(f) for f in frames]
        reference = [p.labels.numpy().astype(np.uint8) for p in predictions]
        for interval in map(int, args.intervals.split(",")):
            reuse = KeyframePredictor(_Cached(segmenter.model, frames, predictions), interval)
            started, carried, moved = time.perf_counter(), [], []
            for t, frame in enumerate(frames):
                carried.append(reuse.step(frame).labels.numpy().astype(np.uint8))
                if reuse.last_key != t:
                    moved.append(t)
            carry_ms = 1000 * (time.perf_counter() - started) / max(1, len(moved))
            all_agree, miou = agreement(reference, carried, len(CLASSES))
            carried_agree = agreement([reference[t] for t in moved], [carried[t] for t in moved], len(CLASSES))[0] \
                if moved else 100.0
            height, width = frames[0].shape[:2]
            print(f"| {path.name} ({width}x{height}) | {len(frames)} | {interval} | "
                  f"{100 * reuse.keyframes / len(frames):.0f} | {all_agree:.1f} | {carried_agree:.1f} | {miou:.1f} | "
                  f"{carry_ms:.0f} |", flush=True)


if __name__ == "__main__":
    main()
