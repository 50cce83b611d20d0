"""Helpers for the `segment` tests: small generated videos, reading outputs back, and the per-class
statistics recomputed directly from the saved masks (the reference a summary must match)."""
from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from test_data_video import write_video  # noqa: F401  (PyAV writer shared with the video tests)

CLASSES = ["red wall", "blue sky", "green ball"]


def scene(n: int, height: int = 64, width: int = 96) -> list[np.ndarray]:
    """n frames: red left half, blue right half, a green square moving right (different every frame)."""
    frames = []
    for i in range(n):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[:, : width // 2] = (200, 40, 40)
        frame[:, width // 2 :] = (40, 40, 200)
        left = (i * 5) % max(1, width - 16)
        frame[height // 4 : height // 4 + 16, left : left + 16] = (40, 200, 40)
        frames.append(frame)
    return frames


def read_masks(folder: Path, subfolder: str = "masks") -> list[np.ndarray]:
    """The mask PNGs of an output folder (in `subfolder`: masks, or instances for track ids) in frame order,
    checking their names run 00000, 00001, ..."""
    files = sorted((folder / subfolder).glob("*.png"))
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(len(files))]
    masks = []
    for file in files:
        with Image.open(file) as image:
            assert image.mode == "P"
            masks.append(np.asarray(image))
    return masks


def decode(path: Path) -> tuple[list[np.ndarray], float]:
    """Every frame of a video as rgb24 arrays, and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return frames, float(stream.average_rate)


def reference_statistics(masks: list[np.ndarray], num_classes: int) -> dict:
    """Per-class pixel share, frames present, first and last frame, counted over all masks at once."""
    stack = np.stack(masks)
    total = stack.size
    present = [[t for t, m in enumerate(masks) if (m == k).any()] for k in range(num_classes)]
    return {
        "shares": [float((stack == k).sum()) / total for k in range(num_classes)],
        "no_class_share": float((stack == 255).sum()) / total,
        "frames": [len(p) for p in present],
        "first": [p[0] if p else None for p in present],
        "last": [p[-1] if p else None for p in present],
    }


def check_output(folder: Path, num_frames: int, height: int, width: int, fps: float, classes: list[str],
                 overlay: bool = True, masks: bool = True) -> dict:
    """Assert what every complete output holds; returns its summary."""
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["complete"] is True and summary["error"] is None
    assert (summary["frames"], summary["width"], summary["height"], summary["fps"]) == (num_frames, width, height, fps)
    saved_classes = json.loads((folder / "classes.json").read_text())
    assert saved_classes["names"] == classes and len(saved_classes["colors"]) == len(classes)
    assert [c["name"] for c in summary["classes"]] == classes
    shares = [c["pixel_share"] for c in summary["classes"]]
    assert sum(shares) == pytest.approx(1.0 - summary["no_class_share"], abs=1e-9)
    if masks:
        saved = read_masks(folder)
        assert len(saved) == num_frames
        assert all(m.shape == (height, width) for m in saved)
        values = np.unique(np.stack(saved))
        assert all(v < len(classes) or v == 255 for v in values), values
        ref = reference_statistics(saved, len(classes))
        assert shares == pytest.approx(ref["shares"], abs=1e-12)
        assert summary["no_class_share"] == pytest.approx(ref["no_class_share"], abs=1e-12)
        assert [c["frames"] for c in summary["classes"]] == ref["frames"]
        assert [c["first_frame"] for c in summary["classes"]] == ref["first"]
        assert [c["last_frame"] for c in summary["classes"]] == ref["last"]
    else:
        assert not (folder / "masks").exists()
    if overlay:
        frames, rate = decode(folder / "overlay.mp4")
        assert len(frames) == num_frames and frames[0].shape == (height, width, 3) and rate == pytest.approx(fps)
    else:
        assert not (folder / "overlay.mp4").exists()
    return summary
