"""Which frames form a clip: training sampling (references, a random far frame, reversal) and the
fixed choice used in evaluation.

Frame indices always refer to the original video. A clip is ordered oldest -> newest in the direction
it is played: references (sorted by offset) and then the target. When the video is played reversed,
"older" frames are later ones of the original, so `frame_ids` decrease.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from openvidseg.errors import ConfigError

DEFAULT_OFFSETS = (-9, -6, -3)


@dataclass(frozen=True)
class ClipIndices:
    """Frames of one training clip: `frame_ids` (T,) = references then target, `random_id` (or None)."""

    frame_ids: tuple[int, ...]
    random_id: int | None
    reversed: bool

    @property
    def target(self) -> int:
        return self.frame_ids[-1]


def check_offsets(offsets: Sequence[int]) -> tuple[int, ...]:
    """Reference offsets sorted ascending (oldest first); raises ConfigError for non-integers."""
    if not all(isinstance(o, (int, np.integer)) and not isinstance(o, bool) for o in offsets):
        raise ConfigError(f"reference offsets must be integers (frames relative to the target), got {list(offsets)}")
    return tuple(sorted(int(o) for o in offsets))


def clip_window(target: int, offsets: Sequence[int]) -> tuple[int, int]:
    """[first, last] frame positions spanned by target + offsets (the target always inside)."""
    return target + min(min(offsets, default=0), 0), target + max(max(offsets, default=0), 0)


def farthest_endpoint(target: int, length: int) -> int:
    """The video endpoint farthest from `target`: 0 or length - 1 (the last frame on a tie)."""
    return 0 if target > (length - 1) / 2 else length - 1


def sample_random_frame(target: int, length: int, offsets: Sequence[int], rng: np.random.Generator) -> int:
    """A frame drawn uniformly from outside the clip window [target + min(offsets, 0), target + max(offsets, 0)].

    When every frame lies inside the window (short videos), the frame farthest from the target.
    """
    first, last = clip_window(target, offsets)
    outside = max(first, 0) + max(length - 1 - last, 0)  # frames before the window + frames after it
    if outside == 0:
        return farthest_endpoint(target, length)
    draw = int(rng.integers(outside))
    before = max(first, 0)
    return draw if draw < before else last + 1 + (draw - before)


def sample_training_clip(
    target: int,
    length: int,
    rng: np.random.Generator,
    offsets: Sequence[int] = DEFAULT_OFFSETS,
    random_frame: bool = True,
    reverse_prob: float = 0.5,
) -> ClipIndices:
    """Sample the clip for training target frame `target` of a video of `length` frames.

    With probability `reverse_prob` the whole video is played backwards (references then come from
    later frames of the original). References are clamped to the video; the random frame is drawn
    from outside the clip window (see `sample_random_frame`). Indices returned are original ones.
    """
    if not 0 <= target < length:
        raise ValueError(f"target {target} outside a video of {length} frames")
    offsets = check_offsets(offsets)
    reverse = bool(rng.random() < reverse_prob)
    to_original = (lambda i: length - 1 - i) if reverse else (lambda i: i)
    position = to_original(target)  # the target's position in play order (to_original is its own inverse)
    references = [min(max(position + o, 0), length - 1) for o in offsets]
    random_id = to_original(sample_random_frame(position, length, offsets, rng)) if random_frame else None
    frame_ids = tuple(to_original(i) for i in references) + (target,)
    return ClipIndices(frame_ids=frame_ids, random_id=random_id, reversed=reverse)


def eval_clip_indices(target: int, length: int, offsets: Sequence[int] = DEFAULT_OFFSETS) -> tuple[tuple[int, ...], int]:
    """(reference indices clamped to [0, length - 1], random index) for evaluating frame `target`.

    The random frame is the video endpoint farthest from the target, as the public OV2VSS code does.
    """
    if not 0 <= target < length:
        raise ValueError(f"target {target} outside a video of {length} frames")
    references = tuple(min(max(target + o, 0), length - 1) for o in check_offsets(offsets))
    return references, farthest_endpoint(target, length)


def eval_clips(length: int, offsets: Sequence[int] = DEFAULT_OFFSETS) -> Iterator[tuple[int, tuple[int, ...], int]]:
    """Every frame of a video as an evaluation target: yields (target, references, random index) in order."""
    for target in range(length):
        references, random_id = eval_clip_indices(target, length, offsets)
        yield target, references, random_id


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The random generator of one dataset item: the same (seed, epoch, index) gives the same draws in
    any process, so DataLoader workers are reproducible whatever their number."""
    return np.random.default_rng([seed, epoch, index])


def sample_instance_clip(reference: int, length: int, num_frames: int, frame_range: int,
                         rng: np.random.Generator, reverse_prob: float = 0.0) -> tuple[int, ...]:
    """The frames of one instance-segmentation training clip around frame `reference`, as the peers
    (CLIP-VIS, OVFormer, on the MinVIS/VITA data pipeline) sample them.

    `num_frames - 1` other frames are drawn from [reference - frame_range, reference + frame_range]
    (clamped to the video), without replacement while the window has enough frames and with replacement
    beyond that (short videos); the clip is sorted in time, then reversed with probability `reverse_prob`.
    Returns `num_frames` original frame indices, the reference among them.
    """
    if not 0 <= reference < length:
        raise ValueError(f"reference {reference} outside a video of {length} frames")
    if num_frames < 1 or frame_range < 0:
        raise ConfigError(f"need num_frames >= 1 and frame_range >= 0, got {num_frames} and {frame_range}")
    window = [i for i in range(max(reference - frame_range, 0), min(reference + frame_range + 1, length))
              if i != reference]
    others: list[int] = []
    if num_frames > 1:
        if not window:
            others = [reference] * (num_frames - 1)
        else:
            replace = len(window) < num_frames - 1
            others = [window[int(i)] for i in rng.choice(len(window), size=num_frames - 1, replace=replace)]
    frames = sorted(others + [reference])
    if reverse_prob > 0 and rng.random() < reverse_prob:
        frames.reverse()
    return tuple(frames)
