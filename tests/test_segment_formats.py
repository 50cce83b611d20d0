"""What `segment` writes besides palette PNGs: --format npz and coco-rle (checked against the PNG masks of the
same run and, for COCO, read back through pycocotools' own COCO API), --save-scores (float16
probabilities), timeline.csv (against shares counted from the masks), the input's sound in overlay.mp4
(packets copied as they are), and --resume with every format equal to an uninterrupted run."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import av
import numpy as np
import pytest
from segment_reference import CLASSES, read_masks, scene, write_video
from test_segment_resume import interrupt_at

from openvidseg.cli import main

# --speed quality: the random tiny model gives varied class maps through its windows (one class in one pass)
TINY = ["--classes", ", ".join(CLASSES), "--model", "dense_clip_tiny", "--speed", "quality", "--quiet"]


def segment(*args) -> int:
    return main(["segment", *map(str, args)])


def write_video_with_sound(path: Path, frames: list[np.ndarray], fps: int = 25, codec: str = "aac",
                           container_format: str | None = None) -> Path:
    """A video with a 440 Hz tone (mono, 44.1 kHz) as long as its frames."""
    rate = 44100
    with av.open(str(path), "w", format=container_format) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        audio = out.add_stream(codec, rate=rate)
        audio.layout = "mono"
        samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(rate * len(frames) // fps) / rate)).astype(np.float32)
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        chunk = audio.frame_size or 1024
        pts = 0
        for start in range(0, len(samples), chunk):
            block = samples[start: start + chunk]
            sound = av.AudioFrame.from_ndarray(block[None, :].astype(np.float32), format="flt", layout="mono")
            sound.sample_rate, sound.pts = rate, pts
            pts += len(block)
            for converted in av.AudioResampler(format=audio.format, layout="mono", rate=rate).resample(sound):
                for packet in audio.encode(converted):
                    out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "walk.mp4", scene(20))


@pytest.fixture(scope="module")
def reference(video, tmp_path_factory):
    """The PNG masks of the same run: the reference every other format must give back."""
    out = tmp_path_factory.mktemp("png")
    assert segment(video, *TINY, "--no-video", "--out", out) == 0
    masks = read_masks(out / "walk")
    assert len(masks) == 20 and len(np.unique(np.stack(masks))) > 1
    return masks


def test_npz_masks_equal_the_png_masks(video, reference, tmp_path):
    assert segment(video, *TINY, "--no-video", "--format", "npz", "--out", tmp_path) == 0
    files = sorted((tmp_path / "walk" / "masks").iterdir())
    assert [f.name for f in files] == [f"{i:05d}.npz" for i in range(20)]
    for file, expected in zip(files, reference):
        with np.load(file) as archive:
            assert list(archive) == ["labels"] and archive["labels"].dtype == np.uint8
            np.testing.assert_array_equal(archive["labels"], expected)


def test_coco_rle_annotations_read_back_through_pycocotools(video, reference, tmp_path):
    from pycocotools.coco import COCO

    assert segment(video, *TINY, "--no-video", "--format", "coco-rle", "--out", tmp_path) == 0
    out = tmp_path / "walk"
    assert not (out / "masks").exists()  # the per-frame RLEs are gathered into annotations.json
    coco = COCO(str(out / "annotations.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == CLASSES
    assert sorted(coco.getImgIds()) == list(range(1, 21))
    for index, expected in enumerate(reference):
        labels = np.full(expected.shape, 255, np.uint8)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=[index + 1]))
        assert sorted(a["category_id"] - 1 for a in annotations) == sorted(k for k in np.unique(expected) if k != 255)
        for annotation in annotations:
            mask = coco.annToMask(annotation).astype(bool)
            assert annotation["area"] == mask.sum()
            ys, xs = np.nonzero(mask)
            assert annotation["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
            labels[mask] = annotation["category_id"] - 1
        np.testing.assert_array_equal(labels, expected)


def test_label_map_rles_equal_pycocotools_encoding_of_each_mask():
    from openvidseg.data.rle import encode_label_map, encode_masks

    rng = np.random.default_rng(0)
    blobs = np.kron(rng.integers(0, 6, (5, 7), dtype=np.uint8), np.ones((9, 11), np.uint8))
    for labels in (blobs, blobs[:, ::-1].copy(), np.full((4, 6), 3, np.uint8), rng.integers(0, 3, (13, 17)).astype(np.uint8)):
        values = [int(v) for v in np.unique(labels)] + [99]  # a value that is absent: an empty mask
        assert encode_label_map(labels, values) == encode_masks(np.stack([labels == v for v in values]))


def test_scores_are_float16_probabilities_whose_argmax_is_the_mask(video, reference, tmp_path):
    assert segment(video, *TINY, "--no-video", "--save-scores", "--out", tmp_path) == 0
    files = sorted((tmp_path / "walk" / "scores").iterdir())
    assert len(files) == 20
    for file, expected in zip(files, reference):
        with np.load(file) as archive:
            probabilities = archive["probabilities"]
        assert probabilities.dtype == np.float16 and probabilities.shape == (len(CLASSES), 64, 96)
        np.testing.assert_allclose(probabilities.astype(np.float32).sum(axis=0), 1.0, atol=5e-3)
        agree = (probabilities.argmax(axis=0) == expected).mean()
        assert agree > 0.99  # float16 rounding may split a near tie


def test_timeline_holds_the_class_shares_of_every_frame(video, reference, tmp_path):
    assert segment(video, *TINY, "--no-video", "--no-masks", "--out", tmp_path) == 0
    with open(tmp_path / "walk" / "timeline.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["frame", "time_s", *CLASSES, "no class"]
    assert len(rows) == 21
    for row, expected in zip(rows[1:], reference):
        frame, time = int(row[0]), float(row[1])
        assert time == pytest.approx(frame / 25.0, abs=1e-3)
        shares = [float(v) for v in row[2:]]
        counted = [(expected == k).mean() for k in (*range(len(CLASSES)), 255)]
        assert shares == pytest.approx(counted, abs=1e-6)


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return sum(frame.samples / frame.sample_rate for frame in container.decode(audio=0))


def test_the_input_sound_is_copied_into_the_overlay(tmp_path):
    frames = scene(25)
    source = write_video_with_sound(tmp_path / "tone.mp4", frames)
    assert segment(source, *TINY, "--no-masks", "--out", tmp_path / "out") == 0
    overlay = tmp_path / "out" / "tone" / "overlay.mp4"
    copied, original = audio_packets(overlay), audio_packets(source)
    assert len(copied) >= len(original) - 2 and copied[:20] == original[:20]  # the very packets, not re-encoded
    assert audio_seconds(overlay) == pytest.approx(1.0, abs=0.05)
    assert segment(source, *TINY, "--no-masks", "--max-frames", 10, "--out", tmp_path / "cut") == 0
    assert audio_seconds(tmp_path / "cut" / "tone" / "overlay.mp4") == pytest.approx(0.4, abs=0.05)  # as the video
    assert segment(source, *TINY, "--no-masks", "--no-audio", "--out", tmp_path / "mute") == 0
    with av.open(str(tmp_path / "mute" / "tone" / "overlay.mp4")) as container:
        assert not container.streams.audio


def test_sound_mp4_cannot_hold_is_re_encoded_as_aac(tmp_path):
    source = write_video_with_sound(tmp_path / "tone.mkv", scene(25), codec="pcm_s16le", container_format="matroska")
    assert segment(source, *TINY, "--no-masks", "--out", tmp_path / "out") == 0
    overlay = tmp_path / "out" / "tone" / "overlay.mp4"
    with av.open(str(overlay)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    assert audio_seconds(overlay) == pytest.approx(1.0, abs=0.06)


def test_the_real_clip_with_sound_keeps_it(shared_data, tmp_path):
    clip = shared_data / "videos" / "0BLiYNtFSjA.mp4"
    assert segment(clip, *TINY, "--no-masks", "--max-frames", 24, "--out", tmp_path) == 0
    overlay = tmp_path / "0BLiYNtFSjA" / "overlay.mp4"
    with av.open(str(overlay)) as container:
        [audio] = container.streams.audio
        assert audio.codec_context.name == "aac" and audio.codec_context.sample_rate == 44100
    assert audio_seconds(overlay) == pytest.approx(24 / 23.976, abs=0.05)
    assert audio_packets(overlay)[:10] == audio_packets(clip)[:10]


@pytest.mark.parametrize("fmt", ["png", "npz", "coco-rle"])
def test_resume_with_every_format_equals_an_uninterrupted_run(video, tmp_path, monkeypatch, capsys, fmt):
    args = [*TINY, "--format", fmt, "--save-scores", "--no-video"]
    assert segment(video, *args, "--out", tmp_path / "whole") == 0
    with monkeypatch.context() as patch:
        interrupt_at(patch, 9)
        assert segment(video, *args, "--out", tmp_path / "cut") == 130
    capsys.readouterr()
    assert segment(video, *args, "--out", tmp_path / "cut", "--resume") == 0
    whole, cut = tmp_path / "whole" / "walk", tmp_path / "cut" / "walk"
    summary = json.loads((cut / "summary.json").read_text())
    assert summary["complete"] and summary["resumed_from"] == 9 and summary["settings"]["format"] == fmt
    names = sorted(p.relative_to(whole) for p in whole.rglob("*") if p.is_file())
    assert sorted(p.relative_to(cut) for p in cut.rglob("*") if p.is_file()) == names
    for name in names:
        if name.name == "summary.json":
            continue
        if name.suffix == ".npz":
            with np.load(whole / name) as a, np.load(cut / name) as b:
                assert all(np.array_equal(a[k], b[k]) for k in a), name
        else:
            assert (whole / name).read_bytes() == (cut / name).read_bytes(), name
    assert segment(video, *TINY, "--format", "npz" if fmt != "npz" else "png", "--save-scores", "--no-video",
                   "--out", tmp_path / "cut", "--resume") == 2
    assert "format: " in capsys.readouterr().err  # another format is another output: not resumed
