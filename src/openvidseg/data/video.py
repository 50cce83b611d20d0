"""Any video as a frame source: a video file (decoded lazily with PyAV), a folder of frames, a glob, an
http(s)/rtsp/... URL, "-" (a video on standard input), a camera device (/dev/video0, through v4l2), or
frames in memory (`openvidseg.data.array_frames`).

    with open_frames("clip.mp4") as video:        # or "frames/", "frames/*.png", "https://.../clip.mp4", "-"
        for index, frame in video:                # frame: (H, W, 3) uint8 RGB, rotation applied
            ...

Streams (URLs, pipes, cameras) may not say how many frames they hold (`num_frames` None) and live ones
never end: stop them with Ctrl-C or a frame limit.

Video files are decoded one frame at a time (memory does not grow with length). Every pixel format
(grayscale, RGBA, 10-bit, ...) is converted to rgb24, and the display matrix (rotation and mirroring
of phone videos) is applied. A truncated or corrupt file yields every frame decoded so far and then
raises `DataError` saying how many frames were decoded.
"""
from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from openvidseg.data.frame_source import IMAGE_SUFFIXES, FrameSource, ImageFrames, natural_key
from openvidseg.errors import DataError, InputError

GLOB_CHARS = "*?["
STDIN = "-"
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
CAMERA_PREFIX = "/dev/video"
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".wmv", ".flv",
                  ".3gp", ".ogv")
NETWORK_TIMEOUT = (15.0, 30.0)  # seconds to open a URL, and to wait for its next data


def is_url(source: str) -> bool:
    """'scheme://...' (http, https, rtsp, rtmp, udp, srt, ...): read by FFmpeg's network protocols."""
    return bool(URL.match(source))


def is_camera(source: str) -> bool:
    """A video4linux camera device path (/dev/video0, ...)."""
    return source.startswith(CAMERA_PREFIX)


def stream_name(source: str) -> str:
    """A readable name for a URL or device: its last path part without suffix ('https://h/a/clip.mp4?x' ->
    'clip'), else its host ('rtsp://cam.local:554/' -> 'cam.local'); 'stdin' for '-'."""
    if source == STDIN:
        return "stdin"
    from urllib.parse import urlsplit

    parts = urlsplit(source)
    last = Path(parts.path).name if parts.path.strip("/") else ""
    return Path(last).stem or last or parts.hostname or "stream"


def expand_inputs(sources: Sequence[str]) -> list[str]:
    """The inputs a list of INPUT arguments names: a folder holding videos and no images stands for its videos
    (in natural name order); everything else stands for itself (a folder of images is one video)."""
    expanded = []
    for source in sources:
        folder = Path(source).expanduser()
        if not is_url(source) and folder.is_dir():
            files = [p for p in folder.iterdir() if p.is_file()]
            videos = sorted((p for p in files if p.suffix.lower() in VIDEO_SUFFIXES), key=lambda p: natural_key(p.name))
            if videos and not any(p.suffix.lower() in IMAGE_SUFFIXES for p in files):
                expanded += [str(p) for p in videos]
                continue
        expanded.append(source)
    return expanded


