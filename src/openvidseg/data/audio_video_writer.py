"""Writing a video with a sound track in one go (PyAV): generated audio-visual clips, test fixtures."""
from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from openvidseg.errors import DataError

AUDIO_CODECS = {".mp4": "aac", ".mov": "aac", ".mkv": "pcm_s16le", ".webm": "libopus"}
AUDIO_CHUNK = 1024  # samples per audio frame handed to the encoder


def write_video_with_audio(path: str | Path, frames: Iterable[np.ndarray], fps: float, audio: np.ndarray | None,
                           sample_rate: int, *, audio_codec: str | None = None, video_start: float = 0.0,
                           audio_start: float = 0.0, channels: int = 1, crf: int = 18) -> Path:
    """Write (H, W, 3) uint8 RGB `frames` at `fps` and `audio` (N,) or (N, C) float in [-1, 1] at `sample_rate`.

    `video_start` / `audio_start` place the first frame / first sample on the container's timeline (seconds),
    to make clips whose streams start apart. `channels`: 1 (mono) or 2 (the mono signal in both channels when
    `audio` is 1-D). The audio codec follows the suffix (AAC for .mp4, PCM for .mkv) unless given.
    """
    path = Path(path)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise DataError(f"no frames to write to {path}")
    codec = audio_codec or AUDIO_CODECS.get(path.suffix.lower(), "aac")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        container = av.open(str(path), mode="w")
    except (OSError, av.FFmpegError) as err:
        raise DataError(f"cannot write video {path}: {err}") from err
    with container:
        video = container.add_stream("libx264", rate=rate)
        video.height, video.width = first.shape[:2]
        video.pix_fmt = "yuv420p" if first.shape[0] % 2 == 0 and first.shape[1] % 2 == 0 else "yuv444p"
        video.options = {"crf": str(crf), "preset": "veryfast"}
        video.codec_context.time_base = Fraction(1, 90_000)  # fine enough to place the first frame anywhere
        sound = None
        if audio is not None:
            sound = container.add_stream(codec, rate=sample_rate, layout="mono" if channels == 1 else "stereo")
        # write the header now: muxers may change a stream's time base then (Matroska: 1 ms), and frames
        # encoded before and after that change would otherwise be stamped in two different units
        container.start_encoding()
        offset = int(round(video_start / video.time_base))
        step = 1 / rate / video.time_base
        for index, frame in enumerate(_chain(first, frames)):
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            picture.pts = offset + int(round(index * step))
            picture.time_base = video.time_base
            container.mux(video.encode(picture))
        container.mux(video.encode())
        if sound is not None:
            _write_audio(container, sound, np.asarray(audio, dtype=np.float32), sample_rate, audio_start, channels)
    return path


def _chain(first: np.ndarray, rest: Iterable[np.ndarray]) -> Iterable[np.ndarray]:
    yield first
    yield from rest


def _write_audio(container, stream, audio: np.ndarray, sample_rate: int, start: float, channels: int) -> None:
    if audio.ndim == 1:
        audio = np.repeat(audio[:, None], channels, axis=1)
    if audio.shape[1] != channels:
        raise ValueError(f"audio has {audio.shape[1]} channels, {channels} asked")
    samples = np.clip(audio, -1.0, 1.0)
    planar = "s16p" if stream.codec_context.name.startswith("pcm") else "fltp"
    first = int(round(start * sample_rate))
    for begin in range(0, len(samples), AUDIO_CHUNK):
        chunk = samples[begin:begin + AUDIO_CHUNK].T  # (C, n) planar
        if planar == "s16p":
            chunk = np.round(chunk * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=planar,
                                           layout="mono" if channels == 1 else "stereo")
        frame.sample_rate = sample_rate
        frame.pts = first + begin
        frame.time_base = Fraction(1, sample_rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
