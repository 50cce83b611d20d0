"""Copying a video's audio track into the overlay video, interleaved with its frames as they are written
(memory stays small, whatever the length).

The first audio stream of the input is copied packet by packet when MP4 can hold its codec (AAC, MP3,
AC-3, E-AC-3, ALAC, FLAC, Opus); any other codec (Vorbis, PCM, ...) is re-encoded as AAC. Audio is
shifted by the video's start time, so that the overlay's first frame and the audio start together as in
the input, and ends where the overlay's last frame does (`--max-frames` cuts it too). An audio track that
cannot be read is left out with a warning: the overlay never fails because of its sound.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

logger = logging.getLogger(__name__)

MP4_AUDIO_CODECS = {"aac", "mp3", "ac3", "eac3", "alac", "flac", "opus"}


class AudioTrack:
    """The audio of `source` (a file path or URL) added to `output` (an open PyAV output container) as a
    stream; call `mux_until(seconds)` after each video frame and `close(seconds)` at the end."""

    def __init__(self, source: str, output: Any):
        import av

        self.input = av.open(source)
        stream = self.input.streams.audio[0]
        video = self.input.streams.video[0] if self.input.streams.video else None
        start = video.start_time * video.time_base if video is not None and video.start_time is not None else 0
        self.offset = Fraction(start)  # seconds of the input that are 0 in the overlay
        self.copy = stream.codec_context.name in MP4_AUDIO_CODECS
        if self.copy:
            self.stream = output.add_stream_from_template(stream)
        else:
            self.stream = output.add_stream("aac", rate=stream.codec_context.sample_rate)
            channels = stream.codec_context.layout.nb_channels  # AAC wants a named layout, not "N channels"
            self.stream.layout = {1: "mono", 2: "stereo", 6: "5.1"}.get(channels, "stereo")
            self.resampler = av.AudioResampler(format=self.stream.format, layout=self.stream.layout,
                                               rate=self.stream.rate)
        self.output = output
        self.source_stream = stream
        self.packets: Iterator[Any] = self.input.demux(stream)
        self.pending: Any = None
        self.done = False

    def _next(self):
        """The next input packet with a timestamp, or None at the end."""
        for packet in self.packets:
            if packet.pts is not None:
                return packet
        return None

    def _seconds(self, packet) -> Fraction:
        return packet.pts * packet.time_base - self.offset

    def mux_until(self, seconds: float) -> None:
        """Write the audio that starts before `seconds` of the overlay."""
        while not self.done:
            packet = self.pending if self.pending is not None else self._next()
            self.pending = None
            if packet is None:
                self.done = True
                break
            at = self._seconds(packet)
            if at >= seconds:
                self.pending = packet
                break
            if at < 0 and self.offset > 0:  # audio from before the first video frame (the encoder's own priming,
                continue                     # with negative timestamps when the video starts at 0, stays)
            self._write(packet, at)

    def _write(self, packet, at: Fraction) -> None:
        if self.copy:
            shift = round(self.offset / packet.time_base)
            packet.pts -= shift
            if packet.dts is not None:
                packet.dts -= shift
            packet.stream = self.stream
            self.output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None
            for resampled in self.resampler.resample(frame):
                self.output.mux(self.stream.encode(resampled))

    def close(self, seconds: float) -> None:
        """Write the audio up to `seconds` (the overlay's length), flush an encoder, close the input."""
        try:
            self.mux_until(seconds)
            if not self.copy:
                self.output.mux(self.stream.encode(None))
        finally:
            self.input.close()


def open_audio_track(source: str | None, output: Any) -> AudioTrack | None:
    """An `AudioTrack` for `source` when it has an audio stream; None otherwise, or with a warning when its
    audio cannot be read."""
    if source is None:
        return None
    try:
        import av

        with av.open(source) as probe:
            if not probe.streams.audio:
                return None
        return AudioTrack(source, output)
    except Exception as err:  # noqa: BLE001 - the overlay is written without sound rather than not at all
        logger.warning("the overlay has no sound: the audio of %s cannot be copied (%s: %s)", source,
                       type(err).__name__, err)
        return None
