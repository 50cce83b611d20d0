"""What `segment` refuses, and the hints it gives, so that no run produces silent nonsense: an untrained
head, class names CLIP would cut, a frame rate that is not positive, CLIP weights given as a checkpoint, a
checkpoint loaded with another CLIP; and what it accepts: a training run's folder as --checkpoint, VSPW's
<video>/origin folders named after the video."""
from __future__ import annotations

import json

import pytest
import torch
from segment_reference import scene, write_video

from openvidseg.cli import main
from openvidseg.errors import InputError, WeightsError
from openvidseg.models import create_model, load_weights, save_model


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "clip.mp4", scene(3))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A training run's folder stand-in holding ov2vss_tiny's (random) head as its final model."""
    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("run")
    save_model(create_model("ov2vss_tiny"), run / "model.safetensors")
    return run


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """A CLIP model folder (hub layout) whose sizes differ from random:tiny's: projection 48 instead of 32."""
    from transformers import CLIPModel

    from openvidseg.clip.random_clip import byte_tokenizer, random_clip_config

    folder = tmp_path_factory.mktemp("clip-other")
    config = random_clip_config("tiny")
    config.projection_dim = 48
    CLIPModel(config).save_pretrained(folder)
    byte_tokenizer().save_pretrained(folder)
    return folder


def error_of(capsys, *args) -> tuple[int, str]:
    code = main(["segment", *map(str, args)])
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return code, err


@pytest.mark.parametrize("model", ["ov2vss_tiny", "frame_tiny"])
def test_an_untrained_head_is_refused_unless_allowed(video, tmp_path, capsys, model):
    code, err = error_of(capsys, video, "--classes", "a, b", "--model", model, "--out", tmp_path, "--quiet")
    assert code == 2 and f"model '{model}' has a trainable head without trained weights" in err
    assert "--checkpoint" in err and "--model dense_clip_vitb16" in err and "--allow-untrained" in err
    assert not (tmp_path / "clip" / "summary.json").exists()
    assert main(["segment", str(video), "--classes", "a, b", "--model", model, "--out", str(tmp_path), "--quiet",
                 "--allow-untrained"]) == 0


def test_the_python_api_refuses_an_untrained_head_too(video, checkpoint):
    import openvidseg
    from openvidseg.inference.segment import load_segmenter

    with pytest.raises(InputError, match="allow_untrained=True"):
        load_segmenter("a, b", model="ov2vss_tiny")
    with pytest.raises(InputError, match="without trained weights"):
        next(openvidseg.segment_video(video, "a, b", model=create_model("frame_tiny")))
    assert len(list(openvidseg.segment_video(video, "a, b", model="frame_tiny", allow_untrained=True))) == 3
    load_segmenter("a, b", model="dense_clip_tiny")  # training-free: nothing to refuse
    load_segmenter("a, b", checkpoint=checkpoint)  # trained weights loaded
    trained = create_model("ov2vss_tiny")
    load_weights(trained, checkpoint / "model.safetensors")
    assert trained.trained_weights == str(checkpoint / "model.safetensors")
    load_segmenter("a, b", model=trained)


def test_a_training_run_folder_is_a_checkpoint(video, tmp_path, capsys, checkpoint):
    assert main(["segment", str(video), "--classes", "a, b", "--checkpoint", str(checkpoint), "--out", str(tmp_path),
                 "--quiet"]) == 0
    summary = json.loads((tmp_path / "clip" / "summary.json").read_text())
    assert summary["complete"] and summary["settings"]["model"] == "ov2vss_tiny"
    unfinished = tmp_path / "unfinished"
    save_model(create_model("frame_tiny"), unfinished / "checkpoints" / "latest" / "model.safetensors")
    code, err = error_of(capsys, video, "--classes", "a, b", "--checkpoint", unfinished, "--out", tmp_path / "o",
                         "--quiet")
    assert code == 1 and "holds no model.safetensors; the run did not finish" in err
    assert str(unfinished / "checkpoints" / "latest" / "model.safetensors") in err


def test_clip_weights_given_as_a_checkpoint_say_to_pass_them_as_clip(video, tmp_path, capsys, clip_folder):
    code, err = error_of(capsys, video, "--classes", "a, b", "--checkpoint", clip_folder / "model.safetensors",
                         "--out", tmp_path, "--quiet")
    assert code == 1 and "it holds CLIP weights: pass them with --clip" in err
    with pytest.raises(WeightsError) as caught:  # loaded directly: a count and a few keys, not hundreds of lines
        load_weights(create_model("ov2vss_tiny"), clip_folder / "model.safetensors")
    assert "holds CLIP weights, not a trained 'ov2vss_tiny'" in str(caught.value)
    assert len(str(caught.value).splitlines()) <= 10


