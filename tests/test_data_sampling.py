"""Clip sampling: reference offsets, the random frame's bounds, reversal, short videos, determinism."""
from __future__ import annotations

import numpy as np
import pytest

from openvidseg.data.sampling import (
    clip_window, eval_clip_indices, eval_clips, item_rng, sample_random_frame, sample_training_clip,
)
from openvidseg.errors import ConfigError


def test_forward_clip_has_references_at_the_offsets_then_the_target():
    rng = np.random.default_rng(0)
    clip = sample_training_clip(20, 50, rng, offsets=(-3, -9, -6), reverse_prob=0.0)
    assert clip.frame_ids == (11, 14, 17, 20) and clip.target == 20 and not clip.reversed


def test_reversed_clip_takes_references_from_later_frames():
    clip = sample_training_clip(20, 50, np.random.default_rng(0), reverse_prob=1.0)
    assert clip.reversed and clip.frame_ids == (29, 26, 23, 20)


def test_positive_and_mixed_offsets():
    clip = sample_training_clip(10, 30, np.random.default_rng(0), offsets=(4, -2), reverse_prob=0.0)
    assert clip.frame_ids == (8, 14, 10)


@pytest.mark.parametrize("offsets", [(-9, -6, -3), (-4, 5), (2, 7)])
def test_random_frame_is_always_outside_the_window(offsets):
    rng = np.random.default_rng(1)
    length = 40
    for _ in range(500):
        target = int(rng.integers(length))
        clip = sample_training_clip(target, length, rng, offsets=offsets, reverse_prob=0.5)
        # the window in play order, mapped back to original indices
        position = length - 1 - target if clip.reversed else target
        first, last = clip_window(position, offsets)
        random_position = length - 1 - clip.random_id if clip.reversed else clip.random_id
        assert 0 <= clip.random_id < length
        assert random_position < first or random_position > last


def test_random_frame_covers_every_frame_outside_the_window():
    rng = np.random.default_rng(2)
    drawn = {sample_random_frame(10, 20, (-9, -6, -3), rng) for _ in range(2000)}
    assert drawn == set(range(0, 1)) | set(range(11, 20))  # window [1, 10]


def test_reversal_happens_both_ways_at_about_the_probability():
    rng = np.random.default_rng(3)
    flags = [sample_training_clip(30, 60, rng, reverse_prob=0.5).reversed for _ in range(400)]
    assert 150 < sum(flags) < 250
    assert not any(sample_training_clip(30, 60, rng, reverse_prob=0.0).reversed for _ in range(50))


@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_short_videos_clamp_and_never_crash(length):
    rng = np.random.default_rng(4)
    for target in range(length):
        for _ in range(20):
            clip = sample_training_clip(target, length, rng)
            assert all(0 <= i < length for i in clip.frame_ids) and 0 <= clip.random_id < length
            assert clip.target == target


def test_without_frames_outside_the_window_the_random_frame_is_the_farthest():
    rng = np.random.default_rng(0)
    assert sample_random_frame(4, 5, (-9, -6, -3), rng) == 0  # window [-5, 4] holds every frame
    assert sample_random_frame(0, 3, (1, 2), rng) == 2
    assert sample_random_frame(0, 1, (-3,), rng) == 0


def test_sampling_is_deterministic_under_the_item_seed():
    draws = [sample_training_clip(25, 60, item_rng(7, 2, 13)) for _ in range(3)]
    assert draws[0] == draws[1] == draws[2]
    others = {sample_training_clip(25, 60, item_rng(7, epoch, 13)) for epoch in range(20)}
    assert len(others) > 5  # the epoch changes the draw


def test_eval_references_clamp_at_the_start_and_random_is_the_farthest_endpoint():
    assert eval_clip_indices(0, 10) == ((0, 0, 0), 9)
    assert eval_clip_indices(4, 10) == ((0, 0, 1), 9)
    assert eval_clip_indices(9, 10) == ((0, 3, 6), 0)
    assert eval_clip_indices(2, 3, offsets=(1,)) == ((2,), 0)
    targets = [t for t, _, _ in eval_clips(7)]
    assert targets == list(range(7))


def test_bad_offsets_and_targets_are_errors():
    with pytest.raises(ConfigError, match="integers"):
        sample_training_clip(0, 5, np.random.default_rng(0), offsets=(-1.5,))
    with pytest.raises(ValueError, match="outside"):
        eval_clip_indices(5, 5)
