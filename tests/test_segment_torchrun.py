"""Many videos on many processes: `torchrun --nproc_per_node 2 -m openvidseg segment INPUTS...` (gloo on the
CPU) shares the inputs out, one model per process; every input is done exactly once, --resume works across
launches of any size, and a refused input stops every process before any work."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from segment_reference import CLASSES, read_masks, scene, write_video
from test_segment_resume import interrupt_at
from train_helpers import single_thread_env

from openvidseg.cli import main

NAMES = ["a", "b", "c", "d", "e"]
ARGS = ["--classes", ", ".join(CLASSES), "--model", "dense_clip_tiny", "--no-video"]


def torchrun(*args, processes: int = 2) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               "-m", "openvidseg", "segment", *map(str, args)]
    return subprocess.run(command, env=single_thread_env(), capture_output=True, text=True, timeout=600)


def done_lines(stdout: str) -> dict[str, list[str]]:
    """Result lines per output folder name (every process prints one per input it handled)."""
    found: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        match = re.match(r".*/(\w+): (.*)$", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return [write_video(folder / f"{name}.mp4", scene(6 + i)) for i, name in enumerate(NAMES)]


@pytest.mark.slow
def test_two_processes_do_every_input_exactly_once_and_resume_across_launches(videos, tmp_path, monkeypatch,
                                                                                capsys):
    out = tmp_path / "out"
    first = torchrun(*videos, *ARGS, "--out", out)
    assert first.returncode == 0, first.stderr[-3000:]
    lines = done_lines(first.stdout)
    assert sorted(lines) == NAMES and all(len(v) == 1 and "complete" in v[0] for v in lines.values())
    assert "process 0 of 2: 3 of the 5 inputs" in first.stderr and "process 1 of 2: 2 of the 5 inputs" in first.stderr
    for i, name in enumerate(NAMES):
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["complete"] and summary["frames"] == 6 + i
    # one process alone gives the same masks
    assert main(["segment", str(videos[3]), *ARGS, "--quiet", "--out", str(tmp_path / "alone")]) == 0
    assert all(np.array_equal(x, y) for x, y in zip(read_masks(out / "d"), read_masks(tmp_path / "alone" / "d")))

    # c interrupted at frame 4 (as Ctrl-C leaves it), e never made: --resume under 3 processes
    with monkeypatch.context() as patch:
        interrupt_at(patch, 4)
        assert main(["segment", str(videos[2]), *ARGS, "--quiet", "--out", str(out), "--overwrite"]) == 130
    shutil.rmtree(out / "e")
    capsys.readouterr()
    second = torchrun(*videos, *ARGS, "--out", out, "--resume", processes=3)
    assert second.returncode == 0, second.stderr[-3000:]
    lines = done_lines(second.stdout)
    assert sorted(lines) == NAMES and all(len(v) == 1 for v in lines.values())
    assert [n for n in NAMES if "skipped" in lines[n][0]] == ["a", "b", "d"]
    resumed = json.loads((out / "c" / "summary.json").read_text())
    assert resumed["complete"] and resumed["resumed_from"] == 4 and resumed["frames"] == 8
    assert json.loads((out / "e" / "summary.json").read_text())["frames"] == 10


@pytest.mark.slow
def test_a_refused_input_stops_every_process_before_any_work(videos, tmp_path):
    done = torchrun(*videos[:3], tmp_path / "missing.mp4", *ARGS, "--out", tmp_path / "out")
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "openvidseg segment: error:" in line]
    assert len(errors) == 1 and "missing.mp4" in errors[0]  # printed once, by the process that owns it
    assert not any((tmp_path / "out").rglob("summary.json"))  # no process started


def test_the_audio_visual_task_is_refused_under_torchrun(videos, tmp_path, monkeypatch, capsys):
    """Its command has no sharing: every process would segment every input into the same folders."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    code = main(["segment", str(videos[0]), "--task", "audio-visual", "--classes", "dog", "--out", str(tmp_path)])
    assert code == 2 and "does not share inputs over the processes of a torchrun launch" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