def _open_hint(target: Any, decoding: bool = False) -> str:
    """What to check when a video cannot be opened or decoded, by kind of source."""
    if not isinstance(target, str):
        return "what was piped into standard input is not a video FFmpeg can read (or it was cut short)"
    if is_url(target):
        return "check the address, that the server is reachable from here, and that it serves a video"
    if is_camera(target):
        return "check that the camera is connected and not in use by another program"
    if decoding:
        return "the file is truncated or corrupt"
    return "the file is not a video, is corrupt, or was cut before its index (an MP4 copied only in part)"


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
    """The frames of a video, decoded in order by PyAV (FFmpeg), one at a time: a file, an http(s)/rtsp/...
    URL, a camera device (`format="v4l2"`), or a readable binary file object such as standard input.

    `num_frames` is the container's frame count (None when it does not store one: MKV, MPEG-TS, pipes, live
    streams); `fps` its average frame rate. The first frame is decoded on opening to learn the displayed
    size. Files and URLs can be read again (they are reopened); a file object or camera only once.
    """

    def __init__(self, path: str | Path | BinaryIO, *, name: str | None = None, format: str | None = None,
                 options: dict[str, str] | None = None, timeout: float | None = None, label: str | None = None):
        self._target = path if hasattr(path, "read") else str(path)
        self.location = label or name or str(path)  # as messages show it
        self.path = Path(path) if isinstance(path, (str, Path)) and not is_url(str(path)) else None
        self.name = name or (self.path.name if self.path is not None else stream_name(str(path)))
        self._format, self._options, self._timeout = format, options or {}, timeout
        self._opened = 0
        self._container: Any = None
        self._decoder: Iterator[Any] | None = None
        self._first: Any = None
        self._open()
        stream = self._container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        self.fps = float(rate) if rate else None
        self._num_frames = int(stream.frames) if stream.frames else None
        seekable = self.reopenable and (self.path is not None or self.location.lower().startswith(("http:", "https:")))
        self.audio_source = self.location if seekable and self._container.streams.audio else None  # not live streams
        self._orientation = display_orientation(_display_matrix(self._first))
        transpose = self._orientation[0]
        self._height = self._first.width if transpose else self._first.height
        self._width = self._first.height if transpose else self._first.width

    @property
    def reopenable(self) -> bool:
        """Whether a second pass can start again from the first frame (files and URLs; not pipes or cameras)."""
        return isinstance(self._target, str) and self._format is None

    def _open(self) -> None:
        """Open the container and decode its first frame (kept for the first iteration)."""
        import av

        if self._opened and not self.reopenable:
            raise DataError(f"{self.location} can be read only once (a pipe, standard input or a camera): "
                            "save it to a file to read it again")
        self.close()
        self._opened += 1
        where = self.location
        try:
            self._container = av.open(self._target, format=self._format, options=self._options, timeout=self._timeout)
        except FileNotFoundError:
            raise DataError(f"video file not found: {where}") from None
        except (av.error.FFmpegError, OSError) as err:
            raise DataError(f"cannot open {where} as a video ({err}): {_open_hint(self._target)}") from None
        if not self._container.streams.video:
            self.close()
            raise DataError(f"{where} has no video stream (an audio file, or a video with zero frames?)")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._decoder = self._container.decode(stream)
        try:
            self._first = next(self._decoder)
        except StopIteration:
            declared = stream.frames
            self.close()
            hint = f" although its container declares {declared} (the file is truncated)" if declared else ""
            raise DataError(f"{where} holds a video stream with zero frames{hint}") from None
        except av.error.FFmpegError as err:
            self.close()
            raise DataError(f"{where}: no frame could be decoded (0 frames decoded): {err}; "
                            f"{_open_hint(self._target, decoding=True)}") from None

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
        if error is not None and self.path is None:
            raise DataError(f"{self.location}: the stream broke off after {count} frames ({error}); the frames already "
                            "yielded are valid")
        if error is not None:
            raise DataError(f"{self.location} is truncated or corrupt: {count} frames decoded before the error "
                            f"({error}); the frames already yielded are valid")
        if self._num_frames is not None and count < self._num_frames:
            raise DataError(f"{self.location} is truncated: {count} of the {self._num_frames} frames its container "
                            "declares could be decoded; the frames already yielded are valid")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container, self._decoder, self._first = None, None, None
        if self._opened and not isinstance(self._target, str):  # a pipe's reader (or its spool file): read once
            self._target.close()


def stdin_frames() -> VideoFileFrames:
    """The video piped into standard input ('-'), read once, without seeking."""
    if sys.stdin is None or sys.stdin.isatty():
        raise DataError("'-' reads a video from standard input, but nothing is piped in: e.g. "
                        "`cat clip.mkv | openvidseg segment - --classes ...`")
    from openvidseg.data.pipe import readable_pipe

    return VideoFileFrames(readable_pipe(sys.stdin.buffer), name="stdin")


def http_pipe_frames(url: str) -> VideoFileFrames:
    """A video on a web server that FFmpeg could not read directly (a server that does not answer byte-range
    requests, which an MP4 whose index comes last needs), streamed like standard input: read once, spooled
    to a temporary file when its index comes last."""
    import urllib.request

    from openvidseg.data.pipe import readable_pipe

    try:
        response = urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT[0])
    except OSError as err:
        raise DataError(f"cannot open {url} as a video ({err}): {_open_hint(url)}") from None
    return VideoFileFrames(readable_pipe(response), name=stream_name(url), label=url)


def camera_frames(device: str) -> VideoFileFrames:
    """A live video4linux camera (/dev/video0, ...), read until stopped."""
    if not Path(device).exists():
        found = sorted(str(p) for p in Path("/dev").glob("video*"))
        raise DataError(f"camera {device} not found; cameras here: {', '.join(found) or 'none'}")
    return VideoFileFrames(device, format="v4l2")


def open_frames(source: str | Path | FrameSource | Any, fps: float | None = None) -> FrameSource:
    """A frame source for a video file, a folder of frames, a glob of frames, a single image, a URL, "-"
    (standard input), a camera device, or frames in memory (a (T, H, W, 3) array, one image, or a list or
    iterable of NumPy arrays / PIL images).

    `fps` labels image sequences (they carry no rate); a video file's own rate wins. A `FrameSource`
    (e.g. a dataset video) is returned unchanged. Raises `DataError` for a missing path, a file that
    is not a video, a video without frames, or a folder/glob without images, `InputError` for an `fps`
    that is not above 0.
    """
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(f"frame rate {fps:g}: use a number of frames per second above 0, e.g. --fps 25")
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, str) and source == STDIN:
        return stdin_frames()
    if isinstance(source, str) and is_url(source):
        try:
            return VideoFileFrames(source, timeout=NETWORK_TIMEOUT)  # RTSP: FFmpeg tries UDP, then TCP
        except DataError:
            if not source.lower().startswith(("http:", "https:")):
                raise
            return http_pipe_frames(source)  # a server without byte ranges: read it as a pipe
    if isinstance(source, (str, Path)) and is_camera(str(source)):
        return camera_frames(str(source))
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
