"""`openvidseg segment` end to end on generated videos (and bedroom.mp4 when present): one output per
frame, an overlay with the video's count, size and fps, valid mask values, a summary that adds up,
batches, frame folders and globs, other pixel formats and odd sizes, and the Python API."""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
from PIL import Image
from segment_reference import CLASSES, check_output, decode, read_masks, scene, write_video

import openvidseg
from openvidseg.cli import main
from openvidseg.inference.predictor import VideoPredictor
from openvidseg.viz import class_colors, overlay_frame

TINY = ["--model", "dense_clip_tiny", "--quiet"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return write_video(folder / "street.mp4", scene(16), rate=20)


def segment(*args: str) -> int:
    return main(["segment", *map(str, args)])


def test_outputs_match_the_video_and_the_summary_adds_up(video, tmp_path, capsys):
    assert segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path, *TINY) == 0
    out = tmp_path / "street"
    summary = check_output(out, 16, 64, 96, 20.0, CLASSES)
    assert f"{out}: 16 frames, complete" in capsys.readouterr().out
    settings = summary["settings"]
    assert settings["model"] == "dense_clip_tiny" and settings["clip"] == "random:tiny"
    # the default profile (balanced) runs the dense model in one pass at its window size (64 for the tiny model)
    assert (settings["size"], settings["precision"], settings["device"], settings["checkpoint"]) == (64, "fp32", "cpu", None)
    assert (settings["speed"], settings["keyframe_interval"]) == ("balanced", 1)
    assert settings["classes"] == CLASSES and summary["openvidseg_version"] == openvidseg.__version__
    assert summary["elapsed_s"] > 0 and summary["frames_per_s"] > 0 and summary["declared_frames"] == 16
    assert json.loads((out / "classes.json").read_text())["colors"] == class_colors(3).tolist()
    # the overlay shows the masks blended over the frames (H.264 is lossy: compare on average)
    overlay, _ = decode(out / "overlay.mp4")
    source, _ = decode(video)
    masks = read_masks(out)
    for t in (0, 9, 15):
        expected = overlay_frame(source[t], masks[t], CLASSES, class_colors(3)).astype(float)
        assert np.abs(overlay[t] - expected).mean() < 4 < np.abs(overlay[t] - source[t].astype(float)).mean()


def test_the_api_yields_the_masks_the_command_wrote(video, tmp_path):
    segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path, *TINY)
    stream = openvidseg.segment_video(video, CLASSES, model="dense_clip_tiny")
    assert isinstance(stream, types.GeneratorType)  # lazy: frames are decoded as it is consumed
    pairs = list(stream)
    assert [i for i, _ in pairs] == list(range(16))
    assert all(labels.dtype == np.uint8 and labels.shape == (64, 96) for _, labels in pairs)
    assert all(np.array_equal(a, b) for (_, a), b in zip(pairs, read_masks(tmp_path / "street")))
    summary = openvidseg.write_segmentation(video, ", ".join(CLASSES), tmp_path / "api", model="dense_clip_tiny",
                                            video=False, max_frames=5)
    assert summary["complete"] and summary["frames"] == 5 and summary["settings"]["max_frames"] == 5
    assert all(np.array_equal(a, b) for a, b in zip(read_masks(tmp_path / "api"), read_masks(tmp_path / "street")))


def test_min_confidence_marks_unsure_pixels_as_no_class(video, tmp_path):
    from openvidseg.models import create_model

    model = create_model("dense_clip_tiny")
    predictor = VideoPredictor(model, CLASSES, short_side=96, return_logits=True)
    first = next(iter(predictor.run(decode(video)[0][:1])))
    confidence = first.logits.softmax(dim=0).amax(dim=0)
    threshold = float(confidence.median())  # about half of frame 0's pixels fall below
    assert segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path, "--min-confidence", threshold,
                   "--speed", "quality", *TINY) == 0  # quality: the model's own windows, as built above
    summary = check_output(tmp_path / "street", 16, 64, 96, 20.0, CLASSES)
    mask = read_masks(tmp_path / "street")[0]
    below = (confidence < threshold).numpy()
    assert 0 < below.sum() < below.size and np.array_equal(mask == 255, below)
    assert np.array_equal(mask[~below], first.labels.numpy()[~below])
    assert 0 < summary["no_class_share"] < 1


