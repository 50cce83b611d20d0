"""Audio in: decoding with PyAV, 16 kHz mono, alignment to frames by timestamps, missing and short tracks.

Generated clips carry known tones (their frequency and onset are checked in the decoded windows); the two
real clips with sound in ../shared/data/videos are checked against an independent decode at their own rate."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from test_data_video import write_video

from openvidseg.data.audio import (
    SAMPLE_RATE, WINDOW_SECONDS, open_frame_audio, read_audio, video_frame_times,
)
from openvidseg.data.audio_video_writer import write_video_with_audio
from openvidseg.errors import DataError, InputError

RATE_IN = 44_100
WINDOW = round(WINDOW_SECONDS * SAMPLE_RATE)  # samples of one frame's window


def tones(spans: list[tuple[float, float, float]], duration: float, rate: int = RATE_IN) -> np.ndarray:
    """A waveform of `duration` s: silence except sine tones (start s, end s, frequency Hz) of amplitude 0.5."""
    t = np.arange(int(round(duration * rate))) / rate
    out = np.zeros_like(t)
    for start, end, freq in spans:
        inside = (t >= start) & (t < end)
        out[inside] = 0.5 * np.sin(2 * np.pi * freq * t[inside])
    return out.astype(np.float32)


def frames(count: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    return [np.full((height, width, 3), (7 * i) % 256, np.uint8) for i in range(count)]


def peak_frequency(window: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    return float(np.argmax(spectrum) * rate / len(window))


def onset(samples: np.ndarray, rate: int, threshold: float = 0.05) -> float:
    return float(np.argmax(np.abs(samples) > threshold) / rate)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])  # AAC (with encoder priming) and PCM
def test_tones_come_out_at_their_frequency_and_time(tmp_path, suffix):
    path = write_video_with_audio(tmp_path / f"tones{suffix}", frames(100), 25, tones([(0.5, 2.0, 440), (2.0, 4.0, 1000)], 4.0),
                                  RATE_IN)
    track = read_audio(path)
    assert track.sample_rate == SAMPLE_RATE and track.samples.dtype == np.float32
    assert track.start == pytest.approx(0.0, abs=1e-6) and track.duration == pytest.approx(4.0, abs=1e-3)
    assert onset(track.samples, SAMPLE_RATE) == pytest.approx(0.5, abs=0.002)
    audio = open_frame_audio(path)
    assert len(audio.times) == 100 and audio.frame_duration == pytest.approx(0.04)
    windows = audio.windows([25, 60])  # frames shown at 1.0 s and 2.4 s; windows of 0.975 s from there
    assert windows.shape == (2, WINDOW)
    assert peak_frequency(windows[0]) == pytest.approx(440, abs=2)
    assert peak_frequency(windows[1]) == pytest.approx(1000, abs=2)
    assert np.abs(audio.window(0)[: int(0.45 * SAMPLE_RATE)]).max() < 0.01  # silence before the onset
    assert onset(audio.window(0), SAMPLE_RATE) == pytest.approx(0.5, abs=0.002)  # frame 0 at t=0 hears it at 0.5 s


@pytest.mark.parametrize("fps", [1, 7.5, 30000 / 1001])
def test_windows_follow_the_frame_rate(tmp_path, fps):
    count = int(3 * fps)
    path = write_video_with_audio(tmp_path / "clip.mp4", frames(count), fps, tones([(1.5, 3.0, 700)], 3.0), RATE_IN)
    audio = open_frame_audio(path, window=0.2, anchor="start")
    for index in range(count):
        start = audio.times[index]
        window = audio.window(index)
        expected = np.clip(1.5 - start, 0, 0.2)  # silent lead-in of this window
        if 0 < expected < 0.2:
            assert onset(window, SAMPLE_RATE) == pytest.approx(expected, abs=0.003)
        elif expected == 0:
            assert np.abs(window).max() > 0.4
    assert np.allclose(np.diff(audio.times), 1 / fps, atol=1e-3)


def test_a_late_audio_stream_is_placed_by_its_timestamps(tmp_path):
    path = write_video_with_audio(tmp_path / "late.mp4", frames(100), 25, tones([(0.0, 3.0, 500)], 3.0), RATE_IN,
                                  audio_start=1.0)
    track = read_audio(path)  # AAC's priming frame (1024 samples) plays just before the sound
    assert 0.97 < track.start < 1.0 and track.start + onset(track.samples, SAMPLE_RATE) == pytest.approx(1.0, abs=0.002)
    with pytest.raises(DataError, match=r"covers 0\.98-4\.0\d s but frame 0 shows at 0\.00-0\.04 s.*--audio-missing silence"):
        open_frame_audio(path).window(0)
    audio = open_frame_audio(path, missing="silence")
    assert np.abs(audio.window(0)).max() == 0.0  # frame 0's window [0, 0.975) lies before the track
    assert onset(audio.window(10), SAMPLE_RATE) == pytest.approx(1.0 - 0.4, abs=0.003)  # frame 10 at 0.4 s


def test_a_late_video_stream_uses_the_frames_own_timestamps(tmp_path):
    path = write_video_with_audio(tmp_path / "late_video.mkv", frames(20), 10, tones([(0.0, 3.0, 500)], 3.0), RATE_IN,
                                  video_start=0.5)
    with av.open(str(path)) as container:
        decoded = [float(f.pts * f.time_base) for f in container.decode(video=0)]
    times = video_frame_times(path)
    assert decoded[0] >= 0.5 and np.allclose(times, decoded)


def test_a_short_track_is_an_error_or_silence(tmp_path):
    path = write_video_with_audio(tmp_path / "short.mp4", frames(100), 25, tones([(0.0, 2.0, 500)], 2.0), RATE_IN)
    audio = open_frame_audio(path)
    assert np.abs(audio.window(20)).max() > 0.4
    with pytest.raises(DataError, match="frame 75 shows at 3.00-3.04 s: the track is shorter than the video"):
        audio.window(75)
    padded = open_frame_audio(path, missing="silence")
    assert np.abs(padded.window(75)).max() == 0.0
    # the last covered frames' windows run past the track's end into silence, as at the end of any video
    assert np.abs(padded.window(49)[int(0.05 * SAMPLE_RATE):]).max() == 0.0


def test_no_audio_track(tmp_path):
    path = tmp_path / "silent.mp4"
    write_video(path, frames(10))
    with pytest.raises(DataError) as err:
        open_frame_audio(path)
    assert "has no audio track" in str(err.value) and "\n" not in str(err.value)
    audio = open_frame_audio(path, missing="silence")
    assert audio.windows(range(10)).shape == (10, WINDOW) and not audio.windows(range(10)).any()


def test_frame_folders_take_a_separate_sound_file(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames(5)):
        Image.fromarray(frame).save(folder / f"{i}.jpg")
    with pytest.raises(DataError, match="carries no sound"):
        open_frame_audio(folder, fps=1)
    with pytest.raises(DataError, match="without a frame rate"):
        open_frame_audio(folder, missing="silence")
    wav = tmp_path / "audio.wav"
    with av.open(str(wav), "w") as container:  # a plain PCM .wav at 22.05 kHz
        stream = container.add_stream("pcm_s16le", rate=22050, layout="mono")
        signal = tones([(2.0, 3.0, 300)], 5.0, rate=22050)
        frame = av.AudioFrame.from_ndarray(np.round(signal * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = 22050
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    audio = open_frame_audio(folder, audio=wav, fps=1)  # frame k hears second k, as AVSBench
    assert audio.times.tolist() == [0, 1, 2, 3, 4]
    assert np.abs(audio.window(1)).max() < 0.01 and peak_frequency(audio.window(2)) == pytest.approx(300, abs=2)
    assert np.abs(open_frame_audio(folder, fps=1, missing="silence").window(2)).max() == 0.0


def test_stereo_is_averaged_and_centre_anchoring(tmp_path):
    path = write_video_with_audio(tmp_path / "stereo.mkv", frames(50), 25, tones([(0.0, 2.0, 250)], 2.0), RATE_IN, channels=2)
    track = read_audio(path)
    assert np.abs(track.samples).max() == pytest.approx(0.5, abs=0.01)  # mean of L and R, as VGGish mixes
    audio = open_frame_audio(path, window=0.5, anchor="center")
    centre = audio.times[20] + 0.02  # frame 20 is shown for 40 ms
    assert np.allclose(audio.window(20), track.segment(centre - 0.25, 0.5))
    with pytest.raises(InputError, match="anchor"):
        open_frame_audio(path, anchor="middle")


def _independent_decode(path: Path) -> tuple[np.ndarray, int]:
    """(N,) mean over channels at the stream's own rate, straight from the decoder."""
    with av.open(str(path)) as container:
        planes = [f.to_ndarray().astype(np.float64) for f in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    return np.concatenate(planes, axis=1).mean(axis=0), rate


@pytest.mark.parametrize("name, fps", [("0BLiYNtFSjA.mp4", 24000 / 1001), ("0meOlo03O3g.mp4", 30)])
def test_real_clips_with_sound(shared_data, name, fps):
    path = shared_data / "videos" / name
    audio = open_frame_audio(path)
    assert audio.track.duration == pytest.approx(5.0, abs=0.01) and audio.track.start == 0.0
    assert len(audio.times) == round(5 * fps) and np.allclose(np.diff(audio.times), 1 / fps, atol=1e-4)
    reference, rate = _independent_decode(path)
    for second in range(5):  # loudness of every second agrees with the decoder's own samples at 44.1 kHz
        ours = audio.track.segment(second, 1.0)
        theirs = reference[second * rate:(second + 1) * rate]
        assert np.sqrt(np.mean(ours ** 2)) == pytest.approx(np.sqrt(np.mean(theirs ** 2)), rel=0.03)
    windows = audio.windows(range(len(audio.times)))
    assert windows.shape == (len(audio.times), WINDOW) and (np.abs(windows).max(axis=1) > 0.01).all()
