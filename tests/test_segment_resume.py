"""Interrupting and resuming `segment`: Ctrl-C keeps a valid incomplete output, --resume completes it
exactly as an uninterrupted run (masks, overlay, summary), complete outputs are skipped, existing outputs
are never replaced without --overwrite, and a truncated video keeps the frames decoded before the cut."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from segment_reference import CLASSES, check_output, decode, read_masks, scene, write_video

from openvidseg.cli import main
from openvidseg.inference.predictor import VideoPredictor
from openvidseg.models import create_model

TIMING = ("elapsed_s", "frames_per_s", "resumed_from")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "walk.mp4", scene(20))


def segment(*args) -> int:
    return main(["segment", *map(str, args)])


def interrupt_at(monkeypatch, frame: int, predictor: type = VideoPredictor) -> None:
    """Make `predictor` (any class whose `step(image)` counts frames in `index`) raise KeyboardInterrupt
    (as Ctrl-C does) when it reaches `frame`."""
    step = predictor.step

    def step_until(self, image):
        if self.index == frame:
            raise KeyboardInterrupt
        return step(self, image)

    monkeypatch.setattr(predictor, "step", step_until)


def record_overlay_frames(monkeypatch) -> dict[str, list[str]]:
    """Hashes of the frames handed to the overlay encoder, per video path (last run into a path wins)."""
    from openvidseg.inference.video_writer import VideoWriter

    frames: dict[str, list[str]] = {}
    init, write = VideoWriter.__init__, VideoWriter.write

    def init_recording(self, path, *args, **kwargs):
        init(self, path, *args, **kwargs)
        frames[str(path)] = []

    def write_recording(self, frame):
        frames[str(self.path)].append(hashlib.sha1(np.ascontiguousarray(frame).tobytes()).hexdigest())
        write(self, frame)

    monkeypatch.setattr(VideoWriter, "__init__", init_recording)
    monkeypatch.setattr(VideoWriter, "write", write_recording)
    return frames


def comparable(summary: dict) -> dict:
    settings = {k: v for k, v in summary["settings"].items() if k != "device"}
    return {**{k: v for k, v in summary.items() if k not in TIMING}, "settings": settings}


def test_warm_up_continues_a_stream_exactly():
    """Streaming from frame r after warming up on frames < r (only those the model needs are encoded)
    gives the logits of an uninterrupted stream, bit for bit, whatever r and the memory schedule."""
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny").eval()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(24)]
    full = [p.logits for p in VideoPredictor(model, CLASSES, memory_interval=7, return_logits=True).run(frames)]
    for resume_at in (1, 6, 10, 15, 23):
        predictor = VideoPredictor(model, CLASSES, memory_interval=7, return_logits=True)
        needed = [t for t in range(resume_at) if predictor.needs_frame(t, resume_at)]
        for t in range(resume_at):
            predictor.warm_up(frames[t] if t in needed else None, resume_at)
        # the 9 frames before r (the oldest reference is r - 9) and the long-range frame
        expected = set(range(max(0, resume_at - 9), resume_at)) | {predictor.memory_index_for(resume_at)}
        assert set(needed) == expected
        rest = [predictor.step(f).logits for f in frames[resume_at:]]
        assert all(torch.equal(a, b) for a, b in zip(full[resume_at:], rest))


@pytest.fixture(scope="module")
def ov2vss_checkpoint(tmp_path_factory):
    """A trained-model stand-in: ov2vss_tiny's random head saved as a checkpoint (loaded identically every time)."""
    from openvidseg.models import save_model

    torch.manual_seed(0)
    return save_model(create_model("ov2vss_tiny"), tmp_path_factory.mktemp("ckpt") / "model.safetensors")


