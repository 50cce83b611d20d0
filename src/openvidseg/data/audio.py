"""The audio of a video, decoded with PyAV, resampled to 16 kHz mono and cut into one window per frame.

    audio = open_frame_audio("clip.mp4")                 # the clip's own track
    audio = open_frame_audio("frames/", audio="a.wav", fps=1)   # frames with a separate sound file
    audio.windows([0, 1, 2])                             # (3, L) float32, L = 0.975 s at 16 kHz

Frames and samples are aligned by their timestamps on the container's timeline (the video packets'
presentation times and the audio frames' own times), so any frame rate works and a track that starts
late or a video that starts late is placed where it plays. Frame i's window is
[t_i, t_i + window) ("start", AVSBench's convention: frame k of a 1 fps clip hears second k) or centred
on the frame's display interval ("center"); parts of a window outside the track are silence.

A video without an audio stream, or whose track does not cover a frame (starts after it or ends before
it by more than `COVER_TOLERANCE`), raises `DataError` naming the frame and the fix, unless
missing="silence", which gives those frames silence. The whole track is held in memory as float32
(3.8 MB per minute of sound at 16 kHz).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg.data.frame_source import FrameSource
from openvidseg.errors import DataError, InputError

SAMPLE_RATE = 16_000  # Hz, what VGGish and the audio models expect
WINDOW_SECONDS = 0.975  # one VGGish patch: 96 frames of 25 ms every 10 ms (15,600 samples at 16 kHz)
ANCHORS = ("start", "center")
MISSING = ("error", "silence")
COVER_TOLERANCE = 0.1  # seconds a track may miss at either end of a frame before it counts as missing


@dataclass(frozen=True)
class AudioTrack:
    """A mono waveform: `samples` (N,) float32 in [-1, 1] at `sample_rate` Hz; samples[0] plays at `start`
    seconds on the source's timeline."""

    samples: np.ndarray
    sample_rate: int
    start: float
    source: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end(self) -> float:
        return self.start + self.duration

    def segment(self, start: float, length: float) -> np.ndarray:
        """(L,) float32 samples of [start, start + length) seconds, L = round(length * sample_rate); the
        parts outside the track are zeros (silence)."""
        count = int(round(length * self.sample_rate))
        first = int(round((start - self.start) * self.sample_rate))
        out = np.zeros(count, dtype=np.float32)
        lo, hi = max(first, 0), min(first + count, len(self.samples))
        if hi > lo:
            out[lo - first:hi - first] = self.samples[lo:hi]
        return out


def silent_track(start: float, duration: float, sample_rate: int = SAMPLE_RATE, source: str = "silence") -> AudioTrack:
    """A track of zeros covering [start, start + duration) seconds."""
    return AudioTrack(np.zeros(int(round(max(duration, 0.0) * sample_rate)), dtype=np.float32), sample_rate, start, source)


def _open_container(path: Path) -> Any:
    import av

    try:
        return av.open(str(path))
    except FileNotFoundError:
        raise DataError(f"audio source not found: {path}") from None
    except (av.error.FFmpegError, OSError) as err:
        raise DataError(f"cannot open {path} to read its audio ({err}): the file is corrupt or not a media file") from None


def has_audio(path: str | Path) -> bool:
    """Whether a media file holds an audio stream."""
    container = _open_container(Path(path))
    try:
        return bool(container.streams.audio)
    finally:
        container.close()


