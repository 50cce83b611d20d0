"""Speed levers of `segment`: exact ones (window batches, threads, frame batches, background I/O) give the
very outputs of the plain path; the inexact ones (one pass instead of windows, frame reuse) do what they
say: the profiles build the models they document, carried class maps follow the motion, a scene cut
forces a keyframe, and resuming a run with frame reuse equals the uninterrupted run."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from segment_reference import CLASSES, decode, read_masks, scene, write_video

from openvidseg.cli import main
from openvidseg.errors import InputError
from openvidseg.inference.background import OrderedWorker, Prefetch
from openvidseg.inference.keyframes import KeyframePredictor
from openvidseg.inference.motion import Motion
from openvidseg.inference.predictor import VideoPredictor
from openvidseg.inference.profiles import SPEED_PROFILES, get_profile
from openvidseg.inference.segment import build_segment_model, load_segmenter
from openvidseg.inference.stream import predict_frames
from openvidseg.models import create_model

TINY = ["--model", "dense_clip_tiny", "--quiet"]


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "walk.mp4", scene(12))


def segment(*args) -> int:
    return main(["segment", *map(str, args)])


def labels_of(predictions) -> list[np.ndarray]:
    return [p.labels.numpy() for p in predictions]


def test_one_pass_equals_the_single_window_it_replaces(tiny_clip):
    """A frame exactly one window large: the window path and the one-pass path run the same CLIP input."""
    from openvidseg.models.dense_clip import DenseClip

    frame = torch.rand(1, 3, 64, 64) * 255
    windows = DenseClip(tiny_clip, short_side=64, window=64, stride=32).encode_frames(frame).clip
    single = DenseClip(tiny_clip, short_side=64, window=64, single_pass=True).encode_frames(frame).clip
    assert windows.shape == single.shape == (1, 32, 4, 4)
    torch.testing.assert_close(single, windows)
    # a 16:9 frame in one pass: the whole working-size grid, position embeddings interpolated to it
    wide = DenseClip(tiny_clip, short_side=64, window=64, single_pass=True)
    assert wide.working_size(720, 1280) == (64, 112) and wide.num_windows(720, 1280) == 1
    assert wide.encode_frames(torch.rand(2, 3, 72, 128) * 255).clip.shape == (2, 32, 4, 7)
    # 72x128 -> 128x224: windows at tops 0, 32, 64 and lefts 0, 32, ..., 160
    assert DenseClip(tiny_clip, short_side=128, window=64, stride=32).num_windows(72, 128) == 3 * 6


def test_window_batches_change_nothing(tiny_clip):
    from openvidseg.models.dense_clip import DenseClip

    frames = torch.rand(2, 3, 64, 96) * 255
    together = DenseClip(tiny_clip, short_side=96, window=64, stride=32).encode_frames(frames).clip
    for batch in (1, 4):
        apart = DenseClip(tiny_clip, short_side=96, window=64, stride=32, window_batch=batch).encode_frames(frames).clip
        torch.testing.assert_close(apart, together, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="window_batch"):
        DenseClip(tiny_clip, window_batch=-1)


def test_profiles_build_the_documented_dense_models():
    assert set(SPEED_PROFILES) == {"fast", "balanced", "quality"}
    quality = build_segment_model("dense_clip_tiny", speed="quality")
    assert (quality.short_side, quality.single_pass, quality.window) == (96, False, 64)  # the variant's own
    balanced = build_segment_model("dense_clip_tiny", speed="balanced")
    assert (balanced.short_side, balanced.single_pass) == (64, True)  # 224 at a 224 window, scaled to 64
    assert build_segment_model("dense_clip_tiny", speed="balanced", size=80).short_side == 80  # --size wins
    assert get_profile("balanced").dense_clip_options(None) == {"short_side": 224, "single_pass": True}
    assert get_profile("fast").keyframe_interval == 3 and get_profile("balanced").keyframe_interval == 1
    with pytest.raises(InputError, match="unknown speed profile 'turbo': use one of fast, balanced, quality"):
        get_profile("turbo")


def test_threads_change_nothing(video, tmp_path):
    """Predictions with one and two torch threads agree (class maps identical, scores to float rounding)."""
    frames = decode(video)[0][:3]
    model = create_model("dense_clip_tiny").eval()
    results = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        try:
            predictor = VideoPredictor(model, CLASSES, short_side=96, return_logits=True)
            results[threads] = list(predictor.run(frames))
        finally:
            torch.set_num_threads(1)
    for one, two in zip(results[1], results[2]):
        assert torch.equal(one.labels, two.labels)
        torch.testing.assert_close(one.logits, two.logits, rtol=1e-4, atol=1e-4)


def test_frame_batches_change_nothing(video):
    frames = list(enumerate(decode(video)[0]))
    model = create_model("dense_clip_tiny").eval()
    single = [p for _, _, p in predict_frames(VideoPredictor(model, CLASSES, return_logits=True), frames)]
    batched = [p for _, _, p in predict_frames(VideoPredictor(model, CLASSES, return_logits=True), frames, batch_size=5)]
    assert [p.index for p in batched] == list(range(12))
    assert all(np.array_equal(a, b) for a, b in zip(labels_of(single), labels_of(batched)))
    assert all(torch.allclose(a.logits, b.logits, rtol=1e-4, atol=1e-5) for a, b in zip(single, batched))


def test_batch_size_and_background_io_keep_the_outputs(video, tmp_path):
    """The command with 4 frames per call, and write_outputs without background threads, write the same masks."""
    from openvidseg.data.video import open_frames
    from openvidseg.inference.outputs import write_outputs

    assert segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path / "plain", *TINY) == 0
    assert segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path / "batch", "--batch-size", 4, *TINY) == 0
    segmenter = load_segmenter(CLASSES, model="dense_clip_tiny")
    with open_frames(video) as frames:
        serial = write_outputs(segmenter, frames, tmp_path / "serial", background_io=False)
    plain = read_masks(tmp_path / "plain" / "walk")
    assert len(plain) == 12
    for other in (read_masks(tmp_path / "batch" / "walk"), read_masks(tmp_path / "serial")):
        assert all(np.array_equal(a, b) for a, b in zip(plain, other)) and len(other) == 12
    saved = json.loads((tmp_path / "plain" / "walk" / "summary.json").read_text())
    assert serial["classes"] == saved["classes"] and serial["frames"] == saved["frames"] == 12


def test_prefetch_keeps_order_and_raises_errors_in_place():
    def items():
        yield from range(5)
        raise ValueError("broken at 5")

    seen = []
    with Prefetch(items(), depth=2) as ahead, pytest.raises(ValueError, match="broken at 5"):
        for item in ahead:
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]
    with Prefetch(iter(range(1000)), depth=2) as ahead:  # stopping early ends the thread
        assert next(ahead) == 0
    assert not ahead._thread.is_alive()


def test_ordered_worker_runs_in_order_and_hands_failures_back():
    done = []
    worker = OrderedWorker()
    for i in range(20):
        worker.submit(done.append, i)
    worker.close()
    assert done == list(range(20))

    def fail(_):
        raise OSError("disk full")

    worker = OrderedWorker()
    worker.submit(fail, 0)
    worker.submit(done.append, "dropped")  # may or may not see the failure yet; never runs after it
    with pytest.raises(OSError, match="disk full"):
        worker.close()
    assert "dropped" not in done


def test_carried_maps_follow_the_motion():
    """A square moving 3 px/frame: its map at frame 0, carried along the estimated flow, lands on it at frames 1-2."""
    height, width = 96, 160
    ys, xs = np.mgrid[0:height, 0:width]
    texture = (128 + 60 * np.sin(xs / 5.0) * np.cos(ys / 7.0)).astype(np.uint8)

    def frame(t):
        image = np.stack([texture] * 3, -1)
        image[30:62, 40 + 3 * t : 72 + 3 * t] = 230
        return image

    def square(t):
        labels = np.zeros((height, width), np.uint16)
        labels[30:62, 40 + 3 * t : 72 + 3 * t] = 1
        return labels

    motion = Motion()
    carried, previous = square(0), motion.small(frame(0))
    for t in (1, 2):
        current = motion.small(frame(t))
        flow, residual = motion.estimate(previous, current)
        carried, previous = motion.warp(carried, flow), current
        truth = square(t) == 1
        iou = (truth & (carried == 1)).sum() / (truth | (carried == 1)).sum()
        assert iou > 0.85 and residual < 12
    standing_still = (square(0) == 1) & (square(2) == 1)
    assert (truth & (carried == 1)).sum() > standing_still.sum()  # moved, not merely kept in place


def test_keyframes_every_nth_frame_and_at_a_scene_cut(video):
    frames = decode(video)[0]
    model = create_model("dense_clip_tiny").eval()
    predictor = KeyframePredictor(VideoPredictor(model, CLASSES), 4)
    predictions = [predictor.step(f) for f in frames]
    assert [p.index for p in predictions] == list(range(12)) and predictor.keyframes == 3  # frames 0, 4, 8
    every = list(VideoPredictor(model, CLASSES).run(frames))
    assert all(np.array_equal(predictions[t].labels, every[t].labels) for t in (0, 4, 8))
    cut = [*frames[:6], *[255 - f for f in frames[6:]]]  # a cut at frame 6: the model looks again there
    predictor.reset()
    [predictor.step(f) for f in cut]
    assert predictor.keyframes == 4
    with pytest.raises(InputError, match="per-frame model"):
        KeyframePredictor(VideoPredictor(create_model("ov2vss_tiny").eval(), CLASSES), 3)


def test_fast_profile_resumes_exactly(video, tmp_path, monkeypatch):
    args = ["--classes", ", ".join(CLASSES), *TINY, "--speed", "fast", "--no-video"]
    assert segment(video, *args, "--out", tmp_path / "whole") == 0
    whole = json.loads((tmp_path / "whole" / "walk" / "summary.json").read_text())
    assert (whole["settings"]["speed"], whole["settings"]["keyframe_interval"]) == ("fast", 3)
    step = KeyframePredictor.step

    def step_until(self, image):
        if self.index == 8:
            raise KeyboardInterrupt
        return step(self, image)

    with monkeypatch.context() as patch:
        patch.setattr(KeyframePredictor, "step", step_until)
        assert segment(video, *args, "--out", tmp_path / "cut") == 130
    assert len(read_masks(tmp_path / "cut" / "walk")) == 8
    assert segment(video, *args, "--out", tmp_path / "cut", "--resume") == 0
    resumed, uninterrupted = read_masks(tmp_path / "cut" / "walk"), read_masks(tmp_path / "whole" / "walk")
    assert len(resumed) == 12 and all(np.array_equal(a, b) for a, b in zip(resumed, uninterrupted))


def test_fp16_and_option_errors(video, tmp_path, capsys):
    assert segment(video, "--classes", ", ".join(CLASSES), "--out", tmp_path, "--precision", "fp16", "--no-video",
                   "--max-frames", 2, *TINY) == 0
    masks = read_masks(tmp_path / "walk")
    assert len(masks) == 2 and all(m.shape == (64, 96) and m.max() < 3 for m in masks)
    assert segment(video, "--classes", "a, b", "--out", tmp_path / "x", "--batch-size", 0, *TINY) == 2
    assert "batch size 0" in capsys.readouterr().err
    assert segment(video, "--classes", "a, b", "--out", tmp_path / "x", "--keyframe-interval", 0, *TINY) == 2
    assert "keyframe interval 0" in capsys.readouterr().err
    assert segment(video, "--classes", "a, b", "--out", tmp_path / "x", "--batch-size", 2, "--speed", "fast", *TINY) == 2
    assert "batch size 2: frames are batched for per-frame models without frame reuse" in capsys.readouterr().err


@pytest.mark.slow
def test_compiled_clip_blocks_give_the_same_features(tiny_clip):
    """--compile: the CLIP image encoder's blocks compiled with torch.compile give the eager features."""
    from openvidseg.inference.segment import compile_model
    from openvidseg.models.dense_clip import DenseClip

    frame = torch.rand(1, 3, 64, 64) * 255
    eager = DenseClip(load_fresh_tiny_clip(), short_side=64, window=64, single_pass=True)
    expected = eager.encode_frames(frame).clip
    compiled = compile_model(eager)
    torch.testing.assert_close(compiled.encode_frames(frame).clip, expected, rtol=1e-4, atol=1e-5)


def load_fresh_tiny_clip():
    from openvidseg.clip import load_clip

    return load_clip("random:tiny")  # not the session's shared one: compiling changes a model in place


def test_threads_default_to_every_core_unless_set(monkeypatch):
    from openvidseg.runtime import set_threads

    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert set_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("OMP_NUM_THREADS")
        import os

        assert set_threads() == len(os.sched_getaffinity(0)) == torch.get_num_threads()
        assert set_threads(1) == 1
        with pytest.raises(InputError, match="threads 0"):
            set_threads(0)
    finally:
        torch.set_num_threads(1)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
def test_overlay_blend_table_equals_blending_pixel_by_pixel(alpha):
    from openvidseg.viz import blend, class_colors

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    labels = rng.integers(0, 4, (48, 80), dtype=np.uint8)
    labels[:8] = 255
    colors = class_colors(4)
    expected = frame.astype(np.float32)
    mask = labels != 255
    expected[mask] = (1 - alpha) * expected[mask] + alpha * colors.astype(np.float32)[labels[mask]]
    assert np.array_equal(blend(frame, labels, colors, alpha), expected.round().clip(0, 255).astype(np.uint8))