@pytest.mark.parametrize("model, stop", [("dense_clip_tiny", 7), ("ov2vss_tiny", 12)])
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(video, tmp_path, monkeypatch, capsys, ov2vss_checkpoint,
                                                         model, stop):
    """ov2vss (references 9, 6, 3 frames back, memory frame refreshed every 2 frames and used once outside
    the clip window) stops at 12: resuming encodes frames 3..11 and the memory frame 2; the refresh frames
    4..10 among them become the memory frames of frames 14..19, as in a whole run."""
    choice = ["--model", model] if model == "dense_clip_tiny" else ["--checkpoint", ov2vss_checkpoint]
    args = ["--classes", ", ".join(CLASSES), *choice, "--memory-interval", 2, "--quiet"]
    encoded = record_overlay_frames(monkeypatch)
    assert segment(video, *args, "--out", tmp_path / "whole") == 0
    whole = tmp_path / "whole" / "walk"
    with monkeypatch.context() as patch:
        interrupt_at(patch, stop)
        assert segment(video, *args, "--out", tmp_path / "cut") == 130
    assert "--resume" in capsys.readouterr().err
    cut = tmp_path / "cut" / "walk"
    stopped = json.loads((cut / "summary.json").read_text())
    assert (stopped["complete"], stopped["error"], stopped["frames"]) == (False, "interrupted", stop)
    assert len(read_masks(cut)) == stop and len(decode(cut / "overlay.mp4")[0]) == stop  # the overlay still plays
    assert segment(video, *args, "--out", tmp_path / "cut", "--resume") == 0
    resumed = check_output(cut, 20, 64, 96, 25.0, CLASSES)
    assert resumed["resumed_from"] == stop
    assert comparable(resumed) == comparable(json.loads((whole / "summary.json").read_text()))
    assert all(np.array_equal(a, b) for a, b in zip(read_masks(cut), read_masks(whole)))
    # the overlay is rebuilt from frame 0 with the very frames of the whole run; H.264 encoding itself is not
    # bit-reproducible between runs (even of identical frames), so the decoded videos are compared closely
    assert encoded[str(cut / "overlay.mp4")] == encoded[str(whole / "overlay.mp4")]
    overlay_cut, overlay_whole = decode(cut / "overlay.mp4")[0], decode(whole / "overlay.mp4")[0]
    assert len(overlay_cut) == 20 and all(np.abs(a - b.astype(int)).mean() < 4 for a, b in zip(overlay_cut, overlay_whole))


def test_resume_skips_complete_outputs_and_refuses_other_settings(video, tmp_path, monkeypatch, capsys):
    args = [video, "--model", "dense_clip_tiny", "--out", tmp_path, "--no-video", "--quiet"]
    assert segment(*args, "--classes", "red, blue") == 0
    first = (tmp_path / "walk" / "masks" / "00000.png").stat().st_mtime_ns
    capsys.readouterr()
    assert segment(*args, "--classes", "red, blue", "--resume") == 0
    assert "already complete, skipped" in capsys.readouterr().out
    assert (tmp_path / "walk" / "masks" / "00000.png").stat().st_mtime_ns == first
    assert segment(*args, "--classes", "red, green", "--resume") == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "classes: ['red', 'blue'] then, ['red', 'green'] now" in err and "--overwrite" in err


def test_an_existing_output_needs_overwrite_or_resume(video, tmp_path, capsys):
    args = ["--classes", "red, blue", "--model", "dense_clip_tiny", "--out", tmp_path, "--no-video", "--quiet"]
    assert segment(video, *args) == 0
    capsys.readouterr()
    assert segment(video, *args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"output folder {tmp_path / 'walk'} already exists (complete)" in err and "--resume" in err and "--overwrite" in err
    shorter = write_video(tmp_path / "short" / "walk.mp4", scene(6)) if (tmp_path / "short").mkdir() is None else None
    (tmp_path / "walk" / "notes.txt").write_text("mine")
    assert segment(shorter, *args, "--overwrite") == 0
    check_output(tmp_path / "walk", 6, 64, 96, 25.0, ["red", "blue"], overlay=False)  # no stale masks 6..19
    assert (tmp_path / "walk" / "notes.txt").read_text() == "mine"  # only segment's own files are replaced


def test_without_masks_an_incomplete_output_restarts(video, tmp_path, monkeypatch):
    args = [video, "--classes", "red, blue", "--model", "dense_clip_tiny", "--out", tmp_path, "--no-masks", "--quiet"]
    with monkeypatch.context() as patch:
        interrupt_at(patch, 5)
        assert segment(*args) == 130
    assert segment(*args, "--resume") == 0
    summary = check_output(tmp_path / "walk", 20, 64, 96, 25.0, ["red", "blue"], masks=False)
    assert summary["resumed_from"] is None


def test_a_truncated_video_keeps_the_frames_decoded_before_the_cut(tmp_path, capsys):
    data = write_video(tmp_path / "full.mp4", scene(30), options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.7)])
    code = segment(tmp_path / "cut.mp4", "--classes", "red, blue", "--model", "dense_clip_tiny", "--out", tmp_path / "o",
                   "--quiet")
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.count("\n") == 0 and "Traceback" not in err
    assert "cut.mp4 is truncated" in err and "marked incomplete" in err
    out = tmp_path / "o" / "cut"
    summary = json.loads((out / "summary.json").read_text())
    kept = summary["frames"]
    assert 0 < kept < 30 and summary["complete"] is False and "truncated" in summary["error"]
    assert f"{kept} frames written" in err
    assert len(read_masks(out)) == kept and len(decode(out / "overlay.mp4")[0]) == kept
