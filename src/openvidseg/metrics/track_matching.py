"""One video's part of video AP, as the YouTube-VIS evaluation (youtubevos/cocoapi `ytvoseval`) defines it:
spatio-temporal IoU between tracks and greedy matching of one (video, category)'s detections.

Spatio-temporal IoU of tracks d and g over frames t: sum_t |d_t & g_t| / sum_t |d_t | g_t| (frames where both
are empty add nothing; 0 when the union is empty). A track's size is its mean area over the frames where
its mask is non-empty.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openvidseg.data.rle import RLE, encode_masks, intersections, rle_areas

# np.linspace as the reference builds them (np.arange would put points slightly off)
IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETECTIONS = (1, 10, 100)
AREA_RANGES = {"all": (0.0, 1e5 ** 2), "small": (0.0, 128.0 ** 2), "medium": (128.0 ** 2, 256.0 ** 2),
               "large": (256.0 ** 2, 1e5 ** 2)}


@dataclass(frozen=True)
class TrackPrediction:
    """One predicted track: a category id, a confidence, and a compressed RLE per frame (None = no mask)."""

    category_id: int
    score: float
    segmentations: Sequence[RLE | None]

    @classmethod
    def from_masks(cls, category_id: int, score: float, masks: np.ndarray) -> TrackPrediction:
        """A track from (T, H, W) bool masks (a model's output); frames without a pixel become None."""
        masks = np.asarray(masks, dtype=bool)
        rles = encode_masks(masks)
        return cls(int(category_id), float(score), [rle if m.any() else None for rle, m in zip(rles, masks)])


def frame_areas(tracks: Sequence[Sequence[RLE | None]], length: int) -> np.ndarray:
    """(N, T) int64 per-frame areas of N tracks given as per-frame RLE lists (0 where absent)."""
    areas = np.zeros((len(tracks), length), dtype=np.int64)
    for n, track in enumerate(tracks):
        present = [t for t, rle in enumerate(track) if rle is not None]
        if present:
            areas[n, present] = rle_areas([track[t] for t in present])
    return areas


def track_intersections(first: Sequence[Sequence[RLE | None]], second: Sequence[Sequence[RLE | None]],
                        length: int) -> np.ndarray:
    """(D, G) int64 pixel counts of |d_t & g_t| summed over `length` frames, for D and G tracks given as
    per-frame RLE lists (None where absent): one run-length intersection call per frame."""
    inter = np.zeros((len(first), len(second)), dtype=np.int64)
    for t in range(length):
        d_idx = [i for i, track in enumerate(first) if track[t] is not None]
        g_idx = [j for j, track in enumerate(second) if track[t] is not None]
        if d_idx and g_idx:
            inter[np.ix_(d_idx, g_idx)] += intersections([first[i][t] for i in d_idx], [second[j][t] for j in g_idx])
    return inter


def track_overlaps(first: Sequence[Sequence[RLE | None]], second: Sequence[Sequence[RLE | None]],
                   length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(intersections (D, G), areas of first (D,), areas of second (G,)), int64 pixel counts summed over
    `length` frames."""
    return (track_intersections(first, second, length), frame_areas(first, length).sum(axis=1),
            frame_areas(second, length).sum(axis=1))


def spatio_temporal_iou(inter: np.ndarray, area_first: np.ndarray, area_second: np.ndarray) -> np.ndarray:
    """(D, G) float64 IoU from `track_overlaps`: I / (A_d + A_g - I), 0 where the union is empty."""
    union = area_first[:, None] + area_second[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def mean_areas(areas: np.ndarray) -> np.ndarray:
    """(N,) mean of (N, T) per-frame areas over each track's frames with a non-empty mask (0 when none)."""
    counts = (areas > 0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(counts > 0, areas.sum(axis=1) / np.maximum(counts, 1), 0.0)


def greedy_match(ious: np.ndarray, gt_ignore: np.ndarray, crowd: np.ndarray,
                 thresholds: np.ndarray = IOU_THRESHOLDS) -> tuple[np.ndarray, np.ndarray]:
    """COCO's greedy matching of detections (rows of `ious`, best score first) to ground truth (columns,
    not-ignored first), at each IoU threshold.

    A detection takes the free ground truth of highest IoU >= threshold (the last of equals), preferring
    any not-ignored one over an ignored one; crowd ground truth stays free after a match.
    Returns (matched (Thr, D) bool, matched to an ignored ground truth (Thr, D) bool).
    """
    num_dt, num_gt = ious.shape
    matched = np.zeros((len(thresholds), num_dt), dtype=bool)
    on_ignored = np.zeros((len(thresholds), num_dt), dtype=bool)
    if num_dt == 0 or num_gt == 0:
        return matched, on_ignored
    rows = ious.tolist()
    ignore, is_crowd = gt_ignore.tolist(), crowd.tolist()
    for ti, threshold in enumerate(thresholds.tolist()):
        taken = [False] * num_gt
        for d in range(num_dt):
            best, m = min(threshold, 1 - 1e-10), -1
            row = rows[d]
            for g in range(num_gt):
                if taken[g] and not is_crowd[g]:
                    continue
                if m > -1 and not ignore[m] and ignore[g]:
                    break
                if row[g] < best:
                    continue
                best, m = row[g], g
            if m > -1:
                matched[ti, d] = True
                on_ignored[ti, d] = ignore[m]
                taken[m] = True
    return matched, on_ignored


@dataclass(frozen=True)
class CategoryEvaluation:
    """One (video, category): its kept detections (best score first, at most 100) with their match flags
    per area range and threshold, and the number of not-ignored ground-truth tracks per area range."""

    scores: np.ndarray  # (D,) float64
    matched: np.ndarray  # (A, Thr, D) bool
    ignored: np.ndarray  # (A, Thr, D) bool: matched to an ignored track, or unmatched and outside the area range
    num_gt: np.ndarray  # (A,) int64 not-ignored ground-truth tracks


def evaluate_category(ious: np.ndarray, scores: np.ndarray, dt_areas: np.ndarray, gt_areas: np.ndarray,
                      crowd: np.ndarray) -> CategoryEvaluation:
    """Match one (video, category): `ious` (D, G) with detections already sorted best first and cut to
    100, their `scores` (D,) and mean areas (D,), the ground truth's mean areas (G,) and crowd flags (G,)."""
    ranges = list(AREA_RANGES.values())
    matched = np.zeros((len(ranges), len(IOU_THRESHOLDS), len(scores)), dtype=bool)
    ignored = np.zeros_like(matched)
    num_gt = np.zeros(len(ranges), dtype=np.int64)
    for a, (low, high) in enumerate(ranges):
        gt_ignore = crowd | (gt_areas < low) | (gt_areas > high)
        order = np.argsort(gt_ignore, kind="mergesort")  # not-ignored first, stable
        m, on_ignored = greedy_match(ious[:, order], gt_ignore[order], crowd[order])
        outside = (dt_areas < low) | (dt_areas > high)
        matched[a], ignored[a] = m, on_ignored | (~m & outside[None, :])
        num_gt[a] = int((~gt_ignore).sum())
    return CategoryEvaluation(scores=scores, matched=matched, ignored=ignored, num_gt=num_gt)
