"""Every way a `segment` run can end leaves a true record: a full disk (injected: ENOSPC at a mask write, at
the overlay's close) ends in one line with the frames done recorded and the output marked incomplete;
SIGTERM stops like Ctrl-C; after SIGKILL the overlay written so far still plays, and --resume completes
the output with an overlay, masks and summary that agree."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from segment_reference import CLASSES, check_output, decode, read_masks, scene, write_video
from train_helpers import single_thread_env

from openvidseg.cli import main

ARGS = ["--classes", ", ".join(CLASSES), "--model", "dense_clip_tiny", "--quiet"]
NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "walk.mp4", scene(8))


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """Long enough (240 frames) for a child process to be stopped in the middle."""
    return write_video(tmp_path_factory.mktemp("videos") / "long.mp4", scene(240))


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


def test_a_full_disk_at_a_mask_write_records_the_frames_done(video, tmp_path, monkeypatch, capsys):
    from openvidseg.inference.output_folder import OutputFolder

    write_mask = OutputFolder.write_mask

    def fail_at_frame_3(self, index, *args):
        if index == 3:
            raise NO_SPACE
        write_mask(self, index, *args)

    with monkeypatch.context() as patch:
        patch.setattr(OutputFolder, "write_mask", fail_at_frame_3)
        assert main(["segment", str(video), *ARGS, "--out", str(tmp_path)]) == 1  # a failed write, not usage
    err = one_line(capsys)
    out = tmp_path / "walk"
    assert "No space left on device" in err and "3 frames written" in err and "--resume" in err
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["complete"], summary["frames"]) == (False, 3) and "No space left" in summary["error"]
    assert len(read_masks(out)) == 3 and not list(out.rglob("*.partial*"))  # no half-written file stays
    assert len(decode(out / "overlay.mp4")[0]) <= 3  # the overlay written so far still opens
    assert main(["segment", str(video), *ARGS, "--out", str(tmp_path), "--resume"]) == 0
    assert check_output(out, 8, 64, 96, 25.0, CLASSES)["resumed_from"] == 3


def test_a_full_disk_at_the_overlay_close_is_one_line_and_an_incomplete_output(video, tmp_path, monkeypatch, capsys):
    """The error closing the overlay (as PyAV raises it when the disk is full) neither masks a first error nor
    escapes as a traceback; the masks are all there, so --resume only rebuilds the overlay and summary."""
    from openvidseg.inference.video_writer import VideoWriter

    close = VideoWriter.close

    def close_on_a_full_disk(self):
        close(self)
        raise NO_SPACE

    with monkeypatch.context() as patch:
        patch.setattr(VideoWriter, "close", close_on_a_full_disk)
        assert main(["segment", str(video), *ARGS, "--out", str(tmp_path)]) == 1  # a failed write, not usage
    err = one_line(capsys)
    out = tmp_path / "walk"
    assert "cannot write the overlay" in err and "No space left on device" in err and "--resume" in err
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["complete"], summary["frames"]) == (False, 8) and "overlay" in summary["error"]
    assert len(read_masks(out)) == 8
    assert main(["segment", str(video), *ARGS, "--out", str(tmp_path), "--resume"]) == 0
    assert check_output(out, 8, 64, 96, 25.0, CLASSES)["resumed_from"] == 8


def start_child(video, out) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "openvidseg", "segment", str(video), *ARGS, "--out", str(out)],
                            stderr=subprocess.PIPE, text=True, env=single_thread_env())


def wait_for_masks(child: subprocess.Popen, masks, count: int, timeout: float = 240) -> None:
    end = time.monotonic() + timeout
    while not (masks.is_dir() and len(list(masks.glob("*.png"))) >= count):
        assert child.poll() is None, child.stderr.read()
        assert time.monotonic() < end, "the child made no progress"
        time.sleep(0.1)


def test_sigterm_stops_like_ctrl_c(long_video, tmp_path):
    out = tmp_path / "long"
    child = start_child(long_video, tmp_path)
    wait_for_masks(child, out / "masks", 5)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert "is incomplete (run again with --resume to continue)" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is False and summary["error"] == "terminated (SIGTERM)"
    assert 5 <= summary["frames"] < 240
    # the overlay was closed cleanly and holds the frames counted; a stop between a frame's mask and its
    # overlay frame leaves that one mask ahead (--resume reads it back)
    assert summary["frames"] == len(decode(out / "overlay.mp4")[0])
    assert len(read_masks(out)) - summary["frames"] in (0, 1)


def test_after_sigkill_the_overlay_plays_and_resume_completes_a_true_record(long_video, tmp_path, capsys):
    out = tmp_path / "long"
    child = start_child(long_video, tmp_path)
    wait_for_masks(child, out / "masks", 60)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    masks = len(read_masks(out))
    # written as fragmented MP4 and flushed fragment by fragment: what was encoded before the kill plays
    playable = len(decode(out / "overlay.mp4")[0])
    assert 0 < playable <= masks
    summary = json.loads((out / "summary.json").read_text())  # updated as the run goes, never ahead of the masks
    assert summary["complete"] is False and summary["frames"] <= masks
    assert main(["segment", str(long_video), *ARGS, "--out", str(tmp_path), "--resume"]) == 0
    resumed = check_output(out, 240, 64, 96, 25.0, CLASSES)
    assert resumed["complete"] and resumed["resumed_from"] == masks
    assert len(read_masks(out)) == resumed["frames"] == len(decode(out / "overlay.mp4")[0]) == 240
    assert not list(out.rglob("*.partial"))  # a mask write cut short by the kill is removed on resume
