"""Streaming and clip-mode inference: equality for the same references, bounded memory, short videos,
vocabulary changes without rebuilding the model."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from openvidseg.inference import ClipPredictor, VideoPredictor
from openvidseg.inference.views import SlidingViews
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


def test_sliding_windows_cover_the_frame_with_a_third_overlap_and_merge_with_the_global_view():
    views = SlidingViews()
    assert views.windows(480, 854) == [(0, 0, 480), (0, 320, 480), (0, 374, 480)]
    assert views.windows(854, 480) == [(0, 0, 480), (320, 0, 480), (374, 0, 480)]
    assert views.windows(96, 96) == [(0, 0, 96)]
    image = torch.arange(3 * 4 * 7, dtype=torch.float32).reshape(1, 3, 4, 7)
    split = views.split(image)  # windows at columns 0, 2, 3 (stride int(4 * 2/3) = 2) and the global view
    assert split.shape == (4, 3, 4, 4) and torch.equal(split[1], image[0, :, :, 2:6])
    # view v has logit v everywhere: column 0 is covered by window 0 only, column 3 by windows 0, 1, 2,
    # column 5 by windows 1 and 2, column 6 by window 2; the global view (3) covers all
    logits = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 2, 4, 4)
    merged = views.merge(logits, 4, 7)
    assert merged.shape == (1, 2, 4, 7)
    assert merged[0, 0, 0, 0] == 0.5 * (0 + 3) and merged[0, 0, 0, 3] == 0.5 * (1 + 3)
    assert merged[0, 1, 2, 5] == 0.5 * ((1 + 2) / 2 + 3) and merged[0, 1, 3, 6] == 0.5 * (2 + 3)


def test_slide_mode_merges_the_models_views_and_streaming_agrees_with_clip_mode(ov2vss):
    video = random_video(12, size=(32, 72))
    stream = VideoPredictor(ov2vss, CLASSES, return_logits=True, test_mode="slide", memory_interval=4)
    clip = ClipPredictor(ov2vss, CLASSES, return_logits=True, test_mode="slide")
    whole = ClipPredictor(ov2vss, CLASSES, return_logits=True)
    views = SlidingViews()
    for prediction in stream.run(video):
        t = prediction.index
        refs = stream.reference_indices(t)
        expected = clip.predict(lambda i: video[i], t, refs, stream.memory_index_for(t))
        torch.testing.assert_close(prediction.logits, expected.logits, rtol=1e-5, atol=1e-5)
    # by hand: every view is a batch entry of the model; references and long-range frame view by view
    with torch.no_grad():
        as_views = lambda i: views.split(torch.from_numpy(video[i]).permute(2, 0, 1)[None].float())  # noqa: E731
        target, refs = ov2vss.encode_frames(as_views(11)), [ov2vss.encode_frames(as_views(i)) for i in (2, 5, 8)]
        logits = ov2vss.decode(target, refs, ov2vss.random_context(ov2vss.encode_frames(as_views(0))),
                               ov2vss.text_embeddings(CLASSES), (32, 32)).logits
    assert logits.shape[0] == 4  # columns 0, 21, 40 and the whole frame
    torch.testing.assert_close(clip.predict(lambda i: video[i], 11, [2, 5, 8], 0).logits[None],
                               views.merge(logits, 32, 72), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(whole.predict(lambda i: video[i], 11, [2, 5, 8], 0).logits,
                              clip.predict(lambda i: video[i], 11, [2, 5, 8], 0).logits)


def test_slide_mode_sees_a_square_frame_once_as_the_whole_mode_does(ov2vss):
    video = random_video(4, size=(48, 48))
    slide = [p.logits for p in VideoPredictor(ov2vss, CLASSES, return_logits=True, test_mode="slide").run(video)]
    whole = [p.logits for p in VideoPredictor(ov2vss, CLASSES, return_logits=True).run(video)]
    assert all(torch.equal(a, b) for a, b in zip(slide, whole))
    with pytest.raises(ValueError, match="test mode"):
        VideoPredictor(ov2vss, CLASSES, test_mode="tiles")