def test_a_checkpoint_loaded_with_another_clip_says_the_clip_differs(video, tmp_path, capsys, checkpoint, clip_folder):
    code = main(["segment", str(video), "--classes", "a, b", "--checkpoint", str(checkpoint), "--clip", str(clip_folder),
                 "--out", str(tmp_path), "--quiet"])
    first = capsys.readouterr().err.strip().splitlines()[0]
    assert code == 1 and "was trained with CLIP 'random:tiny'" in first and f"CLIP '{clip_folder}', which differs" in first


def test_a_checkpoint_with_a_clip_of_other_depth_but_same_shapes_says_the_clip_differs(video, tmp_path, capsys,
                                                                                      checkpoint):
    """random:tiny has 4 vision layers; a 2-layer CLIP of the same widths loads without a shape error, so the
    architecture saved in model.json is what tells them apart."""
    from transformers import CLIPModel

    from openvidseg.clip.random_clip import byte_tokenizer, random_clip_config

    shallow = tmp_path / "clip-2-layers"
    config = random_clip_config("tiny")
    config.vision_config.num_hidden_layers = 2
    CLIPModel(config).save_pretrained(shallow)
    byte_tokenizer().save_pretrained(shallow)
    code, err = error_of(capsys, video, "--classes", "a, b", "--checkpoint", checkpoint, "--clip", shallow,
                         "--out", tmp_path / "out", "--quiet")
    assert code == 1 and "was trained with CLIP 'random:tiny' (CLIP ViT (width 64, 4 layers" in err
    assert f"'{shallow}', differs (CLIP ViT (width 64, 2 layers" in err and not (tmp_path / "out" / "clip" / "summary.json").exists()


def test_class_names_too_long_for_clip_are_refused_before_any_frame(video, tmp_path, capsys):
    """The tiny CLIP's byte tokenizer makes one token per byte: two names of 90 letters that differ only at
    the end would be cut to the same 77 tokens, i.e. become one class."""
    long = "a very long description of a striped cat that sits on a wooden chair next to the window "
    code, err = error_of(capsys, video, "--classes", f"{long}A, {long}B, dog", "--model", "dense_clip_tiny",
                         "--out", tmp_path, "--quiet")
    assert code == 2 and "is too long for CLIP" in err and "at most 77" in err and repr(long[:40] + "...") in err
    assert not (tmp_path / "clip" / "summary.json").exists()
    assert error_of(capsys, video, "--classes", "a striped cat, dog", "--model", "dense_clip_tiny", "--out",
                    tmp_path, "--quiet", "--max-frames", 1)[0] == 0


@pytest.mark.parametrize("fps", ["-3", "0", "nan"])
def test_a_frame_rate_must_be_positive(tmp_path, capsys, fps):
    from PIL import Image

    (tmp_path / "frames").mkdir()
    for i, frame in enumerate(scene(2)):
        Image.fromarray(frame).save(tmp_path / "frames" / f"{i:03d}.png")
    code, err = error_of(capsys, tmp_path / "frames", "--classes", "a, b", "--model", "dense_clip_tiny", "--fps", fps,
                         "--out", tmp_path / "out")
    assert code == 2 and f"frame rate {float(fps):g}: use a number of frames per second above 0" in err
    assert not (tmp_path / "out").exists()


def test_vspw_style_folders_are_named_after_the_video(tmp_path, capsys):
    from PIL import Image

    from openvidseg.inference.output_folder import input_name

    for video in ("dog", "cat"):
        (tmp_path / video / "origin").mkdir(parents=True)
        Image.fromarray(scene(1)[0]).save(tmp_path / video / "origin" / "000.jpg")
    assert input_name(tmp_path / "dog" / "origin") == "dog" and input_name(f"{tmp_path}/cat/origin/*.jpg") == "cat"
    assert main(["segment", str(tmp_path / "dog" / "origin"), str(tmp_path / "cat" / "origin"), "--classes", "a, b",
                 "--model", "dense_clip_tiny", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["cat", "dog"]
    assert f"{tmp_path / 'out' / 'dog'}: 1 frame, complete" in out  # one frame, not "1 frames"