def _mono(frame: Any) -> np.ndarray:
    """(n,) float32: the mean over the channels of a planar float audio frame."""
    planes = frame.to_ndarray()  # (C, n)
    return planes.mean(axis=0, dtype=np.float32) if planes.shape[0] > 1 else planes.reshape(-1).astype(np.float32)


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> AudioTrack:
    """The first audio stream of a media file (a video with sound, a .wav, .mp3, ...) as a mono track at
    `sample_rate` Hz, placed at its own timestamps.

    The rate is converted by FFmpeg's resampler (av.AudioResampler), keeping the channels, which are then
    averaged as VGGish does (FFmpeg's own down-mix weights them by 1/sqrt(2) instead); gaps between
    audio frames are filled with silence; decoder padding beyond the stream's declared duration is cut.
    Raises DataError for a file without an audio stream, or one whose audio cannot be decoded.
    """
    import av

    path = Path(path)
    container = _open_container(path)
    try:
        if not container.streams.audio:
            raise DataError(f"{path} has no audio track: give the sound another way (--audio FILE) or let it be "
                            "silence (--audio-missing silence)")
        stream = container.streams.audio[0]
        resampler = None
        chunks: list[np.ndarray] = []
        start: float | None = None
        written = 0  # output samples so far
        try:
            for frame in container.decode(stream):
                when = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else None
                if start is None:
                    start = when if when is not None else 0.0
                elif when is not None:  # a gap in the stream: silence up to where this frame plays
                    gap = int(round((when - start) * sample_rate)) - written
                    if gap > sample_rate // 100:  # more than 10 ms (resampler latency is far less)
                        chunks.append(np.zeros(gap, dtype=np.float32))
                        written += gap
                if resampler is None:
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout.name, rate=sample_rate)
                for out in resampler.resample(frame):
                    chunks.append(_mono(out))
                    written += chunks[-1].size
            for out in resampler.resample(None) if resampler is not None else ():
                chunks.append(_mono(out))
        except av.error.FFmpegError as err:
            raise DataError(f"{path}: the audio track cannot be decoded ({err}): the file is truncated or corrupt") from None
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        if stream.duration and stream.time_base:  # cut decoder padding past the declared end
            declared = int(round(float(stream.duration * stream.time_base) * sample_rate))
            samples = samples[:max(declared, 0)] if declared < samples.size else samples
        return AudioTrack(np.ascontiguousarray(samples), sample_rate, start or 0.0, str(path))
    finally:
        container.close()


def video_frame_times(path: str | Path) -> np.ndarray:
    """(T,) float64 presentation times (seconds, container timeline) of a video file's frames, read from
    its packets without decoding (B-frames sorted into display order; packets an edit list drops skipped)."""
    path = Path(path)
    container = _open_container(path)
    try:
        if not container.streams.video:
            raise DataError(f"{path} has no video stream")
        stream = container.streams.video[0]
        base = stream.time_base
        pts = [p.pts for p in container.demux(stream)
               if p.pts is not None and p.size and not getattr(p, "is_discard", False)]
    finally:
        container.close()
    return np.array(sorted(float(p * base) for p in pts), dtype=np.float64)


@dataclass
class FrameAudio:
    """The audio window of each frame of one video: `window(i)` -> (L,) float32, `windows(indices)` ->
    (len(indices), L); L = round(window_seconds * sample_rate).

    `times` (T,) are the frames' presentation times and `frame_duration` how long the last one shows;
    frames past the known times (a decoder that yields more frames than packets were counted) continue at
    that spacing. A frame the track does not cover raises DataError unless `missing` is "silence".
    """

    track: AudioTrack
    times: np.ndarray
    frame_duration: float
    window_seconds: float = WINDOW_SECONDS
    anchor: str = "start"
    missing: str = "error"
    name: str = ""

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise InputError(f"unknown audio window anchor '{self.anchor}': use one of {', '.join(ANCHORS)}")
        if self.missing not in MISSING:
            raise InputError(f"unknown audio-missing policy '{self.missing}': use one of {', '.join(MISSING)}")
        if self.window_seconds <= 0:
            raise InputError(f"the audio window must be longer than 0 s, got {self.window_seconds}")
        if len(self.times) == 0:
            raise DataError(f"{self.name}: no frame times to align the audio to")

    @property
    def num_samples(self) -> int:
        """L, the samples of one window."""
        return int(round(self.window_seconds * self.track.sample_rate))

    def frame_interval(self, index: int) -> tuple[float, float]:
        """[start, end) seconds during which frame `index` is shown."""
        last = len(self.times) - 1
        if index <= last:
            begin = float(self.times[index])
            end = float(self.times[index + 1]) if index < last else begin + self.frame_duration
            return begin, end
        begin = float(self.times[last]) + (index - last) * self.frame_duration
        return begin, begin + self.frame_duration

    def _check_covered(self, index: int, begin: float, end: float) -> None:
        track = self.track
        if self.missing == "silence":
            return
        if track.start > begin + COVER_TOLERANCE or track.end < end - COVER_TOLERANCE:
            raise DataError(f"{self.name}: the audio track ({track.source}) covers {track.start:.2f}-{track.end:.2f} s "
                            f"but frame {index} shows at {begin:.2f}-{end:.2f} s: the track is shorter than the "
                            "video; trim the video, or let missing audio be silence (--audio-missing silence)")

    def window(self, index: int) -> np.ndarray:
        """(L,) float32 audio of frame `index` (silence where the track has none)."""
        if index < 0:
            raise IndexError(f"frame index {index} < 0")
        begin, end = self.frame_interval(index)
        self._check_covered(index, begin, end)
        first = begin if self.anchor == "start" else (begin + end - self.window_seconds) / 2
        return self.track.segment(first, self.window_seconds)

    def windows(self, indices: list[int] | range | np.ndarray) -> np.ndarray:
        """(len(indices), L) float32 windows of the given frames."""
        out = np.zeros((len(indices), self.num_samples), dtype=np.float32)
        for row, index in enumerate(indices):
            out[row] = self.window(int(index))
        return out


