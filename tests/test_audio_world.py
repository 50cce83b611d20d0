"""The synthetic audio-visual world: AVSBench layout, sounds that say what sounds, novel classes kept out of
training, test videos as MP4s with sound."""
from __future__ import annotations

import json

import numpy as np
import pytest

from openvidseg.data.audio import open_frame_audio, read_audio
from openvidseg.data.avsbench import AVSBenchDataset
from openvidseg.data.avsbench_layout import dataset_classes, read_colour_mask, read_metadata
from openvidseg.data.check import check_dataset
from openvidseg.demo.audio_world import SEEN_FILE, SILENT_FILE, VIDEO_DIR, AudioWorldSpec, write_audio_world
from openvidseg.demo.sounds import TIMBRES, tone


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("avworld")
    spec = AudioWorldSpec(train_videos=6, test_videos=6, novel_share=1.0)
    write_audio_world(spec, root)
    return spec, root


def energy_at(second: np.ndarray, hz: float, rate: int = 16_000) -> float:
    """The amplitude of the band hz +- 40 Hz (a pure tone of amplitude A gives A / 2)."""
    spectrum = np.abs(np.fft.rfft(second))
    centre = int(round(hz * len(second) / rate))
    return float(np.sqrt((spectrum[max(centre - 40, 0):centre + 41] ** 2).sum()) / len(second))


def test_layout_classes_and_split(world):
    spec, root = world
    assert check_dataset(root, kind="avsbench").clean
    names = dataset_classes(root)
    assert len(names) == 16 and names[0] == "red-circle" and "red-star" in spec.novel_names()
    assert json.loads((root / SEEN_FILE).read_text()) == spec.base_names() and len(spec.base_names()) == 12
    videos = read_metadata(root)
    novel = set(spec.novel_names())
    for video in videos:
        ids = {int(i) for k in video.labelled_frames for i in np.unique(read_colour_mask(video.mask_path(k), 17))}
        shown = {names[i - 1] for i in ids if i}
        assert shown == set(video.objects)  # metadata lists exactly the classes that sound
        if video.split == "train":
            assert not shown & novel
    assert any(set(v.objects) & novel for v in videos if v.split == "test")
    train = AVSBenchDataset(root, "train", training=True, class_split=str(root / SEEN_FILE))
    assert len(train) == 6 * 5 and train.class_names[0] == "red circle"


def test_silent_distractors_are_shown_but_never_masked(world):
    """About half of a video's objects never sound: seeing a shape does not say it sounds."""
    spec, root = world
    silent = json.loads((root / SILENT_FILE).read_text())
    distractors = sources = 0
    for video in read_metadata(root):
        masked = {int(i) for k in video.labelled_frames for i in np.unique(read_colour_mask(video.mask_path(k), 17))}
        names = {dataset_classes(root)[i - 1] for i in masked if i}
        for name, shown in silent[video.uid].items():
            assert name not in names and shown and set(shown) <= set(range(5)), (video.uid, name)
        distractors += len(silent[video.uid])
        sources += len(names)
    assert sources > 0 and distractors >= 0.6 * sources, (distractors, sources)


def test_what_sounds_is_what_is_masked(world):
    spec, root = world
    names = dataset_classes(root)
    checked = 0
    for video in read_metadata(root)[:8]:
        track = read_audio(video.audio_path).samples
        for k in range(5):
            second = track[k * 16_000:(k + 1) * 16_000]
            sounding = {names[i - 1] for i in np.unique(read_colour_mask(video.mask_path(k), 17)) if i}
            pitches = {spec.signature(n)[0] for n in sounding}
            for pitch in spec.pitches:
                loud = energy_at(second, pitch)
                if pitch in pitches:
                    assert loud > 0.03, (video.uid, k, pitch)
                    checked += 1
                elif all(abs(pitch - p * n) > 60 for p in pitches for n in (1, 2, 3, 5, 7)):  # not a harmonic
                    assert loud < 0.01, (video.uid, k, pitch)
    assert checked > 20


def test_timbres_differ():
    rng = np.random.default_rng(0)
    waves = {t: tone(392.0, t, 1.0, 16_000, rng) for t in TIMBRES}
    third = {t: energy_at(w, 3 * 392.0) / energy_at(w, 392.0) for t, w in waves.items()}
    assert third["pure"] < 0.01 and third["odd"] > 0.2 and third["vibrato"] > 0.05  # odd harmonics, vibrato's 3rd
    loudness = {t: np.sqrt((w.reshape(100, 160) ** 2).mean(axis=1)) for t, w in waves.items()}  # per 10 ms
    assert loudness["pulsed"].max() > 10 * loudness["pulsed"].min()  # swells and fades
    assert loudness["pure"].max() < 1.2 * loudness["pure"].min()


def test_test_videos_play_with_their_sound(world):
    _, root = world
    clip = next((root / VIDEO_DIR).glob("*.mp4"))
    audio = open_frame_audio(clip)
    assert len(audio.times) == 5 and audio.frame_duration == pytest.approx(1.0)
    assert audio.windows(range(5)).std() > 0.05
