"""The F-score (beta^2 = 0.3) of the sounding-object classes, per class per clip, as AVSBench-semantic and
OV-AVSS report it: `reset()`, `update(pred, gt)` once per clip (e.g. 5 frames), `compute()`.

Our definition ("exact"): for clip c and object class k (background, id 0, is not an object), TP, FP and
FN are counted over all the clip's frames (ground-truth pixels equal to `ignore_index` not scored):
F = (1 + b2) TP / ((1 + b2) TP + b2 FN + FP), which is (1 + b2) P R / (b2 P + R) with the undefined cases
(never predicted, or not in the ground truth) scoring 0. A (clip, class) pair counts when the class is
in the clip's ground truth or prediction; a class's F is the mean over its counted clips; the means are
over classes with at least one counted clip (overall, and per group, e.g. base and novel).

"reference" reproduces the released evaluation code (AVSBench's `_batch_miou_fscore`, kept in OV-AVSS),
with its quirks:
1. scores are per *frame*, not per clip: each frame adds its F to its classes' sums and 1 to their counts;
2. predictions on background pixels are zeroed before counting (`predict * (target > 0)`), so predicting
   an object on the background costs nothing;
3. classes are binned with `torch.histc(bins=K, min=1, max=K)` on ids 1..K-1 (K = classes + background), so
   class k lands in bin k-1 and bin K-1 is always empty;
4. the final F is the mean over all K bins, where empty bins and classes never present count as 0;
5. NaN (0/0) scores are set to 0; ground-truth pixels it cannot read (our 255) are background there.
The group means of that mode average the same per-class values (absent classes as 0) over each group.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from openvidseg.errors import InputError
from openvidseg.metrics.distributed import all_reduce_sum
from openvidseg.metrics.segmentation import label_pair

BETA2 = 0.3
MODES = ("exact", "reference")


def f_beta(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, beta2: float = BETA2) -> np.ndarray:
    """(1 + b2) TP / ((1 + b2) TP + b2 FN + FP) elementwise, 0 where the denominator is 0."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    denominator = (1 + beta2) * tp + beta2 * fn + fp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, (1 + beta2) * tp / denominator, 0.0)


class SoundingFScore:
    """Per-class F-score over clips. num_classes: K including background (id 0); predictions and ground
    truth hold ids 0..K-1 (gt may hold `ignore_index`). groups: name -> class ids (e.g. base, novel)."""

    def __init__(self, num_classes: int, groups: Mapping[str, Sequence[int]] | None = None, mode: str = "exact",
                 beta2: float = BETA2, ignore_index: int = 255, device: str | torch.device = "cpu") -> None:
        if mode not in MODES:
            raise InputError(f"unknown F-score mode '{mode}': use one of {', '.join(MODES)}")
        if num_classes < 2:
            raise InputError(f"the F-score needs background and at least one class, got {num_classes} classes")
        self.num_classes, self.mode, self.beta2, self.ignore_index = num_classes, mode, beta2, ignore_index
        self.groups = {name: tuple(int(i) for i in ids) for name, ids in (groups or {}).items()}
        self.device = torch.device(device)
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated: per class, the sum of F and the number of counted clips (frames)."""
        self._sums = torch.zeros(self.num_classes, dtype=torch.float64, device=self.device)
        self._counts = torch.zeros(self.num_classes, dtype=torch.int64, device=self.device)

    def _counts_of(self, pred: torch.Tensor, gt: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(TP, FP, FN) per class id over all pixels given (ignored ground truth excluded)."""
        k = self.num_classes
        scored = gt != self.ignore_index
        gt, pred = gt[scored].long(), pred[scored].long()
        valid = (pred >= 0) & (pred < k)
        tp = torch.bincount(gt[(pred == gt) & valid], minlength=k)[:k]
        predicted = torch.bincount(pred[valid], minlength=k)[:k]
        present = torch.bincount(gt.clamp(0, k), minlength=k + 1)[:k]
        return tp.cpu().numpy(), (predicted - tp).cpu().numpy(), (present - tp).cpu().numpy()

    @torch.no_grad()
    def update(self, pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray) -> None:
        """Add one clip: (T, H, W) (or (H, W)) predicted and ground-truth ids of the same shape."""
        pred_t, gt_t = label_pair(pred, gt, self.device)
        bad = (gt_t != self.ignore_index) & ((gt_t < 0) | (gt_t >= self.num_classes))
        if bool(bad.any()):
            raise InputError(f"ground truth holds ids {torch.unique(gt_t[bad])[:6].tolist()} outside "
                             f"0..{self.num_classes - 1} and {self.ignore_index}")
        if self.mode == "exact":
            tp, fp, fn = self._counts_of(pred_t, gt_t)
            counted = (tp + fp + fn) > 0
            counted[0] = False  # background is not a sounding object
            scores = f_beta(tp, fp, fn, self.beta2)
            self._sums += torch.from_numpy(np.where(counted, scores, 0.0)).to(self.device)
            self._counts += torch.from_numpy(counted.astype(np.int64)).to(self.device)
            return
        frames = gt_t.reshape(-1, *gt_t.shape[-2:]) if gt_t.ndim >= 2 else gt_t[None]
        for p, g in zip(pred_t.reshape(frames.shape), frames):
            self._add_reference_frame(p, g)

    def _add_reference_frame(self, pred: torch.Tensor, gt: torch.Tensor) -> None:
        """One frame as the released code scores it (quirks 1, 2, 5); sums are kept per class id."""
        gt = torch.where(gt == self.ignore_index, 0, gt)
        pred = torch.where(gt > 0, pred, 0)  # quirk 2: nothing predicted on background counts
        tp, fp, fn = self._counts_of(pred, gt)
        union = tp + fp + fn
        with np.errstate(divide="ignore", invalid="ignore"):
            precision, recall = tp / (tp + fp), tp / (tp + fn)
            score = (1 + self.beta2) * precision * recall / (self.beta2 * precision + recall)
        score = np.nan_to_num(score, nan=0.0)
        counted = union > 0
        counted[0] = False
        self._sums += torch.from_numpy(np.where(counted, score, 0.0)).to(self.device)
        self._counts += torch.from_numpy(counted.astype(np.int64)).to(self.device)

    def compute(self) -> dict[str, object]:
        """{"per_class": (K,) F per class id (None where never counted; background None), "mean": F over the
        counted classes, "groups": {name: mean}}: fractions, summed over processes under DDP."""
        sums = all_reduce_sum(self._sums).cpu().numpy()
        counts = all_reduce_sum(self._counts).cpu().numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            per_class = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        per_class[0] = np.nan
        if self.mode == "reference":  # quirk 4: the mean over K bins, absent classes and the empty bin as 0
            filled = np.nan_to_num(per_class, nan=0.0)
            mean = float(filled[1:].sum() / self.num_classes)
            groups = {n: (float(filled[list(ids)].mean()) if ids else None) for n, ids in self.groups.items()}
        else:
            mean = _nanmean(per_class)
            groups = {n: _nanmean(per_class[list(ids)]) if ids else None for n, ids in self.groups.items()}
        return {"per_class": [None if np.isnan(v) else float(v) for v in per_class], "mean": mean, "groups": groups}


def _nanmean(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None
