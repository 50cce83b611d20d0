"""Video instance segmentation AP, exactly as the YouTube-VIS evaluation (used by YouTube-VIS 2019/2021, OVIS
and LV-VIS) defines it, behind the reset / update / compute shape of the other metrics.

Per (video, category): detections sorted by score (stable) and cut to 100, matched greedily to ground-truth
tracks by spatio-temporal IoU at thresholds 0.50:0.05:0.95 (`track_matching`); crowd tracks and tracks
outside an area range (mean area over non-empty frames: small < 128^2, medium 128^2-256^2, large > 256^2)
are ignored. Per category, detections of all videos are ranked by score (ties: video id, then rank in
the video), cumulative TP / FP give precision (made non-increasing) sampled at 101 recall points (a point
beyond the last recall counts 0); AP is the mean over categories with ground truth, thresholds and recall
points; AR@k the mean final recall with at most k detections per video. AP_base / AP_novel average the
same entries over a group of categories, as the LV-VIS evaluation does.

DDP: each process evaluates its own videos; `compute()` gathers the per-detection match records (a few
numbers each, never masks) and sums the ground-truth counts, so every process gets the one-process result.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from openvidseg.data.instances import InstanceTrack
from openvidseg.errors import InputError
from openvidseg.metrics.distributed import all_gather_rows, all_reduce_sum
from openvidseg.metrics.track_matching import (
    AREA_RANGES, IOU_THRESHOLDS, MAX_DETECTIONS, RECALL_POINTS, TrackPrediction, evaluate_category, frame_areas,
    mean_areas, spatio_temporal_iou, track_intersections,
)

AREA_NAMES = tuple(AREA_RANGES)
SUMMARY = (  # name, AP (True) or AR, IoU threshold (None = all), area range, max detections per video
    ("AP", True, None, "all", 100), ("AP50", True, 0.5, "all", 100), ("AP75", True, 0.75, "all", 100),
    ("APs", True, None, "small", 100), ("APm", True, None, "medium", 100), ("APl", True, None, "large", 100),
    ("AR1", False, None, "all", 1), ("AR10", False, None, "all", 10), ("AR100", False, None, "all", 100),
    ("ARs", False, None, "small", 100), ("ARm", False, None, "medium", 100), ("ARl", False, None, "large", 100),
)


def _mean_defined(values: np.ndarray) -> float | None:
    """The reference's summary: mean of the entries > -1, None (its -1) when there is none."""
    defined = values[values > -1]
    return float(np.mean(defined)) if defined.size else None


@dataclass(frozen=True)
class VideoAPResult:
    """What `VideoAP.compute` returns; scores are fractions in [0, 1], None where undefined (no category
    with ground truth in that area range or group)."""

    scores: dict[str, float | None]  # AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
    per_class: dict[int, float | None]  # category id -> AP (all areas, 100 detections); None without ground truth
    groups: dict[str, float | None]  # group name (e.g. "base", "novel") -> AP over its categories
    precision: np.ndarray = field(repr=False)  # (Thr, R, K, A, M), -1 where undefined
    recall: np.ndarray = field(repr=False)  # (Thr, K, A, M), -1 where undefined
    num_videos: int = 0


