"""In-memory frames: NumPy arrays and PIL images, one image or a whole video, as a `FrameSource`.

    segment_video(video_array, "person, dog")        # (T, H, W, 3) uint8
    segment_video([pil_a, pil_b, pil_c], "person")   # a list of PIL images or (H, W, 3) arrays
    segment_video(frames_from_a_camera(), "person")  # any iterable of images (length unknown)

Every image becomes (H, W, 3) uint8 RGB (`as_rgb_frame`): grayscale is repeated, alpha dropped, float
images must lie in 0..1. All frames of one video must have the size of the first.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg.data.frame_source import FrameSource
from openvidseg.errors import InputError


def is_image(obj: Any) -> bool:
    """True for a PIL image or an (H, W), (H, W, 1|3|4) NumPy array: one frame, not a video."""
    from PIL import Image

    return isinstance(obj, Image.Image) or (isinstance(obj, np.ndarray) and obj.ndim in (2, 3)
                                             and (obj.ndim == 2 or obj.shape[2] in (1, 3, 4)))


def as_rgb_frame(image: Any, what: str = "image") -> np.ndarray:
    """A PIL image, an image file path or a NumPy array ((H, W) gray, (H, W, 1|3|4); uint8 0..255, or
    float/bool 0..1) -> (H, W, 3) uint8 RGB. Anything else raises `InputError` naming `what`."""
    from PIL import Image

    if isinstance(image, (str, Path)):
        from openvidseg.data.io import read_image

        return np.require(read_image(image), requirements=["C", "W"])
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise InputError(f"{what} is a {type(image).__name__}: give a NumPy array, a PIL image or an image path")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape:
        raise InputError(f"{what} has shape {image.shape}: expected (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray")
    if image.dtype != np.uint8:
        if image.dtype == bool or np.issubdtype(image.dtype, np.floating):
            low, high = float(np.nanmin(image)), float(np.nanmax(image))
            if not (0.0 <= low and high <= 1.0):
                raise InputError(f"{what} is {image.dtype} with values {low:g}..{high:g}: float images must lie in "
                                 "0..1 (or pass uint8 0..255)")
            image = np.rint(image.astype(np.float32) * 255).astype(np.uint8)
        else:
            raise InputError(f"{what} has dtype {image.dtype}: pass uint8 0..255 or float 0..1")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.require(image[:, :, :3], requirements=["C", "W"])


class ArrayFrames(FrameSource):
    """A video held in memory: a (T, H, W, C) array, or a sequence or iterable of images (see `as_rgb_frame`).

    `num_frames` is known for arrays and sequences, None for other iterables (consumed once, in order).
    """

    def __init__(self, frames: np.ndarray | Iterable[Any], name: str = "frames", fps: float | None = None):
        if isinstance(frames, np.ndarray):
            if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[3] not in (1, 3, 4)):
                raise InputError(f"frames array has shape {frames.shape}: expected (T, H, W, 3), (T, H, W, 4) "
                                 "or (T, H, W) gray")
            frames = list(frames)
        self.name = name
        self.fps = fps
        self._count = len(frames) if hasattr(frames, "__len__") else None
        if self._count == 0:
            raise InputError(f"'{name}' has no frames: pass at least one image")
        iterator = iter(frames)
        try:
            self._first = as_rgb_frame(next(iterator), "frame 0")
        except StopIteration:
            raise InputError(f"'{name}' has no frames: pass at least one image") from None
        self._rest: Iterator[Any] | None = iterator
        self._frames = frames if self._count is not None else None

    @property
    def num_frames(self) -> int | None:
        return self._count

    @property
    def height(self) -> int:
        return self._first.shape[0]

    @property
    def width(self) -> int:
        return self._first.shape[1]

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._rest is None and self._frames is None:
            raise InputError(f"'{self.name}' was an iterator and has been read already: pass a list to read it twice")
        rest = self._rest if self._rest is not None else itertools.islice(iter(self._frames), 1, None)
        self._rest = None
        yield 0, self._first
        for index, image in enumerate(rest, start=1):
            frame = as_rgb_frame(image, f"frame {index}")
            if frame.shape != self._first.shape:
                raise InputError(f"frame {index} is {frame.shape[1]}x{frame.shape[0]} but frame 0 is "
                                 f"{self.width}x{self.height}: every frame of '{self.name}' must have one size")
            yield index, frame
