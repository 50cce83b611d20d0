"""Direct implementations of the metrics with every frame in memory, written from the definitions in
../shared/docs/data-and-metrics.md, for tests to compare the streaming metrics against."""
from __future__ import annotations

import numpy as np


def direct_window_scores(gts: list[np.ndarray], preds: list[np.ndarray], n: int) -> list[float]:
    """VSPW's VC_n windows: one score per start in range(L - n); a window whose |G| is 0 gives NaN (the
    reference's 0/0)."""
    scores = []
    for i in range(len(gts) - n):
        stable_gt = np.ones(gts[0].shape, dtype=bool)
        stable_pred = np.ones(gts[0].shape, dtype=bool)
        for j in range(1, n):
            stable_gt &= gts[i] == gts[i + j]
            stable_pred &= preds[i] == preds[i + j]
        g = stable_gt.sum()
        scores.append((stable_gt & stable_pred).sum() / g if g else float("nan"))
    return scores


def direct_vc(videos, n: int, skip_up_to: int = 16) -> float | None:
    """Mean over all windows of all videos longer than `skip_up_to` frames, NaN windows dropped (nanmean)."""
    scores = [s for gts, preds in videos if len(gts) > skip_up_to for s in direct_window_scores(gts, preds, n)]
    scores = [s for s in scores if not np.isnan(s)]
    return float(np.mean(scores)) if scores else None


def direct_iou(gt: np.ndarray, pred: np.ndarray, cls: int, ignore: int = 255) -> float | None:
    """IoU of one class over whole arrays, by counting: pixels where gt is `ignore` are not scored."""
    scored = gt != ignore
    tp = np.sum(scored & (gt == cls) & (pred == cls))
    union = np.sum(scored & ((gt == cls) | (pred == cls)))
    return float(tp / union) if union else None
