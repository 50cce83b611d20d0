"""Writing videos with PyAV, one frame at a time (nothing buffered beyond the encoder's own queue).

The MP4 is fragmented (an empty index up front, then self-contained fragments of about a second, each
flushed to the file as it is written), so a process killed mid-video (SIGKILL, power loss) leaves a file
that plays up to its last fragment instead of one without an index that nothing can open. The bytes go
through an unbuffered Python file, so a failed write (a full disk) raises at once: FFmpeg's own file
output can drop such an error and leave a silently truncated video.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from openvidseg.errors import DataError, OutputWriteError, os_reason

FRAGMENT_US = 1_000_000  # fragment length in microseconds: at most about this much is lost to an abrupt end
CONTAINER_OPTIONS = {"movflags": "empty_moov+frag_keyframe+default_base_moof", "frag_duration": str(FRAGMENT_US),
                     "flush_packets": "1"}


class VideoWriter:
    """H.264 MP4 at the given size and frame rate. Even sizes use yuv420p (plays everywhere); odd sizes
    keep their exact size with yuv444p. `audio`: a video file or URL whose audio track is copied in,
    interleaved with the frames (see `audio_track`). Use as a context manager, or call `close()`. A failed
    write (a full disk, a vanished folder) raises `OutputWriteError`."""

    def __init__(self, path: str | Path, fps: float, width: int, height: int, crf: int = 20,
                 audio: str | None = None):
        self.path = Path(path)
        try:
            self.file = open(self.path, "wb", buffering=0)
            self.container = av.open(self.file, mode="w", format="mp4", options=CONTAINER_OPTIONS)
        except (OSError, av.FFmpegError) as err:
            raise DataError(f"cannot write video {self.path}: {err}") from err
        rate = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(25)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = width, height
        self.stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        self.stream.options = {"crf": str(crf), "preset": "veryfast"}
        self.rate = rate
        self.frames = 0
        from openvidseg.inference.audio_track import open_audio_track

        self.audio = open_audio_track(audio, self.container)

    def write(self, frame: np.ndarray) -> None:
        """Append an (H, W, 3) uint8 RGB frame."""
        if frame.shape[:2] != (self.stream.height, self.stream.width):
            raise ValueError(f"frame of size {frame.shape[:2]} written to a {self.stream.height}x{self.stream.width} video")
        try:
            for packet in self.stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                self.container.mux(packet)
        except (OSError, av.FFmpegError) as err:
            raise OutputWriteError(f"cannot write the overlay {self.path}: {os_reason(err)}") from None
        self.frames += 1
        if self.audio is not None:
            self._audio(self.audio.mux_until, float(self.frames / self.rate))

    def close(self) -> None:
        """Flush the encoder and close the file (safe to call twice, also after a failure)."""
        container, self.container = self.container, None
        if container is None:
            return
        try:
            for packet in self.stream.encode():
                container.mux(packet)
            if self.audio is not None:
                self._audio(self.audio.close, float(self.frames / self.rate))
        except (OSError, av.FFmpegError) as err:
            raise OutputWriteError(f"cannot write the overlay {self.path}: {os_reason(err)}") from None
        finally:
            try:
                container.close()
            except (OSError, av.FFmpegError) as err:  # only reached when flushing went well
                raise OutputWriteError(f"cannot write the overlay {self.path}: {os_reason(err)}") from None
            finally:
                self.file.close()

    def _audio(self, step, seconds: float) -> None:
        """Run an audio step; a failure drops the sound (with a warning), never the video."""
        try:
            step(seconds)
        except Exception as err:  # noqa: BLE001
            import logging

            logging.getLogger(__name__).warning("the rest of the overlay has no sound: %s: %s", type(err).__name__, err)
            self.audio = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