class VideoAP:
    """Streaming video AP: `reset()`, `update(video_id, predictions, ground_truth)` once per video, `compute()`.

    category_ids: every category of the dataset (results of other categories are an error);
    groups: name -> category ids (e.g. {"base": [...], "novel": [...]}) reported as AP_<name>.
    Under `torch.distributed`, every process must call `compute()`; a video must be scored by one process.
    """

    def __init__(self, category_ids: Sequence[int], groups: Mapping[str, Sequence[int]] | None = None):
        self.category_ids = tuple(sorted(int(c) for c in category_ids))
        if not self.category_ids or len(set(self.category_ids)) != len(self.category_ids):
            raise InputError("VideoAP needs distinct category ids")
        self._index = {c: k for k, c in enumerate(self.category_ids)}
        self.groups = {name: tuple(int(c) for c in ids) for name, ids in (groups or {}).items()}
        for name, ids in self.groups.items():
            unknown = [c for c in ids if c not in self._index]
            if unknown:
                raise InputError(f"group '{name}' names category ids {unknown[:5]} that are not categories")
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._rows: list[np.ndarray] = []
        self._num_gt = np.zeros((len(self.category_ids), len(AREA_RANGES)), dtype=np.int64)
        self._videos: set[int] = set()
        self.num_videos = 0  # over all processes, set by `sync`

    def _category(self, category_id: int, what: str) -> int:
        if category_id not in self._index:
            raise InputError(f"{what} has category id {category_id}, which is not a category of the dataset")
        return self._index[category_id]

    def update(self, video_id: int, predictions: Sequence[TrackPrediction], ground_truth: Sequence[InstanceTrack]) -> None:
        """Add one video: its predicted tracks and ground-truth tracks, each with one RLE (or None) per frame."""
        if video_id in self._videos:
            raise InputError(f"video {video_id} was already added: add each video once")
        lengths = {len(t.segmentations) for t in [*predictions, *ground_truth]}
        if len(lengths) > 1:
            raise InputError(f"the tracks of video {video_id} have different numbers of frames {sorted(lengths)}")
        length = lengths.pop() if lengths else 0
        self._videos.add(int(video_id))
        kept: dict[int, list[int]] = {}  # category index -> its predictions, best score first, at most 100
        for n, p in enumerate(predictions):
            kept.setdefault(self._category(p.category_id, f"a prediction in video {video_id}"), []).append(n)
        for k, members in kept.items():
            order = np.argsort([-predictions[n].score for n in members], kind="mergesort")[: MAX_DETECTIONS[-1]]
            kept[k] = [members[i] for i in order]
        truth: dict[int, list[int]] = {}
        for n, g in enumerate(ground_truth):
            truth.setdefault(self._category(g.category_id, f"ground-truth track {g.id}"), []).append(n)
        categories = sorted(set(kept) | set(truth))
        dts = [predictions[n] for k in categories for n in kept.get(k, [])]  # grouped by category, best first
        start = np.cumsum([0] + [len(kept.get(k, [])) for k in categories])
        # one pass over the frames for every (prediction, ground truth) pair of the video, then cut per category
        inter = track_intersections([p.segmentations for p in dts], [g.segmentations for g in ground_truth], length)
        dt_frames = frame_areas([p.segmentations for p in dts], length)
        gt_frames = frame_areas([g.segmentations for g in ground_truth], length)
        dt_mean, computed = mean_areas(dt_frames), mean_areas(gt_frames)
        gt_mean = np.array([g.mean_area() if g.areas is not None else computed[i]  # the file's areas when given
                            for i, g in enumerate(ground_truth)], dtype=np.float64)
        for c, k in enumerate(categories):
            rows, cols = list(range(start[c], start[c + 1])), truth.get(k, [])
            ious = spatio_temporal_iou(inter[np.ix_(rows, cols)], dt_frames[rows].sum(axis=1), gt_frames[cols].sum(axis=1))
            scores = np.array([dts[r].score for r in rows], dtype=np.float64)
            evaluation = evaluate_category(ious, scores, dt_mean[rows], gt_mean[cols],
                                           np.array([ground_truth[j].iscrowd for j in cols], dtype=bool))
            self._num_gt[k] += evaluation.num_gt
            if rows:
                n = len(rows)
                head = np.stack([np.full(n, video_id), np.full(n, k), scores, np.arange(n)], axis=1)
                flags = np.concatenate([evaluation.matched.reshape(-1, n).T, evaluation.ignored.reshape(-1, n).T], axis=1)
                self._rows.append(np.concatenate([head, flags.astype(np.float64)], axis=1))

    def sync(self) -> tuple[np.ndarray, np.ndarray]:
        """(detection records (N, 4 + 2 A Thr) float64, ground-truth counts (K, A)) of all processes."""
        width = 4 + 2 * len(AREA_RANGES) * len(IOU_THRESHOLDS)
        rows = np.concatenate(self._rows) if self._rows else np.zeros((0, width))
        videos = torch.tensor(sorted(self._videos), dtype=torch.float64).reshape(-1, 1)
        all_videos = all_gather_rows(videos).reshape(-1)
        if all_videos.unique().numel() != all_videos.numel():
            raise InputError("a video was scored by more than one process: shard the videos without repeating any")
        self.num_videos = int(all_videos.numel())
        records = all_gather_rows(torch.from_numpy(rows)).numpy()
        return records, all_reduce_sum(torch.from_numpy(self._num_gt)).numpy()

    def compute(self) -> VideoAPResult:
        """Precision / recall tables and the summary scores over everything added (in every process)."""
        records, num_gt = self.sync()
        precision, recall = accumulate(records, num_gt, len(self.category_ids))
        scores = {name: summarize(precision, recall, ap, threshold, area, max_det)
                  for name, ap, threshold, area, max_det in SUMMARY}
        per_class_table = precision[:, :, :, 0, -1]  # (Thr, R, K), all areas, 100 detections
        per_class = {c: _mean_defined(per_class_table[:, :, k]) for k, c in enumerate(self.category_ids)}
        groups = {name: _mean_defined(per_class_table[:, :, [self._index[c] for c in ids]]) if ids else None
                  for name, ids in self.groups.items()}
        return VideoAPResult(scores=scores, per_class=per_class, groups=groups, precision=precision, recall=recall,
                             num_videos=self.num_videos)


