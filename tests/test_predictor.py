"""Streaming and clip-mode inference: equality for the same references, bounded memory, short videos,
vocabulary changes without rebuilding the model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from openvidseg.inference import ClipPredictor, VideoPredictor
from openvidseg.models import create_model

CLASSES = ["red circle", "blue star", "sky"]


def random_video(length: int, size=(48, 64), seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(length)]


@pytest.fixture(scope="module")
def ov2vss():
    torch.manual_seed(0)
    return create_model("ov2vss_tiny").eval()


def test_streaming_equals_clip_mode_for_the_same_references(ov2vss):
    video = random_video(23)
    stream = VideoPredictor(ov2vss, CLASSES, memory_interval=7, return_logits=True)
    clip = ClipPredictor(ov2vss, CLASSES, return_logits=True)
    streamed = list(stream.run(video))
    assert [p.index for p in streamed] == list(range(23))
    for t, prediction in enumerate(streamed):
        refs = [max(0, t + o) for o in ov2vss.ref_offsets]
        expected = clip.predict(lambda i: video[i], t, refs, stream.memory_index_for(t))
        torch.testing.assert_close(prediction.logits, expected.logits, rtol=1e-5, atol=1e-5)
        assert torch.equal(prediction.labels, expected.labels)


def test_memory_frame_schedule_and_references():
    """The long-range frame lies outside the clip window [t - 9, t] as soon as the video allows (training
    draws it from there), is refreshed every N frames, and is frame 0 before that."""
    model = create_model("ov2vss_tiny").eval()
    stream = VideoPredictor(model, CLASSES, memory_interval=5)
    schedule = [stream.memory_index_for(t) for t in range(26)]
    assert schedule == [0] * 15 + [5] * 5 + [10] * 5 + [15]
    assert all(t - m >= 10 and t - m < 10 + 5 for t, m in enumerate(schedule) if t >= 10)
    assert stream.reference_indices(0) == [0, 0, 0] and stream.reference_indices(10) == [1, 4, 7]
    seen = []
    for frame in random_video(21):
        stream.step(frame)
        seen.append(stream.memory_index)
        assert len(stream.contexts) <= 3  # the one in use and the refresh frames waiting inside the window
    assert seen == schedule[:21]  # the memory each frame was decoded with
    # without STF the window is the target alone: refreshed frame N serves frames N+1 .. 2N
    per_frame_window = VideoPredictor(create_model("ov2vss_tiny", use_stf=False), CLASSES, memory_interval=5)
    assert [per_frame_window.memory_index_for(t) for t in range(12)] == [0] * 6 + [5] * 5 + [10]


def test_recompute_mode_gives_the_same_predictions_as_the_cache(ov2vss):
    video = random_video(12)
    cached = ClipPredictor(ov2vss, CLASSES, return_logits=True)
    recompute = ClipPredictor(ov2vss, CLASSES, return_logits=True, recompute=True)
    for t in (0, 5, 11):
        refs, rand = [max(0, t - 9), max(0, t - 6), max(0, t - 3)], 11 if t < 6 else 0
        a = cached.predict(lambda i: video[i], t, refs, rand)
        b = recompute.predict(lambda i: video[i], t, refs, rand)
        torch.testing.assert_close(a.logits, b.logits)
    assert len(recompute.features) == 0 and len(cached.features) > 0


def test_memory_does_not_grow_with_video_length(ov2vss):
    stream = VideoPredictor(ov2vss, CLASSES)
    held = []
    for frame in random_video(40, size=(32, 32)):
        stream.step(frame)
        held.append(len(stream.buffered_frames()))
    assert max(held) == max(-o for o in ov2vss.ref_offsets) == 9
    assert stream.buffered_frames() == list(range(31, 40))


@pytest.mark.parametrize("length", [1, 2, 5])
def test_videos_shorter_than_the_largest_offset_work(ov2vss, length):
    predictions = list(VideoPredictor(ov2vss, CLASSES).run(random_video(length, size=(40, 56))))
    assert len(predictions) == length
    assert all(p.labels.shape == (40, 56) and p.labels.max() < len(CLASSES) for p in predictions)


def test_vocabulary_changes_between_videos_without_rebuilding(ov2vss):
    stream = VideoPredictor(ov2vss, CLASSES, return_logits=True)
    first = [p.logits.shape[0] for p in stream.run(random_video(3))]
    stream.set_vocabulary(["cat", "dog", "bird", "fish", "tree"])
    second = [p.logits.shape[0] for p in stream.run(random_video(3))]
    assert first == [3, 3, 3] and second == [5, 5, 5]


def test_short_side_resizing_returns_maps_at_the_frame_size(ov2vss):
    prediction = VideoPredictor(ov2vss, CLASSES, short_side=32).step(random_video(1, size=(60, 90))[0])
    assert prediction.labels.shape == (60, 90)


def test_temporal_smoothing_averages_probabilities():
    model = create_model("dense_clip_tiny").eval()
    video = random_video(4)
    raw = list(VideoPredictor(model, CLASSES, return_logits=True).run(video))
    smooth = list(VideoPredictor(model, CLASSES, return_logits=True, temporal_smoothing=0.5).run(video))
    probs = [p.logits.softmax(0) for p in raw]
    expected = probs[0]
    for t in range(1, 4):
        expected = 0.5 * expected + 0.5 * probs[t]
    assert torch.equal(smooth[3].labels, expected.argmax(0))
    assert torch.equal(smooth[0].labels, raw[0].labels)


def test_bfloat16_inference_runs(ov2vss):
    predictions = list(VideoPredictor(ov2vss, CLASSES, precision="bf16").run(random_video(3)))
    assert len(predictions) == 3 and predictions[0].labels.dtype == torch.int64


def test_streaming_rejects_future_offsets():
    model = create_model("ov2vss_tiny", ref_offsets=(-3, 2)).eval()
    with pytest.raises(ValueError, match="past references"):
        VideoPredictor(model, CLASSES)
