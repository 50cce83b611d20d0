"""Identity switches of predicted tracks against ground-truth tracks, as CLEAR-MOT counts them (Bernardin and
Stiefelhagen 2008), with masks instead of boxes.

In every frame, ground-truth and predicted masks are matched one to one (Hungarian assignment maximising the
total IoU, pairs with IoU >= `iou_threshold` only). A ground-truth track whose match in a frame is another
predicted track than at its previous matched frame counts one switch (frames where it is unmatched or absent
do not reset its last match). Reported with the matched share of ground-truth masks, so that fewer switches
from fewer matches can be told apart.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from openvidseg.data.rle import RLE, intersections, rle_areas


@dataclass(frozen=True)
class SwitchCount:
    """switches: identity switches; matched: ground-truth masks matched to a prediction; total: ground-truth
    masks (one per track per frame where it is present)."""

    switches: int = 0
    matched: int = 0
    total: int = 0

    def __add__(self, other: SwitchCount) -> SwitchCount:
        return SwitchCount(self.switches + other.switches, self.matched + other.matched, self.total + other.total)

    @property
    def matched_share(self) -> float | None:
        return self.matched / self.total if self.total else None


def match_frame(ground_truth: Sequence[RLE], predicted: Sequence[RLE], iou_threshold: float = 0.5) -> list[
        tuple[int, int]]:
    """One frame's (ground-truth index, predicted index) pairs: the one-to-one matching of maximal total IoU
    among pairs with IoU >= iou_threshold."""
    if not ground_truth or not predicted:
        return []
    inter = intersections(list(ground_truth), list(predicted)).astype(np.float64)
    union = rle_areas(list(ground_truth))[:, None] + rle_areas(list(predicted))[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    allowed = iou >= iou_threshold
    rows, cols = linear_sum_assignment(np.where(allowed, -iou, 1.0))
    return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]


def identity_switches(ground_truth: Mapping[int, Sequence[RLE | None]], frames: Sequence[Mapping[int, RLE]],
                      iou_threshold: float = 0.5) -> SwitchCount:
    """Switches over one video. ground_truth: {track id: one RLE or None per frame}; frames: per frame,
    {predicted track id: RLE} of the predicted tracks present (the same length as the ground truth's)."""
    last: dict[int, int] = {}
    switches = matched = total = 0
    for t, predicted in enumerate(frames):
        truth = {g: track[t] for g, track in ground_truth.items() if track[t] is not None}
        total += len(truth)
        gt_ids, pred_ids = list(truth), list(predicted)
        for row, col in match_frame([truth[g] for g in gt_ids], [predicted[p] for p in pred_ids], iou_threshold):
            g, p = gt_ids[row], pred_ids[col]
            switches += int(g in last and last[g] != p)
            last[g] = p
            matched += 1
    return SwitchCount(switches, matched, total)