def accumulate(records: np.ndarray, num_gt: np.ndarray, num_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """(precision (Thr, R, K, A, M), recall (Thr, K, A, M)) from detection records and ground-truth counts
    (K, A); -1 where a category has no ground truth in an area range."""
    thr, areas = len(IOU_THRESHOLDS), len(AREA_RANGES)
    precision = -np.ones((thr, len(RECALL_POINTS), num_categories, areas, len(MAX_DETECTIONS)))
    recall = -np.ones((thr, num_categories, areas, len(MAX_DETECTIONS)))
    video, category, score, rank = (records[:, i] for i in range(4))
    flags = records[:, 4:].astype(bool).reshape(len(records), 2, areas, thr)  # matched / ignored
    for k in range(num_categories):
        mine = np.flatnonzero(category == k)
        for a in range(areas):
            if num_gt[k, a] == 0:
                continue
            for m, max_det in enumerate(MAX_DETECTIONS):
                kept = mine[rank[mine] < max_det]
                kept = kept[np.lexsort((rank[kept], video[kept], -score[kept]))]
                matched, ignored = flags[kept, 0, a].T, flags[kept, 1, a].T  # (Thr, D)
                tp_sum = np.cumsum(matched & ~ignored, axis=1).astype(float)
                fp_sum = np.cumsum(~matched & ~ignored, axis=1).astype(float)
                for t in range(thr):
                    precision[t, :, k, a, m], recall[t, k, a, m] = _precision_at_recall(tp_sum[t], fp_sum[t], num_gt[k, a])
    return precision, recall


def _precision_at_recall(tp: np.ndarray, fp: np.ndarray, num_gt: int) -> tuple[np.ndarray, float]:
    """(precision at the 101 recall points, final recall) of cumulative TP / FP counts, as COCO computes them."""
    nd = len(tp)
    rc = tp / num_gt
    pr = tp / (fp + tp + np.spacing(1))
    pr = np.maximum.accumulate(pr[::-1])[::-1] if nd else pr  # non-increasing
    inds = np.searchsorted(rc, RECALL_POINTS, side="left")
    q = np.zeros(len(RECALL_POINTS))
    reached = inds < nd  # recall points beyond the last detection's recall stay 0
    q[reached] = pr[inds[reached]]
    return q, float(rc[-1]) if nd else 0.0


def summarize(precision: np.ndarray, recall: np.ndarray, ap: bool, threshold: float | None, area: str,
              max_det: int) -> float | None:
    """One summary number, as the reference's `_summarize` (mean over the defined entries)."""
    a, m = AREA_NAMES.index(area), MAX_DETECTIONS.index(max_det)
    table = precision if ap else recall
    if threshold is not None:
        table = table[np.where(threshold == IOU_THRESHOLDS)[0]]
    return _mean_defined(table[..., a, m])
