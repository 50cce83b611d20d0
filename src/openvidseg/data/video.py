"""Any video as a frame source: a video file (decoded lazily with PyAV), a folder of frames, or a glob.

    with open_frames("clip.mp4") as video:        # or "frames/", or "frames/*.png"
        for index, frame in video:                # frame: (H, W, 3) uint8 RGB, rotation applied
            ...

Video files are decoded one frame at a time (memory does not grow with length). Every pixel format
(grayscale, RGBA, 10-bit, ...) is converted to rgb24, and the display matrix (rotation and mirroring
of phone videos) is applied. A truncated or corrupt file yields every frame decoded so far and then
raises `DataError` saying how many frames were decoded.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg.data.frame_source import IMAGE_SUFFIXES, FrameSource, ImageFrames
from openvidseg.errors import DataError, InputError

GLOB_CHARS = "*?["


def display_orientation(matrix: np.ndarray | None) -> tuple[bool, bool, bool]:
    """(transpose, flip_rows, flip_cols) that turn a decoded frame into its displayed form.

    `matrix`: the 9 int32 entries of an FFmpeg display matrix (16.16 fixed point), or None. A source
    pixel (x, y) goes to (a x + c y, b x + d y) with (a, b, c, d) = matrix[0, 1, 3, 4]; rotations
    other than multiples of 90 degrees are snapped to the nearest one.
    """
    if matrix is None:
        return False, False, False
    a, b, c, d = (float(matrix[i]) / 65536.0 for i in (0, 1, 3, 4))
    if abs(a) + abs(d) >= abs(b) + abs(c):  # x stays x: flip each axis whose scale is negative
        return False, d < 0, a < 0
    return True, b < 0, c < 0  # axes swap: new x = c y, new y = b x


def apply_orientation(frame: np.ndarray, orientation: tuple[bool, bool, bool]) -> np.ndarray:
    """Apply `display_orientation`'s (transpose, flip_rows, flip_cols) to a (H, W, C) frame."""
    transpose, flip_rows, flip_cols = orientation
    if transpose:
        frame = frame.transpose(1, 0, 2)
    if flip_rows:
        frame = frame[::-1]
    if flip_cols:
        frame = frame[:, ::-1]
    return np.ascontiguousarray(frame)


def _display_matrix(frame: Any) -> np.ndarray | None:
    for side_data in frame.side_data:
        if "DISPLAYMATRIX" in str(side_data.type).upper():
            return np.frombuffer(bytes(side_data), dtype="<i4")[:9]
    return None


class VideoFileFrames(FrameSource):
    """The frames of a video file, decoded in order by PyAV (FFmpeg), one at a time.

    `num_frames` is the container's frame count (None when it does not store one, e.g. MKV or MPEG-TS);
    `fps` its average frame rate. The first frame is decoded on opening to learn the displayed size.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = self.path.name
        self._container: Any = None
        self._decoder: Iterator[Any] | None = None
        self._first: Any = None
        self._open()
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self._num_frames = int(stream.frames) if stream.frames else None
        self._orientation = display_orientation(_display_matrix(self._first))
        transpose = self._orientation[0]
        self._height = self._first.width if transpose else self._first.height
        self._width = self._first.height if transpose else self._first.width

    def _open(self) -> None:
        """Open the container and decode its first frame (kept for the first iteration)."""
        import av

        self.close()
        try:
            self._container = av.open(str(self.path))
        except FileNotFoundError:
            raise DataError(f"video file not found: {self.path}") from None
        except (av.error.FFmpegError, OSError) as err:
            raise DataError(f"cannot open {self.path} as a video ({err}): the file is not a video, is corrupt, "
                            "or was cut before its index (an MP4 copied only in part)") from None
        if not self._container.streams.video:
            self.close()
            raise DataError(f"{self.path} has no video stream (an audio file, or a video with zero frames?)")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._decoder = self._container.decode(stream)
        try:
            self._first = next(self._decoder)
        except StopIteration:
            declared = stream.frames
            self.close()
            hint = f" although its container declares {declared} (the file is truncated)" if declared else ""
            raise DataError(f"{self.path} holds a video stream with zero frames{hint}") from None
        except av.error.FFmpegError as err:
            self.close()
            raise DataError(f"{self.path}: no frame could be decoded (0 frames decoded): {err}; "
                            "the file is truncated or corrupt") from None

    @property
    def num_frames(self) -> int | None:
        return self._num_frames

    @property
    def height(self) -> int:
        return self._height

    @property
    def width(self) -> int:
        return self._width

    def _to_rgb(self, frame: Any) -> np.ndarray:
        """Convert one decoded frame to displayed (H, W, 3) rgb24.

        Colour conversion runs on one thread: faster for video frame sizes, and no FFmpeg thread pool
        is left inside frame objects, which would deadlock a forked DataLoader worker that frees one.
        """
        try:
            rgb = frame.to_ndarray(format="rgb24", threads=1)
        except TypeError:  # PyAV < 14 has no `threads` argument
            rgb = frame.to_ndarray(format="rgb24")
        return apply_orientation(rgb, self._orientation)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        import av

        if self._first is None:  # a later pass: start again from the beginning
            self._open()
        first, decoder = self._first, self._decoder
        self._first = None
        yield 0, self._to_rgb(first)
        count, error = 1, None
        try:
            for frame in decoder:
                yield count, self._to_rgb(frame)
                count += 1
        except av.error.FFmpegError as err:
            error = str(err)
        # a finished pass releases the decoder (and its threads) at once; a new pass reopens the file
        self.close()
        if error is not None:
            raise DataError(f"{self.path} is truncated or corrupt: {count} frames decoded before the error "
                            f"({error}); the frames already yielded are valid")
        if self._num_frames is not None and count < self._num_frames:
            raise DataError(f"{self.path} is truncated: {count} of the {self._num_frames} frames its container "
                            "declares could be decoded; the frames already yielded are valid")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container, self._decoder, self._first = None, None, None


def open_frames(source: str | Path | FrameSource | Any, fps: float | None = None) -> FrameSource:
    """A frame source for a video file, a folder of frames, a glob of frames, a single image, or frames
    in memory (a (T, H, W, 3) array, one image, or a list or iterable of NumPy arrays / PIL images).

    `fps` labels image sequences (they carry no rate); a video file's own rate wins. A `FrameSource`
    (e.g. a dataset video) is returned unchanged. Raises `DataError` for a missing path, a file that
    is not a video, a video without frames, or a folder/glob without images, `InputError` for an `fps`
    that is not above 0.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate {fps:g}: use a number of frames per second above 0, e.g. --fps 25")
    if isinstance(source, FrameSource):
        return source
    if not isinstance(source, (str, Path)):  # in-memory frames: an array, an image, a list or iterable of them
        from openvidseg.data.array_frames import ArrayFrames, is_image

        return ArrayFrames([source] if is_image(source) else source, fps=fps)
    path = Path(source).expanduser()
    if path.is_dir():
        return ImageFrames.from_folder(path, fps=fps)
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return ImageFrames([path], name=path.name, fps=fps)
        return VideoFileFrames(path)
    if any(ch in str(source) for ch in GLOB_CHARS):
        return ImageFrames.from_glob(str(source), fps=fps)
    raise DataError(f"no such video file, frame folder or glob: {source} (check the path)")
