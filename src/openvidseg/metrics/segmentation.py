"""Semantic segmentation metrics from one confusion matrix accumulated over a whole dataset: mIoU,
per-class IoU, pixel accuracy (aAcc), mean class accuracy (mAcc), group means (seen / unseen) and their
harmonic mean (hIoU).

Conventions (mmsegmentation's): IoU_c = TP / (TP + FP + FN) summed over the dataset, not per image; the
means skip classes whose union is 0 (neither in the ground truth nor predicted), so a class predicted
but never in the ground truth scores 0 and counts. Ground-truth pixels equal to `ignore_index` are not
scored. A prediction outside 0..K-1 (e.g. a "background" entry, or 255 = no class) is a miss: a false
negative for the ground-truth class and a false positive for no class.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import torch

from openvidseg.errors import InputError
from openvidseg.metrics.distributed import all_reduce_sum


def harmonic_mean(seen: float | None, unseen: float | None) -> float | None:
    """hIoU = 2 s u / (s + u); None when either is None, 0 when both are 0."""
    if seen is None or unseen is None:
        return None
    return 0.0 if seen + unseen == 0 else 2.0 * seen * unseen / (seen + unseen)


def as_label_tensor(labels: torch.Tensor | np.ndarray, device: torch.device) -> torch.Tensor:
    """A label map of any shape (tensor or array of an integer dtype) -> tensor on `device`, dtype kept."""
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(np.ascontiguousarray(labels))
    if not isinstance(labels, torch.Tensor):
        raise InputError(f"labels must be a torch.Tensor or numpy.ndarray, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise InputError(f"labels must hold integer class indices, got dtype {labels.dtype}")
    return labels.to(device=device)


def label_pair(pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, gt) as integer tensors on `device`, checked to have the same shape."""
    pred_t, gt_t = as_label_tensor(pred, device), as_label_tensor(gt, device)
    if pred_t.shape != gt_t.shape:
        raise InputError(f"prediction shape {tuple(pred_t.shape)} differs from ground truth shape {tuple(gt_t.shape)}")
    return pred_t, gt_t


def _as_int32(labels: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """int32 labels for fast counting; wider values are first clamped to [low, high], which keeps every
    value in range as it is and every value out of range out of range."""
    if labels.dtype in (torch.uint32, torch.uint64):
        labels = labels.to(torch.int64)
    if labels.dtype == torch.int64:
        labels = labels.clamp(low, high)
    return labels.to(torch.int32)


@dataclass(frozen=True)
class SegmentationResult:
    """What `SegmentationMetric.compute` returns. Rates are fractions in [0, 1]; None where undefined."""

    confusion: np.ndarray  # (K, K+1) int64: rows gt class, cols predicted class, last col = prediction outside 0..K-1
    iou: tuple[float | None, ...]  # (K,) per-class IoU; None when the class's union is 0
    acc: tuple[float | None, ...]  # (K,) per-class accuracy TP / gt pixels; None when the class has no gt pixel
    miou: float | None  # mean IoU over classes with a non-empty union
    pixel_acc: float | None  # aAcc: correct pixels / scored pixels
    mean_acc: float | None  # mAcc: mean of `acc` over classes present in the ground truth
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)  # name -> class indices, e.g. "seen"
    group_miou: dict[str, float | None] = field(default_factory=dict)  # name -> mean IoU of the group
    hiou: float | None = None  # harmonic mean of the "seen" and "unseen" group means
    class_names: tuple[str, ...] | None = None

    @property
    def num_pixels(self) -> int:
        """Scored (non-ignored) ground-truth pixels."""
        return int(self.confusion.sum())


