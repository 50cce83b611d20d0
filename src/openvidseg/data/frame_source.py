"""Frame sources: anything that yields the frames of one video in order, one at a time.

`FrameSource` is the one interface streaming code iterates over: video files (`openvidseg.data.video`),
folders or globs of images (`ImageFrames`), and the videos of a dataset (VSPW, Cityscapes snippets).
Iterating yields `(index, frame)` with frame (H, W, 3) uint8 RGB; nothing holds a whole video in memory.
"""
from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from openvidseg.data.io import read_image
from openvidseg.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def natural_key(name: str) -> list[object]:
    """Sort key that orders 'frame2' before 'frame10' (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_size(path: str | Path) -> tuple[int, int]:
    """(height, width) of an image file, read from its header only."""
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except FileNotFoundError:
        raise DataError(f"missing frame: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"unreadable image {path}: {err}") from None


class FrameSource:
    """The frames of one video, read in order and lazily.

    Attributes: `name` (for display), `fps` (float, or None when unknown), `num_frames` (int, or None
    when the container does not say), `height` and `width` (of the frames as yielded, after rotation).
    Iterating yields `(index, frame)` with frame (H, W, 3) uint8 RGB. Use as a context manager or call
    `close()` to release files; close video sources before forking DataLoader workers (an open decoder's
    threads do not exist in a forked child, which would hang freeing it).
    """

    name: str
    fps: float | None = None
    audio_source: str | None = None  # a file or URL whose audio track goes with these frames

    @property
    def num_frames(self) -> int | None:
        raise NotImplementedError

    @property
    def height(self) -> int:
        raise NotImplementedError

    @property
    def width(self) -> int:
        raise NotImplementedError

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        raise NotImplementedError

    def close(self) -> None:
        """Release open files (nothing to do for image frames)."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, frames={self.num_frames}, size={self.height}x{self.width})"


class ImageFrames(FrameSource):
    """A video stored as one image file per frame (a folder, a glob, or a dataset video's frame list).

    Every frame must have the size of the first one; a frame that differs raises `DataError` naming it.
    """

    def __init__(self, paths: Sequence[str | Path], name: str, fps: float | None = None):
        if not paths:
            raise DataError(f"'{name}' has no frames")
        self.paths = [Path(p) for p in paths]
        self.name = name
        self.fps = fps
        self._size: tuple[int, int] | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, fps: float | None = None) -> ImageFrames:
        """The images of a folder, in natural name order ('2.jpg' before '10.jpg')."""
        folder = Path(folder)
        paths = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: natural_key(p.name))
        if not paths:
            raise DataError(f"folder {folder} holds no frames or videos (expected images: {', '.join(IMAGE_SUFFIXES)}; "
                            "or video files, each segmented on its own)")
        return cls(paths, name=folder.name, fps=fps)

    @classmethod
    def from_glob(cls, pattern: str, fps: float | None = None) -> ImageFrames:
        """The image files matching a glob pattern (e.g. 'clip/*.png'), in natural name order."""
        paths = [Path(p) for p in glob.glob(os.path.expanduser(pattern), recursive=True)]
        paths = [p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        if not paths:
            raise DataError(f"no image files match '{pattern}' (expected {', '.join(IMAGE_SUFFIXES)})")
        paths.sort(key=lambda p: natural_key(str(p)))
        return cls(paths, name=pattern, fps=fps)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_frames(self) -> int:
        return len(self.paths)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the first frame, which every frame must share."""
        if self._size is None:
            self._size = image_size(self.paths[0])
        return self._size

    @property
    def height(self) -> int:
        return self.size[0]

    @property
    def width(self) -> int:
        return self.size[1]

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` -> (H, W, 3) uint8 RGB (a writable array of its own)."""
        path = self.paths[index]
        image = np.require(read_image(path), requirements=["C", "W"])
        if image.shape[:2] != self.size:
            raise DataError(f"frame {path} is {image.shape[1]}x{image.shape[0]} but {self.paths[0].name} is "
                            f"{self.size[1]}x{self.size[0]}: every frame of '{self.name}' must have one size")
        return image

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        for index in range(len(self.paths)):
            yield index, self.frame(index)