def _frame_times_of(source: FrameSource | str | Path, fps: float | None) -> tuple[np.ndarray, float, str]:
    """(times, frame duration, name) of a video file (packet timestamps) or an image sequence (index / fps)."""
    from openvidseg.data.video import VideoFileFrames, open_frames

    frames = open_frames(source, fps=fps) if not isinstance(source, FrameSource) else source
    try:
        if isinstance(frames, VideoFileFrames):
            times = video_frame_times(frames.path)
            rate = frames.fps or (1.0 / float(np.median(np.diff(times))) if len(times) > 1 else 25.0)
            return times, 1.0 / rate, str(frames.path)
        rate = frames.fps or fps
        if not rate:
            raise DataError(f"'{frames.name}' is a sequence of images without a frame rate, so its frames cannot be "
                            "placed in time: give its rate (--fps)")
        count = frames.num_frames or 1
        return np.arange(count, dtype=np.float64) / rate, 1.0 / rate, frames.name
    finally:
        if frames is not source:
            frames.close()


def open_frame_audio(source: FrameSource | str | Path, audio: str | Path | None = None, *, fps: float | None = None,
                     missing: str = "error", window: float = WINDOW_SECONDS, anchor: str = "start",
                     sample_rate: int = SAMPLE_RATE) -> FrameAudio:
    """Each frame's audio window for a video file, a frame folder / glob, or a `FrameSource`.

    `audio`: a media file whose first audio stream is the sound (default: the video file's own track; image
    sequences need one, or missing="silence"). A separate file's time 0 is the first frame's time.
    `fps`: the rate of image sequences (video files use their timestamps).
    """
    times, frame_duration, name = _frame_times_of(source, fps)
    if missing not in MISSING:
        raise InputError(f"unknown audio-missing policy '{missing}': use one of {', '.join(MISSING)}")
    own_file = Path(str(source)) if not isinstance(source, FrameSource) else getattr(source, "path", None)
    sound = Path(audio) if audio is not None else own_file
    span = float(times[-1] - times[0]) + frame_duration
    if sound is None or sound.is_dir() or (audio is None and not Path(sound).is_file()):
        if missing == "error":
            raise DataError(f"{name} is a sequence of images and carries no sound: give the audio (--audio FILE, a "
                            ".wav or a video with sound) or let it be silence (--audio-missing silence)")
        track = silent_track(float(times[0]), span, sample_rate)
    elif missing == "silence" and not has_audio(sound):
        track = silent_track(float(times[0]), span, sample_rate)
    else:
        track = read_audio(sound, sample_rate)
        if audio is not None:  # a separate file starts with the first frame
            track = AudioTrack(track.samples, track.sample_rate, float(times[0]) + track.start, track.source)
    return FrameAudio(track, times, frame_duration, window_seconds=window, anchor=anchor, missing=missing, name=name)
