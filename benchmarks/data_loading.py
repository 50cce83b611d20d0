"""Training-clip loading speed and video-reading memory on this machine; prints a table.

Usage: python benchmarks/data_loading.py [--root ../shared/data/mini_vspw] [--clips 120] [--workers 2]
       [--video ../shared/data/videos/bedroom.mp4]

Clips: the VSPW preset's sampling + augmentation (references -9/-6/-3 + random frame, resize ratio
0.5-2.0 of 1024, 480x480 crop with cat_max_ratio 0.75, flip, photometric), batch 1, through a DataLoader;
the first batch (worker start-up) is excluded. Without the real mini set, a generated 854x480 set is used.
Video: frame-by-frame iteration with `open_frames`, peak resident memory above the level before opening.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from process_memory import rss_mib

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"


def clips_per_second(root: Path, split: str, workers: int, clips: int) -> tuple[float, int]:
    """(clips/s after the first batch, clips timed) for the preset's training pipeline."""
    import torch

    from openvidseg.config.schema import DataConfig
    from openvidseg.data import VSPWDataset, build_augmentation
    from openvidseg.data.sampling import DEFAULT_OFFSETS
    from openvidseg.data.vspw_layout import CLASS_FILE

    cfg = DataConfig()
    classes = "all" if (root / CLASS_FILE).is_file() else "ov2vss"  # a generated set has its own class file
    dataset = VSPWDataset(root, split, split=classes, ref_offsets=DEFAULT_OFFSETS, transform=build_augmentation(cfg), seed=0)
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=True, num_workers=workers,
                                         generator=torch.Generator().manual_seed(0),
                                         persistent_workers=workers > 0)
    done, start = 0, None
    while done < clips:
        for batch in loader:
            assert batch["frames"].shape[-2:] == (480, 480)
            if start is None:
                start = time.perf_counter()  # after the first batch
                continue
            done += 1
            if done >= clips:
                break
    return done / (time.perf_counter() - start), done


def video_memory(path: Path) -> dict[str, float]:
    """Iterate a video frame by frame; returns frames, fps, peak RSS delta (MiB) and decode speed."""
    import av  # noqa: F401  (imported before the baseline: library code is not frame memory)
    import numpy as np

    from openvidseg.data import open_frames

    before = rss_mib()
    peak = before
    start = time.perf_counter()
    with open_frames(path) as video:
        declared, fps, size = video.num_frames, video.fps, (video.height, video.width)
        count = 0
        for _, frame in video:
            count += 1
            np.add.reduce(frame, axis=None)  # touch the pixels
            peak = max(peak, rss_mib())
    seconds = time.perf_counter() - start
    whole = count * size[0] * size[1] * 3 / 2**20
    return {"declared": declared, "decoded": count, "fps": fps, "height": size[0], "width": size[1],
            "peak_delta_mib": peak - before, "decode_fps": count / seconds, "whole_video_mib": whole}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=SHARED / "mini_vspw")
    ap.add_argument("--split", default="train")
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 0])
    ap.add_argument("--video", type=Path, default=SHARED / "videos" / "bedroom.mp4")
    args = ap.parse_args()
    print(f"CPU: {os.cpu_count()} cores visible, load average {os.getloadavg()[0]:.2f}")

    if args.video.is_file():  # first, before the DataLoader has grown the process
        stats = video_memory(args.video)
        print(f"\nvideo: {args.video.name}, iterated frame by frame with open_frames\n")
        print("| frames declared | frames decoded | fps | size | peak RSS delta MiB | whole video as RGB MiB | decode frames/s |")
        print("|---|---|---|---|---|---|---|")
        print(f"| {stats['declared']} | {stats['decoded']} | {stats['fps']:.2f} | {stats['width']}x{stats['height']} | "
              f"{stats['peak_delta_mib']:.1f} | {stats['whole_video_mib']:.0f} | {stats['decode_fps']:.0f} |")
    else:
        print(f"\nvideo {args.video} not found: memory measurement skipped")

    root, source = args.root, f"real ({args.root})"
    with tempfile.TemporaryDirectory() as tmp:
        if not (root / "data").is_dir():
            from openvidseg.data import write_synthetic_vspw

            root = write_synthetic_vspw(Path(tmp) / "synth", num_videos=4, num_frames=40, size=(480, 854), seed=0,
                                        splits={args.split: 4}).root
            source = "generated 854x480 (real mini set absent)"
        print(f"\ntraining clips: {source}, split {args.split}, 4 frames + 1 random frame per clip, 480x480 crop\n")
        print("| DataLoader workers | clips timed | clips/s | frames/s (5 per clip) |")
        print("|---|---|---|---|")
        for workers in args.workers:
            rate, done = clips_per_second(root, args.split, workers, args.clips)
            print(f"| {workers} | {done} | {rate:.1f} | {rate * 5:.0f} |")


if __name__ == "__main__":
    main()