def test_switching_parts_off_keeps_the_statistics(video, tmp_path):
    classes = ", ".join(CLASSES)
    assert segment(video, "--classes", classes, "--out", tmp_path / "full", *TINY) == 0
    assert segment(video, "--classes", classes, "--out", tmp_path / "nov", "--no-video", *TINY) == 0
    assert segment(video, "--classes", classes, "--out", tmp_path / "nom", "--no-masks", *TINY) == 0
    full = check_output(tmp_path / "full" / "street", 16, 64, 96, 20.0, CLASSES)
    no_video = check_output(tmp_path / "nov" / "street", 16, 64, 96, 20.0, CLASSES, overlay=False)
    no_masks = check_output(tmp_path / "nom" / "street", 16, 64, 96, 20.0, CLASSES, masks=False)
    assert full["classes"] == no_video["classes"] == no_masks["classes"]


def test_a_batch_loads_one_model_and_gives_each_input_its_own_folder(tmp_path, monkeypatch):
    import openvidseg.inference.segment as segment_module

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        write_video(tmp_path / name / "clip.mp4", scene(6))
    frames = tmp_path / "shots" / ".hidden:take"
    frames.mkdir(parents=True)
    for i, image in enumerate(scene(5, 48, 40)):
        Image.fromarray(image).save(frames / f"f{i}.png")
    builds = []
    build = segment_module.build_segment_model
    monkeypatch.setattr(segment_module, "build_segment_model", lambda *a, **k: builds.append(a) or build(*a, **k))
    inputs = [tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4", frames, f"{frames}/f*.png"]
    assert segment(*inputs, "--classes", "red, blue", "--out", tmp_path / "out", "--fps", 12, *TINY) == 0
    assert len(builds) == 1
    folders = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert folders == ["clip", "clip-2", "hidden_take", "hidden_take-2"]  # no leading dot, no ':'
    check_output(tmp_path / "out" / "clip-2", 6, 64, 96, 25.0, ["red", "blue"])
    for name in ("hidden_take", "hidden_take-2"):  # the folder and the glob: same frames, labelled 12 fps
        check_output(tmp_path / "out" / name, 5, 48, 40, 12.0, ["red", "blue"])
    assert all(np.array_equal(a, b) for a, b in zip(read_masks(tmp_path / "out" / "hidden_take"),
                                                    read_masks(tmp_path / "out" / "hidden_take-2")))


@pytest.mark.parametrize("name, codec, pix_fmt, fmt, shape", [
    ("gray.mkv", "ffv1", "gray", "gray", (48, 64)),
    ("rgba.mov", "png", "rgba", "rgba", (48, 64, 4)),
    ("ten_bit.mp4", "libx264", "yuv420p10le", "rgb24", (48, 64, 3)),
    ("odd.mp4", "libx264", "yuv444p", "rgb24", (47, 63, 3)),
])
def test_other_pixel_formats_and_odd_sizes_work(tmp_path, name, codec, pix_fmt, fmt, shape):
    base = np.zeros(shape, np.uint8)
    base[:, shape[1] // 2 :] = 180
    if len(shape) == 3 and shape[2] == 4:
        base[..., 3] = 255
    path = write_video(tmp_path / name, [base] * 4, codec=codec, pix_fmt=pix_fmt, fmt=fmt)
    assert segment(path, "--classes", "dark, bright", "--out", tmp_path / "out", *TINY) == 0
    check_output(tmp_path / "out" / path.stem, 4, shape[0], shape[1], 25.0, ["dark", "bright"])


def test_background_is_added_only_when_asked(video, tmp_path):
    assert segment(video, "--classes", "red wall, blue sky", "--background", "--out", tmp_path, "--no-video", *TINY) == 0
    check_output(tmp_path / "street", 16, 64, 96, 20.0, ["red wall", "blue sky", "background"], overlay=False)


def test_classes_file(video, tmp_path):
    (tmp_path / "classes.txt").write_text("# what to look for\nred wall\n\n  blue sky  # the top\ngreen ball\n")
    assert segment(video, "--classes-file", tmp_path / "classes.txt", "--out", tmp_path / "o", "--no-video", *TINY) == 0
    check_output(tmp_path / "o" / "street", 16, 64, 96, 20.0, CLASSES, overlay=False)


def test_bedroom_video(shared_data, tmp_path):
    path = shared_data / "videos" / "bedroom.mp4"
    if not path.is_file():
        pytest.skip(f"{path} not present")
    classes = ["bed", "wall", "floor", "lamp"]
    assert segment(path, "--classes", ", ".join(classes), "--out", tmp_path, "--max-frames", 12, "--size", 64, *TINY) == 0
    summary = check_output(tmp_path / "bedroom", 12, 540, 960, 30.0, classes)
    assert summary["declared_frames"] == 200 and summary["settings"]["size"] == 64
