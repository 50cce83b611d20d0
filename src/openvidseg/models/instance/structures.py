"""What goes into and comes out of an instance model: ground-truth instances of a clip, and one decoding stage's
predictions for a batch of clips."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class InstanceTargets:
    """Ground truth of one clip: labels (N,) int64 vocabulary indices; masks (N, T, H, W) bool (an instance
    absent from a frame has an empty mask there)."""

    labels: torch.Tensor
    masks: torch.Tensor

    def __post_init__(self) -> None:
        if self.masks.dim() != 4 or self.labels.shape != self.masks.shape[:1]:
            raise ValueError(f"instance targets need labels (N,) and masks (N, T, H, W); got {tuple(self.labels.shape)} "
                             f"and {tuple(self.masks.shape)}")

    def to(self, device: torch.device) -> InstanceTargets:
        return InstanceTargets(self.labels.to(device, non_blocking=True), self.masks.to(device, non_blocking=True))


@dataclass
class InstanceOutput:
    """One decoding stage for B clips of T frames and Q queries.

    queries: (B, Q, C) layer-normalised query embeddings (what tracking matches); masks: (B, Q, T, h, w) mask
    logits at stride 4; objectness: (B, Q, 2) logits (object, no object); iou: (B, Q) predicted mask IoU in
    [0, 1] (CLIP-VIS) or None; class_logits: (B, Q, K) scores against the vocabulary (None when not computed:
    CLIP-VIS trains class-agnostic); background_logits: (B, Q) the background column of sigmoid classifiers
    (OVFormer) or None."""

    queries: torch.Tensor
    masks: torch.Tensor
    objectness: torch.Tensor
    iou: torch.Tensor | None = None
    class_logits: torch.Tensor | None = None
    background_logits: torch.Tensor | None = None

    @property
    def object_probability(self) -> torch.Tensor:
        """(B, Q) softmax probability of "object"."""
        return self.objectness.float().softmax(-1)[..., 0]
