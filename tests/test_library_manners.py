"""The package as a library and as a command: top-level names, one image through `Segmenter.__call__`,
messages through the `openvidseg` logger (nothing printed by library code), tqdm.auto bars, `--device`
on train and eval, and exit codes that tell usage errors (2) from failed inputs (1)."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from segment_reference import scene, write_video

import openvidseg
from openvidseg.cli import main
from openvidseg.errors import EXIT_FAILED, EXIT_USAGE, InputError

SRC = Path(openvidseg.__file__).resolve().parent


@pytest.fixture(scope="module")
def segmenter():
    return openvidseg.load_segmenter("red, green, blue, yellow, black, white, grey, pink", model="dense_clip_tiny",
                                     device="cpu", speed="quality")  # windows: the random tiny model's map varies


def test_top_level_names_are_the_documented_entry_points():
    from openvidseg.inference.segment import Segmenter, load_segmenter
    from openvidseg.models.checkpoint import load_model

    assert openvidseg.load_model is load_model and openvidseg.load_segmenter is load_segmenter
    assert openvidseg.Segmenter is Segmenter
    assert {"load_model", "load_segmenter", "Segmenter", "segment_video"} <= set(dir(openvidseg))


def test_one_image_through_call_equals_the_one_frame_video_of_its_file(segmenter, tmp_path):
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)  # noise: several classes win
    Image.fromarray(frame).save(tmp_path / "frame.png")
    [(index, expected)] = list(openvidseg.segment_video(tmp_path / "frame.png", segmenter.class_names,
                                                         model=segmenter.model, device="cpu", speed="quality"))
    labels = segmenter(frame)
    assert index == 0 and labels.dtype == np.uint8 and labels.shape == (64, 96)
    np.testing.assert_array_equal(labels, expected)
    assert len(np.unique(labels)) > 1  # a class map, not a constant
    np.testing.assert_array_equal(segmenter(Image.fromarray(frame)), expected)  # PIL image
    np.testing.assert_array_equal(segmenter(tmp_path / "frame.png"), expected)  # image path
    np.testing.assert_array_equal(segmenter(frame.astype(np.float32) / 255), expected)  # float 0..1
    rgba = np.concatenate([frame, np.full((64, 96, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(segmenter(rgba), expected)  # alpha dropped
    gray = segmenter(frame[:, :, 1])
    assert gray.shape == (64, 96)


@pytest.mark.parametrize("image, message", [
    (np.zeros((4, 5, 2), np.uint8), "has shape (4, 5, 2)"),
    (np.full((4, 5, 3), 2.0, np.float32), "values 2..2: float images must lie in 0..1"),
    (np.zeros((4, 5, 3), np.int64), "has dtype int64"),
    ([1, 2, 3], "is a list"),
])
def test_bad_images_name_the_problem(segmenter, image, message):
    with pytest.raises(InputError, match=re.escape(message)):
        segmenter(image)


def test_library_code_prints_nothing_and_uses_tqdm_auto():
    """Static check over the package: print() only in the programs (the command line, the web app's server),
    progress bars from tqdm.auto."""
    import ast

    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        calls = [node for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)]
        if path.relative_to(SRC).parts[0] not in ("cli", "app") and any(  # any print() call, also inside a lambda
                isinstance(call.func, ast.Name) and call.func.id == "print" for call in calls):
            offenders.append(f"{path.name}: print")
        if re.search(r"^\s*(from tqdm import|import tqdm$)", text, re.M):
            offenders.append(f"{path.name}: tqdm (not tqdm.auto)")
    assert offenders == []


def test_library_messages_go_to_the_openvidseg_logger(caplog):
    from openvidseg.engine.logging_hook import LoggingHook

    hook = LoggingHook.__new__(LoggingHook)
    hook.enabled = True
    with caplog.at_level(logging.INFO, logger="openvidseg"):
        hook.message("training something")
    [record] = caplog.records
    assert record.name.startswith("openvidseg.") and record.getMessage() == "training something"


def test_the_command_line_shows_library_messages_on_stderr_and_quiet_hides_them(capsys):
    from openvidseg.log import configure_console

    logger = logging.getLogger("openvidseg.some.module")
    try:
        configure_console(quiet=False)
        logger.info("an info line")
        logger.warning("a warning line")
        err = capsys.readouterr().err
        assert err == "an info line\nwarning: a warning line\n"
        configure_console(quiet=True)
        logger.info("an info line")
        logger.warning("a warning line")
        assert capsys.readouterr().err == "warning: a warning line\n"
    finally:
        configure_console(quiet=False)


def test_usage_errors_exit_2_and_failed_inputs_exit_1(tmp_path, capsys):
    good = write_video(tmp_path / "good.mp4", scene(3))
    base = ["segment", "--model", "dense_clip_tiny", "--quiet", "--no-video"]
    with pytest.raises(SystemExit) as argparse_exit:  # argparse: an unknown option
        main([*base, str(good), "--classes", "a", "--no-such-option"])
    assert argparse_exit.value.code == EXIT_USAGE == 2
    assert main([*base, str(good), "--classes", "a,,b", "--out", str(tmp_path / "u")]) == EXIT_USAGE
    assert main([*base, str(good), "--classes", "a", "--out", str(tmp_path / "u"), "--model", "nope"]) == EXIT_USAGE
    assert main([*base, str(tmp_path / "missing.mp4"), "--classes", "a", "--out", str(tmp_path / "f")]) == EXIT_FAILED
    capsys.readouterr()
    # one input fails while being segmented (cut after its first frames), the other is done: exit 1
    data = write_video(tmp_path / "full.mp4", scene(30), options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.7)])
    code = main([*base, str(tmp_path / "cut.mp4"), str(good), "--classes", "a", "--out", str(tmp_path / "mixed")])
    assert code == EXIT_FAILED == 1 and "cut.mp4 is truncated" in capsys.readouterr().err
    assert len(list((tmp_path / "mixed" / "good" / "masks").glob("*.png"))) == 3


@pytest.mark.parametrize("command", ["train", "eval"])
def test_device_option_on_train_and_eval(command, tmp_path, capsys):
    """--device is checked (an unknown one is a usage error before anything is written) and recorded."""
    out = tmp_path / "run"
    extra = ["--checkpoint", str(tmp_path / "none.safetensors")] if command == "eval" else []
    code = main([command, "--config", "frame_tiny_synthetic", "--device", "tpu:3", *extra, f"output_dir={out}",
                 f"data.root={tmp_path / 'data'}"])
    assert code == EXIT_USAGE and "unknown device 'tpu:3'" in capsys.readouterr().err
    assert not out.exists()


def test_train_on_the_device_given(tmp_path, capsys):
    import json

    from openvidseg.config import load_config
    from train_helpers import overrides

    out = tmp_path / "run"
    assert main(["train", "--config", "frame_tiny_synthetic", "--device", "cpu", "--no-progress",
                 *overrides(tmp_path / "data", out, "train.max_iters=1")]) == 0
    assert load_config(out / "config.yaml").device == "cpu"
    assert json.loads((out / "environment.json").read_text())[0]["device"].startswith("cpu (")
    assert "training frame_tiny" in capsys.readouterr().err  # the engine's log line, through the logger


def test_pins_tell_the_truth():
    """pyproject's requirements hold for what is installed, torch's floor is at least the one transformers
    declares, transformers stays below its next major, and huggingface_hub is left to transformers' pin."""
    import importlib.metadata as metadata
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())["project"]
    requirements = {Requirement(r).name.replace("_", "-"): Requirement(r) for r in project["dependencies"]}
    for name, requirement in requirements.items():
        installed = metadata.version(name)
        assert requirement.specifier.contains(installed, prereleases=True), f"{name} {installed} vs {requirement}"
    floor = lambda spec: max(Version(s.version) for s in spec if s.operator == ">=")  # noqa: E731
    theirs = [q for q in map(Requirement, metadata.requires("transformers")) if q.name == "torch"]
    assert theirs and floor(requirements["torch"].specifier) >= max(floor(r.specifier) for r in theirs)
    assert not requirements["transformers"].specifier.contains("6.0")
    assert not requirements["transformers"].specifier.contains("4.57")
    assert str(requirements["huggingface-hub"].specifier) == ""
