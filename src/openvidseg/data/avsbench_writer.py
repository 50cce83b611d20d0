"""Writing folders in the AVSBench-semantic layout (generated audio-visual worlds, test fixtures): frames,
colour masks, the 16-bit PCM audio.wav, metadata.csv and label2idx.json."""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
from PIL import Image

from openvidseg.data.avsbench_layout import (
    AUDIO_FILE, FRAME_DIR, LABEL_FILE, MASK_DIR, METADATA_FILE, AVSVideo, write_colour_mask,
)
from openvidseg.data.classes import AVSBENCH_BACKGROUND

METADATA_HEADER = ("vid", "uid", "s_min", "s_sec", "a_obj", "split", "label")


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int) -> None:
    """(N,) float in [-1, 1] -> a mono 16-bit PCM .wav."""
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    with av.open(str(path), "w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(pcm[None], format="s16", layout="mono")
        frame.sample_rate = sample_rate
        container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_video(video: AVSVideo, frames: Sequence[np.ndarray], masks: dict[int, np.ndarray] | None,
                audio: np.ndarray | None, sample_rate: int) -> None:
    """Write one video's frames (k.jpg), its masks ({frame index: (H, W) ids} -> labels_rgb/k.png) and audio.wav."""
    (video.folder / FRAME_DIR).mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(video.frame_path(index), quality=95)
    if masks is not None:
        (video.folder / MASK_DIR).mkdir(exist_ok=True)
        for index, mask in masks.items():
            write_colour_mask(video.mask_path(index), mask)
    if audio is not None:
        write_wav(video.folder / AUDIO_FILE, audio, sample_rate)


def write_metadata(root: str | Path, videos: Sequence[AVSVideo]) -> None:
    """ROOT/metadata.csv with one row per video (vid = uid, start 0)."""
    with open(Path(root) / METADATA_FILE, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(METADATA_HEADER)
        for v in videos:
            writer.writerow((v.uid, v.uid, 0, 0, "_".join(v.objects), v.split, v.subset))


def write_label_file(root: str | Path, class_names: Sequence[str]) -> None:
    """ROOT/label2idx.json: background 0, then the classes 1..N."""
    table = {AVSBENCH_BACKGROUND: 0, **{name: i + 1 for i, name in enumerate(class_names)}}
    (Path(root) / LABEL_FILE).write_text(json.dumps(table, indent=1))