class SegmentationMetric:
    """Streaming confusion-matrix metric: `reset()`, `update(pred, gt)` per frame or batch, `compute()`.

    num_classes: K scored classes, indices 0..K-1 in both ground truth and prediction.
    groups: name -> class indices, e.g. {"seen": [...], "unseen": [...]}; a group's mean is over its
        classes with a non-empty union (None when there is none); hIoU needs groups "seen" and "unseen".
    device: where the (K, K+1) int64 matrix lives; inputs are moved there.
    Under `torch.distributed`, `compute()` sums the matrices of all processes (every process must call it).
    """

    def __init__(self, num_classes: int, class_names: Sequence[str] | None = None,
                 groups: Mapping[str, Sequence[int]] | None = None, ignore_index: int = 255,
                 device: str | torch.device = "cpu") -> None:
        if num_classes < 1:
            raise InputError(f"num_classes must be at least 1, got {num_classes}")
        if 0 <= ignore_index < num_classes:
            raise InputError(f"ignore_index {ignore_index} is a class index (0..{num_classes - 1}): "
                             "use a value outside")
        if class_names is not None and len(class_names) != num_classes:
            raise InputError(f"{len(class_names)} class names given for {num_classes} classes")
        self.num_classes = num_classes
        self.class_names = tuple(class_names) if class_names is not None else None
        self.groups = {name: tuple(int(i) for i in ids) for name, ids in (groups or {}).items()}
        for name, ids in self.groups.items():
            bad = [i for i in ids if not 0 <= i < num_classes]
            if bad:
                raise InputError(f"group '{name}' holds class indices outside 0..{num_classes - 1}: {bad[:5]}")
        self.ignore_index = ignore_index
        self.device = torch.device(device)
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated."""
        self._matrix = torch.zeros(self.num_classes, self.num_classes + 1, dtype=torch.int64, device=self.device)

    @torch.no_grad()
    def update(self, pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray) -> None:
        """Add a prediction and its ground truth: label maps of the same shape (e.g. (H, W) or (B, T, H, W)).

        gt holds 0..K-1 or `ignore_index`; pred holds 0..K-1, anything else counting as a miss.
        """
        pred_t, gt_t = label_pair(pred, gt, self.device)
        k = self.num_classes
        low, high = min(0, self.ignore_index) - 1, max(k, self.ignore_index) + 1
        gt_given = gt_t.reshape(-1)
        gt_t, pred_t = _as_int32(gt_given, low, high), _as_int32(pred_t.reshape(-1), low, high)
        gt_in = (gt_t >= 0) & (gt_t < k)
        unexpected = ~gt_in & (gt_t != self.ignore_index)
        if bool(unexpected.any()):
            values = torch.unique(gt_given[unexpected])[:8].tolist()
            raise InputError(f"ground truth holds values {values} outside 0..{k - 1} and ignore {self.ignore_index}: "
                             "map dataset ids to class indices first (EvalProtocol.gt_lut)")
        rows = torch.where(gt_in, gt_t, k)  # row k collects ignored pixels and is dropped
        cols = torch.where((pred_t >= 0) & (pred_t < k), pred_t, k)  # column k = a miss
        counts = torch.bincount(rows * (k + 1) + cols, minlength=(k + 1) * (k + 1))
        self._matrix += counts.view(k + 1, k + 1)[:k]

    def sync(self) -> torch.Tensor:
        """The (K, K+1) confusion matrix summed over all processes (a copy; local state is unchanged)."""
        return all_reduce_sum(self._matrix)

    def compute(self) -> SegmentationResult:
        """All metrics from the (process-summed) confusion matrix."""
        matrix = self.sync().cpu().numpy()
        return result_from_confusion(matrix, self.groups, self.class_names)


def _nanmean(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else None


def _as_optional(values: np.ndarray) -> tuple[float | None, ...]:
    return tuple(None if np.isnan(v) else float(v) for v in values)


def result_from_confusion(matrix: np.ndarray, groups: Mapping[str, Sequence[int]] | None = None,
                          class_names: Sequence[str] | None = None) -> SegmentationResult:
    """Metrics from a (K, K+1) confusion matrix (rows gt, cols pred, last col = misses outside 0..K-1)."""
    matrix = np.asarray(matrix, dtype=np.int64)
    k = matrix.shape[0]
    if matrix.shape != (k, k + 1):
        raise InputError(f"confusion matrix must be (K, K+1), got {matrix.shape}")
    tp = np.diag(matrix[:, :k]).astype(np.float64)
    gt_pixels = matrix.sum(axis=1).astype(np.float64)  # TP + FN (misses included)
    pred_pixels = matrix[:, :k].sum(axis=0).astype(np.float64)  # TP + FP
    union = gt_pixels + pred_pixels - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        acc = np.where(gt_pixels > 0, tp / gt_pixels, np.nan)
    total = gt_pixels.sum()
    groups = {name: tuple(int(i) for i in ids) for name, ids in (groups or {}).items()}
    group_miou = {name: _nanmean(iou[list(ids)]) if ids else None for name, ids in groups.items()}
    hiou = harmonic_mean(group_miou.get("seen"), group_miou.get("unseen"))
    return SegmentationResult(
        confusion=matrix, iou=_as_optional(iou), acc=_as_optional(acc), miou=_nanmean(iou),
        pixel_acc=float(tp.sum() / total) if total > 0 else None, mean_acc=_nanmean(acc),
        groups=groups, group_miou=group_miou, hiou=hiou,
        class_names=tuple(class_names) if class_names is not None else None,
    )
