"""Bad input to `openvidseg segment`: each gives one clear line naming the problem and the fix, a non-zero
exit and no traceback, and nothing is loaded or written before the inputs and outputs are checked."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from segment_reference import scene, write_video

from openvidseg.cli import main

TINY = ["--model", "dense_clip_tiny", "--quiet"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "clip.mp4", scene(4))


def error_of(capsys, *args) -> tuple[int, str]:
    """Exit code and stderr of an in-process run, checking stderr is one line without a traceback."""
    code = main(["segment", *map(str, args)])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return code, err


@pytest.mark.parametrize("classes, message", [
    ("person,, dog", "empty class name at position 2 of --classes"),
    ("person, dog,", "empty class name at position 3"),
    ("Dog, cat, dog", "duplicate class names in --classes: Dog/dog"),
    ("a, b, a, c, b", "duplicate class names in --classes: a, b"),
    ("sky\x07, dog", "holds control characters"),
])
def test_bad_class_lists(video, tmp_path, capsys, classes, message):
    code, err = error_of(capsys, video, "--classes", classes, "--out", tmp_path, *TINY)
    assert code == 2 and message in err
    assert not (tmp_path / "clip").exists()  # nothing written


def test_background_listed_twice_and_empty_class_files(video, tmp_path, capsys):
    code, err = error_of(capsys, video, "--classes", "dog, Background", "--background", "--out", tmp_path, *TINY)
    assert code == 2 and "'background' is already in --classes and --background adds it again" in err
    (tmp_path / "none.txt").write_text("# nothing yet\n\n")
    code, err = error_of(capsys, video, "--classes-file", tmp_path / "none.txt", "--out", tmp_path, *TINY)
    assert code == 2 and "lists no classes" in err
    code, err = error_of(capsys, video, "--classes-file", tmp_path / "missing.txt", "--out", tmp_path, *TINY)
    assert code == 2 and "class file not found" in err


def test_bad_inputs(tmp_path, capsys):
    (tmp_path / "notes.mp4").write_text("these are not frames\n" * 50)
    data = write_video(tmp_path / "full.mp4", scene(10), options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "empty.mp4").write_bytes(data[: data.find(b"mdat") + 4])
    (tmp_path / "no_images").mkdir()
    cases = [
        (tmp_path / "nothing.mp4", "no such video file, frame folder or glob"),
        (tmp_path / "notes.mp4", "as a video"),
        (tmp_path / "empty.mp4", "zero frames"),
        (tmp_path / "no_images", "holds no frames"),
        (f"{tmp_path}/none_*.png", "no image files match"),
    ]
    for source, message in cases:
        code, err = error_of(capsys, tmp_path / "full.mp4", source, "--classes", "a, b", "--out", tmp_path / "o", *TINY)
        assert code == 1 and message in err and str(source).split("/")[-1] in err  # a failed input, not usage
        assert not (tmp_path / "o").exists()  # every input is checked before anything is written


def test_unknown_model_lists_close_matches(video, tmp_path, capsys):
    code, err = error_of(capsys, video, "--classes", "a, b", "--out", tmp_path, "--model", "dense_clip_tinny", "--quiet")
    assert code == 2 and "unknown model 'dense_clip_tinny'. Did you mean: dense_clip_tiny" in err


def test_unwritable_output_folder(video, tmp_path, capsys):
    (tmp_path / "file").write_text("a file, not a folder")
    code, err = error_of(capsys, video, "--classes", "a, b", "--out", tmp_path / "file" / "out", *TINY)
    assert code == 2 and "cannot write to output folder" in err and "choose a writable --out" in err
    code, err = error_of(capsys, video, "--classes", "a, b", "--out", tmp_path / "file", *TINY)
    assert code == 2 and "cannot write to output folder" in err


def test_bad_numbers(video, tmp_path, capsys):
    for option, value, message in [("--size", 4, "size 4 is too small"), ("--alpha", 1.5, "opacity"),
                                   ("--memory-interval", 0, "memory interval 0"),
                                   ("--min-confidence", 1, "minimum confidence 1.0"), ("--max-frames", 0, "max frames 0")]:
        code, err = error_of(capsys, video, "--classes", "a, b", "--out", tmp_path / option, option, value, *TINY)
        assert code == 2 and message in err, err


def test_a_checkpoint_of_another_model(video, tmp_path, capsys):
    from openvidseg.models import create_model, save_model

    torch.manual_seed(0)
    checkpoint = save_model(create_model("frame_tiny"), tmp_path / "frame" / "model.safetensors")
    code = main(["segment", str(video), "--classes", "a, b", "--out", str(tmp_path), "--model", "ov2vss_tiny",
                 "--checkpoint", str(checkpoint), "--quiet"])
    first, *keys = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and "Traceback" not in first
    assert first.startswith("openvidseg segment: error: checkpoint of 'frame_tiny' loaded into 'ov2vss_tiny'")
    assert "missing" in first and keys  # the strict load lists the keys below the first line
    missing = main(["segment", str(video), "--classes", "a, b", "--out", str(tmp_path), "--checkpoint",
                    str(tmp_path / "nothing.safetensors"), "--quiet"])
    assert missing == 1 and "checkpoint not found" in capsys.readouterr().err


def test_missing_clip_weights_offline_say_how_to_pass_a_path(video, tmp_path):
    """The default model on a hub CLIP that is neither cached nor downloadable, in a fresh process."""
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "openvidseg", "segment", str(video), "--classes", "a, b",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and "cannot get CLIP weights 'openai/clip-vit-base-patch16'" in error[0]
    assert "--clip /path/to/" in error[0] and "(hf download openai/clip-vit-base-patch16 --local-dir" in error[0]
