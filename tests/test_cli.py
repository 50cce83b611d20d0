"""The command line: `info`, help, one-line errors, and the README/CI contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openvidseg.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_info_lists_versions_device_and_models(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("openvidseg", "torch", "transformers", "device", "cpu", "models", "presets"):
        assert word in out


def test_console_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "openvidseg", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("openvidseg ")


def test_user_errors_print_one_line_without_traceback(capsys):
    assert main(["info", "--device", "tpu:7"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "unknown device 'tpu:7'" in err and "Traceback" not in err


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    command = next(line.split("=", 1)[1].strip().strip("'\"") for line in ci.splitlines() if line.startswith("TEST_COMMAND="))
    assert command in readme


def test_help_lists_each_command_with_a_whole_sentence(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["--help"])
    listing = " ".join(capsys.readouterr().out.split())
    # the demo's first sentence spans two lines of its docstring: it is not cut at the first line's end
    assert "OV2VSS and baselines trained on seen classes and scored on unseen ones." in listing


def test_hints_name_the_option_of_the_command_given(tmp_path, capsys, monkeypatch):
    """Offline without a cached CLIP: `segment` says --clip PATH, `train` model.clip=PATH (it has no --clip),
    and both name the current download command (`hf download`, not the retired `huggingface-cli`)."""
    import huggingface_hub

    def offline(*args, **kwargs):
        raise huggingface_hub.errors.LocalEntryNotFoundError("offline")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    train = ["train", "--config", "frame_tiny_synthetic", "--no-progress", "model.clip=someone/clip-model",
             f"output_dir={tmp_path / 'run'}", f"data.root={tmp_path / 'data'}"]
    assert main(train) == 1  # weights not found: a failed input
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "hf download someone/clip-model --local-dir clip-model" in err
    assert "e.g. model.clip=/path/to/" in err and "--clip" not in err and "huggingface-cli" not in err
    assert not (tmp_path / "run").exists()
    from segment_reference import scene, write_video

    video = write_video(tmp_path / "clip.mp4", scene(2))
    segment = ["segment", str(video), "--classes", "a, b", "--clip", "someone/clip-model", "--out", str(tmp_path / "s"),
               "--quiet"]
    assert main(segment) == 1  # after `train` in the same process: its hint style does not stick
    err = capsys.readouterr().err.strip()
    assert "e.g. --clip /path/to/" in err and "model.clip=" not in err


def test_train_draws_a_progress_bar_only_on_a_terminal(tmp_path, capsys):
    """Under a redirected stderr (as here) `train` prints its log lines, never a bar's carriage returns."""
    args = ["train", "--config", "frame_tiny_synthetic", f"output_dir={tmp_path / 'run'}",
            f"data.root={tmp_path / 'data'}", "train.max_iters=2", "train.log_interval=1", "train.eval_interval=0",
            "data.synthetic.splits.train=1", "data.synthetic.splits.val=1", "data.synthetic.num_frames=4",
            "data.synthetic.size=[32,48]", "data.crop_size=[32,32]", "data.scale=48", "data.num_workers=0"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "it/s]" not in captured.err
    assert "iter 1 " in captured.err and "iter 2 " in captured.err  # log lines go to stderr
