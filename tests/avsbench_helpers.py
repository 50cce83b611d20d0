"""A tiny folder in the AVSBench-semantic layout for tests: three videos with known masks and sounds.

- v1s/solo (train): 5 frames, a base-class square (airplane, id 2), only frame 0 labelled; second k sounds
  at 300 + 100 k Hz;
- v1m/duet (val): 5 frames, airplane (2) and baby (4), all frames labelled;
- v2/novel (test): 10 frames, accordion (1, novel) and car (11, base), all labelled.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from openvidseg.data.avsbench_layout import AVSVideo
from openvidseg.data.avsbench_writer import write_metadata, write_video

HEIGHT, WIDTH, RATE = 32, 40, 16_000


def second_tones(seconds: int, base: float = 300.0, step: float = 100.0) -> np.ndarray:
    """(seconds * 16000,) float32: second k is a sine at base + step * k Hz."""
    t = np.arange(seconds * RATE) / RATE
    return (0.4 * np.sin(2 * np.pi * (base + step * np.floor(t)) * t)).astype(np.float32)


def square_mask(ids_and_boxes: list[tuple[int, tuple[int, int, int, int]]]) -> np.ndarray:
    mask = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for cid, (y0, y1, x0, x1) in ids_and_boxes:
        mask[y0:y1, x0:x1] = cid
    return mask


def frame_of(mask: np.ndarray, index: int) -> np.ndarray:
    frame = np.full((HEIGHT, WIDTH, 3), 40 + 10 * index, dtype=np.uint8)
    frame[mask > 0] = (220, 200, 40)
    return frame


def write_tiny_avsbench(root: Path) -> list[AVSVideo]:
    root.mkdir(parents=True, exist_ok=True)
    videos = [
        AVSVideo(root, "solo", "v1s", "train", ("airplane",)),
        AVSVideo(root, "duet", "v1m", "val", ("airplane", "baby")),
        AVSVideo(root, "novel", "v2", "test", ("accordion", "car")),
    ]
    layouts = {
        "solo": lambda k: [(2, (4 + k, 14 + k, 5, 15))],
        "duet": lambda k: [(2, (2, 12, 2, 12)), (4, (18, 30, 20 + k, 32 + k))],
        "novel": lambda k: [(1, (3, 13, 3 + k, 13 + k)), (11, (20, 28, 25, 37))],
    }
    for video in videos:
        masks = [square_mask(layouts[video.uid](k)) for k in range(video.num_frames)]
        labelled = {k: masks[k] for k in video.labelled_frames}
        write_video(video, [frame_of(m, k) for k, m in enumerate(masks)], labelled,
                    second_tones(video.num_frames), RATE)
    write_metadata(root, videos)
    return videos
