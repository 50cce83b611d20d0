"""VC_n against hand-built videos and against a direct, all-frames-in-memory implementation of VSPW's
reference definition written here."""
from __future__ import annotations

import numpy as np
import pytest

from openvidseg.errors import InputError
from openvidseg.metrics import VideoConsistency
from metric_reference import direct_vc

I = 255


def run(metric: VideoConsistency, videos) -> float | None:
    for gts, preds in videos:
        metric.start_video()
        for g, p in zip(gts, preds):
            metric.update(p, g)
        metric.end_video()
    return metric.compute()


def hand_video(length: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """2x2 pixels a b / c d over `length` frames:
    a: gt 1 always, pred 1 always;   b: gt ignore always, pred 255 always (ignore that stays ignore);
    c: gt 2 for frames 0..9 then 3, pred = gt;   d: gt 0 always, pred 0 for frames 0..3 then 1."""
    gts, preds = [], []
    for t in range(length):
        c = 2 if t <= 9 else 3
        gts.append(np.array([[1, I], [c, 0]]))
        preds.append(np.array([[1, I], [c, 0 if t <= 3 else 1]]))
    return gts, preds


def test_seventeen_frames_hand_computed():
    video = hand_video(17)
    # VC16: one window, start 0 (frames 0..15; start 1 is range(17-16)'s excluded end).
    #   G = {a, b, d} (c changes at frame 10);  P = {a, b} (c changes, d changes at 4)  ->  2/3
    vc16 = VideoConsistency(16)
    assert run(vc16, [video]) == pytest.approx(2 / 3) and vc16.num_windows == 1
    # VC8: starts 0..8 (9 windows), frames s..s+7.
    #   s = 0, 1, 2: G = {a, b, c, d}, P = {a, b, c} (d flips between 3 and 4)   -> 3/4 each
    #   s = 3:       G = {a, b, d} (c flips between 9 and 10), P = {a, b}        -> 2/3
    #   s = 4..8:    G = {a, b, d}, P = {a, b, d}                                -> 1 each (5 windows)
    #   VC8 = (3 * 3/4 + 2/3 + 5) / 9
    vc8 = VideoConsistency(8)
    assert run(vc8, [video]) == pytest.approx((3 * 0.75 + 2 / 3 + 5) / 9) and vc8.num_windows == 9


def test_sixteen_frames_are_skipped_for_vc8_and_vc16():
    for n in (8, 16):
        metric = VideoConsistency(n)
        assert run(metric, [hand_video(16)]) is None
        assert metric.num_windows == 0 and metric.num_skipped_videos == 1 and metric.num_videos == 0
        # a skipped video changes nothing beside a scored one
        assert run(metric, [hand_video(17)]) == run(VideoConsistency(n), [hand_video(17)])


def test_the_last_window_start_is_excluded_as_in_range_L_minus_n():
    # 17 frames of constant gt; the prediction is wrong-then-constant: frame 0 differs from frames 1..16.
    # Window start 0 (frames 0..15) scores 0; start 1 (frames 1..16) would score 1 but is not in range(1).
    gts = [np.ones((3, 3), dtype=np.uint8)] * 17
    preds = [np.zeros((3, 3), dtype=np.uint8)] + [np.ones((3, 3), dtype=np.uint8)] * 16
    assert run(VideoConsistency(16), [(gts, preds)]) == 0.0


def test_mean_over_all_windows_not_over_videos():
    # video A (17 frames, VC16 window 0 scores 0: see above), video B (20 frames, constant: 4 windows scoring 1)
    gts_a = [np.ones((2, 2), dtype=np.uint8)] * 17
    preds_a = [np.zeros((2, 2), dtype=np.uint8)] + [np.ones((2, 2), dtype=np.uint8)] * 16
    gts_b = preds_b = [np.full((2, 2), 4, dtype=np.uint8)] * 20
    assert run(VideoConsistency(16), [(gts_a, preds_a), (gts_b, preds_b)]) == pytest.approx(4 / 5)  # not 1/2


def test_ignore_that_stays_ignore_is_consistent_ground_truth():
    gts = [np.full((2, 3), I, dtype=np.uint8)] * 18
    steady = [np.full((2, 3), 7, dtype=np.uint8)] * 18
    flicker = [np.full((2, 3), t % 2, dtype=np.uint8) for t in range(18)]
    assert run(VideoConsistency(8), [(gts, steady)]) == 1.0
    assert run(VideoConsistency(8), [(gts, flicker)]) == 0.0


def test_windows_with_empty_G_are_dropped_like_the_reference_nanmean():
    flicker_gt = [np.full((2, 2), t % 2, dtype=np.uint8) for t in range(20)]  # G empty in every window
    assert run(VideoConsistency(8), [(flicker_gt, flicker_gt)]) is None
    steady = [np.zeros((2, 2), dtype=np.uint8)] * 20
    both = run(VideoConsistency(8), [(flicker_gt, flicker_gt), (steady, steady)])
    assert both == 1.0  # only the steady video's 12 windows count


def random_video(rng: np.random.Generator, length: int, shape=(12, 10), change=0.04) -> list[np.ndarray]:
    """Label maps that mostly persist: each frame changes about `change` of the pixels (ignore included)."""
    frame = rng.choice(np.array([0, 1, 2, 3, I]), size=shape)
    frames = []
    for _ in range(length):
        frame = frame.copy()
        flip = rng.random(shape) < change
        frame[flip] = rng.choice(np.array([0, 1, 2, 3, I]), size=int(flip.sum()))
        frames.append(frame)
    return frames


def test_perfect_predictions_give_one():
    gts = random_video(np.random.default_rng(3), 25)
    assert run(VideoConsistency(8), [(gts, gts)]) == 1.0


@pytest.mark.parametrize("n", [8, 16])
def test_one_pass_equals_the_direct_definition_on_random_videos(n):
    rng = np.random.default_rng(10 + n)
    videos = [(random_video(rng, length), random_video(rng, length, change=0.08))
              for length in (5, 16, 17, 18, 24, 33, 40)]
    expected = direct_vc(videos, n)
    assert expected is not None and 0.0 < expected < 1.0
    assert run(VideoConsistency(n), videos) == pytest.approx(expected, rel=1e-12)
    windows = sum(len(v[0]) - n for v in videos if len(v[0]) > 16)
    metric = VideoConsistency(n)
    run(metric, videos)
    assert metric.num_windows == windows and metric.num_videos == 5


def test_skip_rule_is_a_parameter():
    # the reference script as written skips L <= clip_num; with skip_up_to = n a 12-frame video counts for VC8
    rng = np.random.default_rng(5)
    video = (random_video(rng, 12), random_video(rng, 12))
    assert run(VideoConsistency(8), [video]) is None
    assert run(VideoConsistency(8, skip_up_to=8), [video]) == pytest.approx(direct_vc([video], 8, skip_up_to=8))


def test_misuse_is_reported():
    metric = VideoConsistency(8)
    with pytest.raises(InputError, match="start_video"):
        metric.update(np.zeros((2, 2), dtype=np.uint8), np.zeros((2, 2), dtype=np.uint8))
    metric.start_video()
    metric.update(np.zeros((2, 2), dtype=np.uint8), np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(InputError, match="share one size"):
        metric.update(np.zeros((3, 2), dtype=np.uint8), np.zeros((3, 2), dtype=np.uint8))
    with pytest.raises(InputError, match="end_video"):
        metric.compute()
    with pytest.raises(InputError, match="at least 2 frames"):
        VideoConsistency(1)


def test_a_caller_reusing_one_buffer_gives_the_same_result():
    rng = np.random.default_rng(8)
    gts, preds = random_video(rng, 20), random_video(rng, 20, change=0.1)
    fresh = run(VideoConsistency(8), [(gts, preds)])
    metric = VideoConsistency(8)
    metric.start_video()
    gt_buffer, pred_buffer = np.empty_like(gts[0]), np.empty_like(preds[0])
    for g, p in zip(gts, preds):
        gt_buffer[...], pred_buffer[...] = g, p  # written in place, as a decoder reusing its output might
        metric.update(pred_buffer, gt_buffer)
    metric.end_video()
    assert metric.compute() == fresh
