"""Identity switches: a hand-counted case, and agreement with a second implementation on decoded masks (for
disjoint masks, the pair with IoU >= 0.5 is unique, so no assignment is needed there)."""
from __future__ import annotations

import numpy as np

from openvidseg.data.rle import encode_mask
from openvidseg.metrics.identity_switches import SwitchCount, identity_switches, match_frame


def box(left, width=10, size=(20, 60)):
    mask = np.zeros(size, dtype=bool)
    mask[5:15, left:left + width] = True
    return mask


def test_hand_counted_switches():
    # one object moving right; prediction A follows it, then B takes over (switch), then nothing matches for a
    # frame (no reset), B again (no switch), then A again (switch); C never overlaps enough (IoU 0.3)
    gt = {7: [encode_mask(box(x)) for x in (0, 5, 10, 15, 20)]}
    frames = [{1: encode_mask(box(0))},
              {1: encode_mask(box(40)), 2: encode_mask(box(5))},
              {3: encode_mask(box(17, width=3))},
              {2: encode_mask(box(15))},
              {1: encode_mask(box(21)), 3: encode_mask(box(40))}]
    assert identity_switches(gt, frames) == SwitchCount(switches=2, matched=4, total=5)
    assert SwitchCount(2, 4, 5).matched_share == 0.8
    # a frame with two candidates for one object: the assignment keeps the best IoU
    assert match_frame([encode_mask(box(10))], [encode_mask(box(12)), encode_mask(box(10))]) == [(0, 1)]


def decoded_switches(gt_maps, pred_maps):
    """The reference: per frame, each ground-truth id takes the predicted id whose mask has IoU >= 0.5 with it."""
    last, switches, matched, total = {}, 0, 0, 0
    for gt, pred in zip(gt_maps, pred_maps):
        for g in (v for v in np.unique(gt) if v):
            total += 1
            for p in (v for v in np.unique(pred) if v):
                a, b = gt == g, pred == p
                if (a & b).sum() / (a | b).sum() >= 0.5:
                    switches += int(g in last and last[g] != p)
                    last[g] = p
                    matched += 1
    return SwitchCount(switches, matched, total)


def test_agrees_with_decoded_masks_on_random_tracks():
    rng = np.random.default_rng(0)
    for _ in range(20):
        frames, size = 8, (24, 32)
        gt_maps, pred_maps = [], []
        positions = rng.integers(0, 20, (3, 2))
        for t in range(frames):
            gt, pred = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
            for n, (y, x) in enumerate(positions):
                y, x = (y + t) % 16, (x + 2 * t) % 24
                gt[y:y + 8, x:x + 8] = n + 1
            for g in range(1, 4):  # predictions: each object under a random id, shifted a little, some missed
                if rng.random() < 0.85:
                    shift = rng.integers(-2, 3, 2)
                    pred[np.roll(gt == g, tuple(shift), axis=(0, 1))] = rng.integers(1, 6)
            gt_maps.append(gt)
            pred_maps.append(pred)
        as_tracks = {g: [encode_mask(m == g) if (m == g).any() else None for m in gt_maps] for g in range(1, 4)}
        as_frames = [{int(p): encode_mask(m == p) for p in np.unique(m) if p} for m in pred_maps]
        assert identity_switches(as_tracks, as_frames) == decoded_switches(gt_maps, pred_maps)
