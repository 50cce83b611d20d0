"""Does the audio-visual demo's model listen? One seed of `demo --task audio-visual` with the world and budget
changed (the levers that decided whether the masks follow the sound), then where its sounding-object queries land.

Usage: python benchmarks/audio_visual_demo_levers.py [--seed 0] [--steps 1000] [--train-videos 960]
           [--test-videos 48] [--objects 3 4] [--silent-share 0.5] [--sound-prob 0.8] [--cache DIR] [--out DIR]

The defaults are the quick demo's (AudioDemoSettings.make(quick=True)); the world CLIP and tiny VGGish come from
the demo cache (`--cache`, as `demo --cache`). Prints the demo's row scores (mIoU, novel mIoU, in %) for true
audio, shuffled audio (another test video's clip) and shuffled text, the true - shuffled gap, then for training
and test clips each: the IoU of the best query with each sounding object (over the clip's 5 frames) and that
query's sounding probability, with the clip's own audio, another video's audio, and silence. A model that
memorised which shape sounds in each training video by its look scores far higher on training clips than on
test clips and keeps its training IoU with another video's audio; one that listens loses it.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from openvidseg.data.avsbench import AVSBenchDataset
from openvidseg.demo.audio_visual import AudioDemoSettings, run_audio_demo
from openvidseg.demo.audio_world import SEEN_FILE
from openvidseg.engine.audio_visual_evaluator import other_videos_audio
from openvidseg.models import load_model


def best_queries(model, data: AVSBenchDataset, audio_of, stride: int) -> tuple[float, float]:
    """Mean over sounding objects of every `stride`-th clip: the best query's IoU and its sounding probability."""
    ious, probs = [], []
    for index in range(0, len(data), stride):
        item = data[index]
        frames, labels = item["frames"], item["labels"]
        with torch.no_grad():
            final = model.decode(model.encode_frames(frames), audio_of(index)[None].float(), frames.shape[0])[-1]
        logits = F.interpolate(final.masks[0].flatten(0, 1)[:, None].float(), size=frames.shape[-2:], mode="bilinear")
        masks = (logits > 0).view(final.masks.shape[1], frames.shape[0], *frames.shape[-2:])
        for cls in labels.unique().tolist():
            if cls in (0, 255):
                continue
            target = labels == cls
            iou = (masks & target).flatten(1).sum(1) / (masks | target).flatten(1).sum(1).clamp(min=1)
            best = int(iou.argmax())
            ious.append(float(iou[best]))
            probs.append(float(final.object_probability[0, best]))
    return float(np.mean(ious)), float(np.mean(probs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    quick = AudioDemoSettings.make(True, 0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=quick.train_iters)
    parser.add_argument("--train-videos", type=int, default=quick.world.train_videos)
    parser.add_argument("--test-videos", type=int, default=quick.world.test_videos)
    parser.add_argument("--objects", type=int, nargs=2, default=quick.world.objects_per_video)
    parser.add_argument("--silent-share", type=float, default=quick.world.silent_share)
    parser.add_argument("--sound-prob", type=float, default=quick.world.sound_prob)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path("runs/audio_visual_demo_levers"))
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    settings = AudioDemoSettings.make(True, args.seed)
    world = replace(settings.world, train_videos=args.train_videos, test_videos=args.test_videos,
                    objects_per_video=tuple(args.objects), silent_share=args.silent_share, sound_prob=args.sound_prob)
    settings = replace(settings, world=world, train_iters=args.steps)
    run = run_audio_demo(args.out / f"seed{args.seed}", settings, cache=args.cache, log=lambda message: None)
    rows = {name: (scores.miou, scores.miou_novel or 0.0) for name, scores in run.rows.items()}
    print(f"seed {args.seed}, {args.train_videos} training / {args.test_videos} test videos, {args.objects[0]}-"
          f"{args.objects[1]} shapes, silent share {args.silent_share}, sound prob {args.sound_prob}, {args.steps} steps "
          f"(training {run.seconds['training']:.0f} s, load {os.getloadavg()[0]:.1f})")
    print("| row | mIoU | novel |\n|---|---|---|")
    for name, (miou, novel) in rows.items():
        print(f"| {name} | {miou:.1f} | {novel:.1f} |")
    print(f"true - shuffled audio: {rows['ov_avss'][0] - rows['shuffled audio'][0]:.1f} mIoU points")
    model = load_model(run.model_path).eval()
    print("| clips | audio | best-query IoU | its sounding probability |\n|---|---|---|---|")
    for split in ("train", "test"):
        data = AVSBenchDataset(run.paths.world, split, class_split=str(run.paths.world / SEEN_FILE),
                               audio_timing="frames")
        stride = max(1, len(data) // 60)
        other = other_videos_audio(data)
        for label, audio_of in (("own", lambda i, d=data: d[i]["audio"]), ("another video's", other),
                                ("silence", lambda i, d=data: torch.zeros_like(d[i]["audio"]))):
            iou, prob = best_queries(model, data, audio_of, stride)
            print(f"| {split} | {label} | {iou:.2f} | {prob:.2f} |", flush=True)


if __name__ == "__main__":
    main()
