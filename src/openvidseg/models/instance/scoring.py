"""How a family turns per-frame predictions into track scores. Each decoded unit (a frame, or a clip) gives
"evidence" per (track, class), averaged over the units of a video; `scores` turns averages (or one unit's
values) into per-class scores.

- `ClipVisScoring`: evidence_t = sqrt(softmax(class logits) x predicted IoU_t); video score =
  sqrt(mean evidence x mean objectness) x mean mask score; a frame's mask is dropped where its evidence for the
  detection's class is below `drop_ratio` (0.1) x the video's mean evidence.
- `OvformerScoring`: evidence = the class logits (averaged over clips); score = sqrt(sigmoid(mean logits) x mean
  objectness); no frame is dropped.
"""
from __future__ import annotations

import torch


class ClipVisScoring:
    """CLIP-VIS's weighted open-vocabulary classification (see the module docstring)."""

    drop_ratio = 0.1

    def evidence(self, class_logits: torch.Tensor, iou: torch.Tensor | None) -> torch.Tensor:
        """(Q, K) logits, (Q,) predicted IoU -> (Q, K) sqrt(softmax x IoU)."""
        probs = class_logits.float().softmax(-1)
        return (probs * iou.float().clamp(0, 1)[:, None]).sqrt() if iou is not None else probs.sqrt()

    def scores(self, evidence: torch.Tensor, objectness: torch.Tensor, mask_score: torch.Tensor) -> torch.Tensor:
        """(Q, K) mean evidence, (Q,) mean object probability, (Q,) mean mask score -> (Q, K) scores."""
        return (evidence * objectness[:, None]).clamp_min(0).sqrt() * mask_score[:, None]


class OvformerScoring:
    """OVFormer's scores from clip-averaged logits (see the module docstring)."""

    drop_ratio = 0.0

    def evidence(self, class_logits: torch.Tensor, iou: torch.Tensor | None) -> torch.Tensor:
        """(Q, K) logits -> (Q, K) logits (averaged over clips before the sigmoid)."""
        return class_logits.float()

    def scores(self, evidence: torch.Tensor, objectness: torch.Tensor, mask_score: torch.Tensor) -> torch.Tensor:
        return (evidence.sigmoid() * objectness[:, None]).sqrt()


def build_scoring(classifier: str) -> ClipVisScoring | OvformerScoring:
    """The scoring of a model's classifier: "mask_pooling" (CLIP-VIS) or "alignment" (OVFormer)."""
    if classifier == "mask_pooling":
        return ClipVisScoring()
    if classifier == "alignment":
        return OvformerScoring()
    raise ValueError(f"unknown classifier '{classifier}': use mask_pooling or alignment")
