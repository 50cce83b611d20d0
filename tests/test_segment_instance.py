"""`segment --task instance`: track-id PNGs, tracks.json in the YouTube-VIS results format that holds exactly the
PNGs' masks, a summary that matches the PNGs, an overlay of the tracks, Ctrl-C + --resume equal to an
uninterrupted run, and the task's own options and refusals. Models are the tiny instance models with random
heads saved as checkpoints (loaded identically every time)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from segment_reference import decode, read_masks, scene, write_video
from test_segment_resume import comparable, interrupt_at, record_overlay_frames

from openvidseg.cli import main
from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, VideoInfo
from openvidseg.data.rle import decode_rle
from openvidseg.inference.instance_predictor import InstancePredictor
from openvidseg.metrics.instance_scoring import score_instance_results
from openvidseg.models import create_model, save_model

CLASSES = ["red wall", "blue sky", "green ball"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "walk.mp4", scene(12))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt")
    saved = {}
    for name in ("clip_vis_tiny", "ovformer_tiny"):
        torch.manual_seed(0)
        saved[name] = save_model(create_model(name), folder / name / "model.safetensors")
    return saved


def segment(*args) -> int:
    return main(["segment", *map(str, args)])


def read_ids(folder) -> list[np.ndarray]:
    return read_masks(folder, "instances")


def one_video_annotations(frames: int, height: int, width: int) -> InstanceAnnotations:
    """A YouTube-VIS annotation set of the one video a segment output describes (video id 1, categories 1..K)."""
    video = VideoInfo(1, "walk", tuple(f"walk/{t:05d}.jpg" for t in range(frames)), height, width)
    categories = [InstanceCategory(k + 1, name) for k, name in enumerate(CLASSES)]
    return InstanceAnnotations([video], categories, [], layout="ytvis")


@pytest.mark.parametrize("name", ["clip_vis_tiny", "ovformer_tiny"])
def test_outputs_agree_with_each_other(video, tmp_path, checkpoints, capsys, name):
    assert segment(video, "--task", "instance", "--classes", ", ".join(CLASSES), "--checkpoint", checkpoints[name],
                   "--min-score", 0, "--out", tmp_path, "--quiet") == 0
    out = tmp_path / "walk"
    line = capsys.readouterr().out
    assert "12 frames, complete" in line and "tracks:" in line
    ids = read_ids(out)
    assert len(ids) == 12 and all(m.shape == (64, 96) for m in ids)
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["complete"], summary["task"], summary["frames"]) == (True, "instance", 12)
    assert summary["settings"]["min_score"] == 0 and summary["settings"]["task"] == "instance"
    stack = np.stack(ids)
    present = sorted(int(v) for v in np.unique(stack) if v)
    assert present and [t["id"] for t in summary["tracks"]] == present
    for track in summary["tracks"]:  # the summary is what the PNGs hold
        frames = [t for t in range(12) if (ids[t] == track["id"]).any()]
        assert (track["frames"], track["first_frame"], track["last_frame"]) == (len(frames), frames[0], frames[-1])
        assert track["pixel_share"] == pytest.approx(float((stack == track["id"]).mean()))
        assert CLASSES[track["class_index"]] == track["class"]
    counts = {c["name"]: c["tracks"] for c in summary["classes"]}
    assert counts == {c: sum(t["class"] == c for t in summary["tracks"]) for c in CLASSES}
    # tracks.json: the YouTube-VIS results format, each track's masks exactly its pixels in the PNGs
    entries = json.loads((out / "tracks.json").read_text())
    assert [e["track_id"] for e in entries] == present
    by_id = {t["id"]: t for t in summary["tracks"]}
    for entry in entries:
        track = by_id[entry["track_id"]]
        assert (entry["video_id"], entry["category_id"], entry["category_name"]) == (1, track["class_index"] + 1,
                                                                                   track["class"])
        assert entry["score"] == pytest.approx(track["score"], abs=1e-4)
        assert len(entry["segmentations"]) == 12
        for t, seg in enumerate(entry["segmentations"]):
            expected = ids[t] == entry["track_id"]
            if seg is None:
                assert not expected.any()
            else:
                assert np.array_equal(decode_rle(seg), expected)
    scored = score_instance_results(out / "tracks.json", one_video_annotations(12, 64, 96))
    assert scored.num_predictions == len(entries)  # `score --task instance` reads it
    overlay, fps = decode(out / "overlay.mp4")
    assert len(overlay) == 12 and overlay[0].shape == (64, 96, 3) and fps == 25.0


def test_segment_video_streams_tracked_frames(video, checkpoints):
    from openvidseg import segment_video

    frames = list(segment_video(video, CLASSES, task="instance", checkpoint=checkpoints["clip_vis_tiny"],
                                min_score=0.0))
    assert [index for index, _ in frames] == list(range(12))
    tracked = frames[3][1]
    assert tracked.ids.shape == (64, 96) and tracked.ids.dtype == np.uint8
    assert sorted(t.id for t in tracked.tracks) == sorted(int(v) for v in np.unique(tracked.ids) if v)
    for track in tracked.tracks:
        assert np.array_equal(decode_rle(track.rle), tracked.ids == track.id)
        assert 0 <= track.label < len(CLASSES) and track.score >= 0


@pytest.mark.parametrize("name, stop, resumed_from", [("clip_vis_tiny", 7, 7), ("ovformer_tiny", 8, 5)])
def test_ctrl_c_then_resume_equals_an_uninterrupted_run(video, tmp_path, monkeypatch, capsys, checkpoints, name,
                                                         stop, resumed_from):
    """The tracking state is saved after every decoded unit here (summary interval 0): CLIP-VIS continues at the
    frame it stopped at, OVFormer (5-frame clips) at the start of the clip it stopped in."""
    monkeypatch.setattr("openvidseg.inference.run_record.SUMMARY_INTERVAL_S", 0.0)
    args = ["--task", "instance", "--classes", ", ".join(CLASSES), "--checkpoint", checkpoints[name],
            "--min-score", 0.2, "--quiet"]
    encoded = record_overlay_frames(monkeypatch)
    assert segment(video, *args, "--out", tmp_path / "whole") == 0
    whole = tmp_path / "whole" / "walk"
    with monkeypatch.context() as patch:
        interrupt_at(patch, stop, InstancePredictor)
        assert segment(video, *args, "--out", tmp_path / "cut") == 130
    assert "--resume" in capsys.readouterr().err
    cut = tmp_path / "cut" / "walk"
    stopped = json.loads((cut / "summary.json").read_text())
    written = resumed_from if name == "ovformer_tiny" else stop
    assert (stopped["complete"], stopped["error"], stopped["frames"]) == (False, "interrupted", written)
    assert len(read_ids(cut)) == written and len(decode(cut / "overlay.mp4")[0]) == written
    partial = json.loads((cut / "tracks.json").read_text())  # the tracks of the frames done
    assert partial and all(len(e["segmentations"]) == written for e in partial)
    assert segment(video, *args, "--out", tmp_path / "cut", "--resume") == 0
    summary = json.loads((cut / "summary.json").read_text())
    assert summary["resumed_from"] == resumed_from and summary["complete"] is True
    assert comparable(summary) == comparable(json.loads((whole / "summary.json").read_text()))
    assert all(np.array_equal(a, b) for a, b in zip(read_ids(cut), read_ids(whole)))
    assert (cut / "tracks.json").read_text() == (whole / "tracks.json").read_text()
    assert encoded[str(cut / "overlay.mp4")] == encoded[str(whole / "overlay.mp4")]
    assert not (cut / ".tracks.jsonl").exists() and not (cut / ".tracking.safetensors").exists()
    capsys.readouterr()
    assert segment(video, *args, "--out", tmp_path / "cut", "--resume") == 0
    assert "already complete, skipped" in capsys.readouterr().out


def test_task_options_and_refusals(video, tmp_path, checkpoints, capsys):
    base = [video, "--classes", "red, blue", "--out", tmp_path, "--quiet"]
    cases = [
        (["--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--memory-interval", 5],
         "memory_interval (--memory-interval) is for task semantic, not instance"),
        (["--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--background"],
         "background (--background) is for task semantic"),
        (["--model", "dense_clip_tiny", "--min-score", 0.3], "min_score (--min-score) is for task instance, not semantic"),
        (["--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--format", "npz"],
         "format (--format) is for task semantic, not instance"),
        (["--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--save-scores"],
         "save_scores (--save-scores) is for task semantic"),
        (["--task", "instance", "--model", "dense_clip_tiny"],
         "'dense_clip_tiny' does semantic segmentation, not instance: pass --task semantic"),
        (["--checkpoint", checkpoints["ovformer_tiny"]], "does instance segmentation, not semantic: pass --task instance"),
        (["--task", "instance", "--model", "clip_vis_tiny"], "trainable head without trained weights"),
        (["--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--min-score", 1.5], "minimum score 1.5"),
    ]
    for extra, message in cases:
        assert segment(*base, *extra) == 2, extra
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err, (extra, err)
        if "trained weights" in message:
            assert "--allow-untrained" in err and "training-free" not in err  # instance models have no such default
    assert not any((tmp_path / "walk").iterdir())  # refused before anything was written
    args = [*base, "--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--no-video", "--no-masks"]
    assert segment(*args) == 0
    assert sorted(p.name for p in (tmp_path / "walk").iterdir()) == ["summary.json", "tracks.json"]
    assert segment(*args) == 2 and "already exists (complete)" in capsys.readouterr().err


def test_the_instance_overlay_keeps_the_input_sound(checkpoints, tmp_path, capsys):
    import av
    from test_segment_formats import write_video_with_sound

    clip = write_video_with_sound(tmp_path / "walk.mp4", scene(4))
    args = [clip, "--task", "instance", "--checkpoint", checkpoints["clip_vis_tiny"], "--classes", "red, blue",
            "--quiet", "--no-masks"]
    assert segment(*args, "--out", tmp_path / "with") == 0
    assert segment(*args, "--no-audio", "--out", tmp_path / "without") == 0
    with av.open(str(tmp_path / "with" / "walk" / "overlay.mp4")) as overlay:
        assert [s.type for s in overlay.streams] == ["video", "audio"]
        assert overlay.streams.audio[0].codec_context.name == "aac"
    with av.open(str(tmp_path / "without" / "walk" / "overlay.mp4")) as overlay:
        assert [s.type for s in overlay.streams] == ["video"]
