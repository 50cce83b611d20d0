"""The instance losses (Mask2Former's set prediction losses with the peers' heads), on every decoding stage:
Hungarian matching of queries to instances, then objectness cross-entropy (no-object weighted down), mask BCE and
dice on importance-sampled points (transformers' Mask2Former loss functions), L1 on the predicted IoU (CLIP-VIS)
and a federated sigmoid BCE over sampled classes plus background (OVFormer)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from transformers.models.mask2former.modeling_mask2former import dice_loss, sample_point, sigmoid_cross_entropy_loss

from openvidseg.models.instance.matcher import HungarianMatcher
from openvidseg.models.instance.structures import InstanceOutput, InstanceTargets


def importance_points(logits: torch.Tensor, num_points: int, oversample_ratio: float,
                      importance_ratio: float) -> torch.Tensor:
    """logits (M, 1, h, w) -> (M, P, 2) point coordinates in [0, 1]: the `importance_ratio` share of P are the
    most uncertain (|logit| smallest) of P x `oversample_ratio` uniform draws, the rest uniform (PointRend's)."""
    count = logits.shape[0]
    drawn = torch.rand(count, int(num_points * oversample_ratio), 2, device=logits.device)
    uncertainty = -sample_point(logits, drawn, align_corners=False).abs()[:, 0]  # (M, drawn)
    important = int(importance_ratio * num_points)
    index = uncertainty.topk(important, dim=1).indices
    chosen = torch.gather(drawn, 1, index.unsqueeze(-1).expand(-1, -1, 2))
    return torch.cat([chosen, torch.rand(count, num_points - important, 2, device=logits.device)], dim=1)


def mask_iou(mask_logits: torch.Tensor, target_masks: torch.Tensor) -> torch.Tensor:
    """(M, T, h, w) logits, (M, T, H, W) targets -> (M,) spatio-temporal IoU of the binarised masks at (h, w)."""
    target = F.interpolate(target_masks.float(), size=mask_logits.shape[-2:], mode="bilinear", align_corners=False) > 0.5
    pred = mask_logits > 0
    inter = (pred & target).flatten(1).sum(1).float()
    union = (pred | target).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))


def federated_columns(labels: torch.Tensor, num_classes: int, count: int, weights: torch.Tensor | None) -> torch.Tensor:
    """Vocabulary columns the class loss uses: every class present in `labels`, then classes drawn without
    replacement (with probability proportional to `weights`, e.g. frequency^0.5) up to `count` in all."""
    present = labels.unique()
    if num_classes <= count:
        return torch.arange(num_classes, device=labels.device)
    weights = torch.ones(num_classes, device=labels.device) if weights is None else weights.to(labels.device).clone()
    weights[present] = 0
    extra = max(0, count - len(present))
    drawn = torch.multinomial(weights, min(extra, int((weights > 0).sum())), replacement=False) if extra else present[:0]
    return torch.cat([present, drawn]).sort().values


def global_count(count: int, device: torch.device) -> float:
    """The mean of a per-process count over the processes of a DDP run (itself otherwise), at least 1."""
    value = torch.tensor(float(count), device=device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return max(float(value), 1.0)


class InstanceCriterion(nn.Module):
    """Losses of decoding stages (each an `InstanceOutput` for B clips) against B clips' `InstanceTargets`.

    classification: "objectness" (class-agnostic, CLIP-VIS: the matching cost uses the object probability) or
    "sigmoid" (OVFormer: class logits and a background column, federated over `federated_classes` columns
    drawn with `class_weights`, e.g. frequency^0.5). Losses are summed over stages; the result holds each
    weighted term ("loss_objectness", "loss_mask", "loss_dice", "loss_iou", "loss_class") and "loss"."""

    def __init__(self, *, classification: str = "objectness", objectness_weight: float = 2.0,
                 no_object_weight: float = 0.1, mask_weight: float = 5.0, dice_weight: float = 5.0,
                 iou_weight: float = 2.0, class_weight: float = 2.0, num_points: int = 12544,
                 oversample_ratio: float = 3.0, importance_sample_ratio: float = 0.75, federated_classes: int = 50,
                 class_weights: torch.Tensor | None = None):
        super().__init__()
        if classification not in ("objectness", "sigmoid"):
            raise ValueError(f"unknown classification loss '{classification}': use objectness or sigmoid")
        self.classification = classification
        self.weights = {"objectness": objectness_weight, "mask": mask_weight, "dice": dice_weight,
                        "iou": iou_weight, "class": class_weight}
        self.register_buffer("objectness_class_weight", torch.tensor([1.0, no_object_weight]), persistent=False)
        self.matcher = HungarianMatcher(class_weight if classification == "sigmoid" else objectness_weight,
                                        mask_weight, dice_weight, num_points)
        self.num_points, self.oversample_ratio, self.importance_ratio = num_points, oversample_ratio, importance_sample_ratio
        self.federated_classes = federated_classes
        self.class_weights = class_weights

    def match(self, stage: InstanceOutput, targets: Sequence[InstanceTargets]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(query indices, instance indices) per clip."""
        matches = []
        for b, target in enumerate(targets):
            if self.classification == "sigmoid":
                cost = -stage.class_logits[b].float().sigmoid()[:, target.labels]
            else:
                cost = -stage.object_probability[b][:, None].expand(-1, len(target.labels))
            matches.append(self.matcher(stage.masks[b], cost, target.masks))
        return matches

    def forward(self, stages: Sequence[InstanceOutput], targets: Sequence[InstanceTargets]) -> dict[str, torch.Tensor]:
        device = stages[-1].masks.device
        num_masks = global_count(sum(len(t.labels) for t in targets), device)
        totals: dict[str, torch.Tensor] = {}
        for stage in stages:
            for name, value in self.stage_losses(stage, targets, self.match(stage, targets), num_masks).items():
                totals[f"loss_{name}"] = totals.get(f"loss_{name}", 0.0) + self.weights[name] * value
        totals["loss"] = sum(totals.values())
        return totals

    def stage_losses(self, stage: InstanceOutput, targets: Sequence[InstanceTargets],
                     matches: Sequence[tuple[torch.Tensor, torch.Tensor]], num_masks: float) -> dict[str, torch.Tensor]:
        batch, queries = stage.objectness.shape[:2]
        device = stage.objectness.device
        is_object = torch.zeros(batch, queries, dtype=torch.bool, device=device)
        for b, (q, _) in enumerate(matches):
            is_object[b, q.to(device)] = True
        losses = {"objectness": F.cross_entropy(stage.objectness.float().flatten(0, 1), (~is_object).long().flatten(),
                                                weight=self.objectness_class_weight)}
        pred = torch.cat([stage.masks[b][q.to(device)] for b, (q, _) in enumerate(matches)])  # (M, T, h, w)
        gt = torch.cat([t.masks[i.to(device)] for t, (_, i) in zip(targets, matches)]).float()  # (M, T, H, W)
        losses.update(self.mask_losses(pred.float(), gt, num_masks))
        if stage.iou is not None:
            predicted = torch.cat([stage.iou[b][q.to(device)] for b, (q, _) in enumerate(matches)])
            losses["iou"] = (predicted.float() - mask_iou(pred.detach(), gt)).abs().sum() / num_masks
        if self.classification == "sigmoid":
            losses["class"] = self.class_loss(stage, targets, matches)
        return losses

    def mask_losses(self, pred: torch.Tensor, gt: torch.Tensor, num_masks: float) -> dict[str, torch.Tensor]:
        """BCE and dice of matched (M, T, h, w) logits vs (M, T, H, W) targets on importance-sampled points."""
        count, frames = pred.shape[:2]
        if count == 0:
            zero = pred.sum() * 0.0
            return {"mask": zero, "dice": zero}
        with torch.no_grad():
            coords = importance_points(pred.detach().flatten(0, 1).unsqueeze(1), self.num_points,
                                       self.oversample_ratio, self.importance_ratio)  # (M*T, P, 2)
        sample = lambda x: sample_point(x.flatten(0, 1).unsqueeze(1), coords, align_corners=False).view(count, -1)  # noqa: E731
        pred_points = sample(pred)
        with torch.no_grad():
            gt_points = sample(gt)
        return {"mask": sigmoid_cross_entropy_loss(pred_points, gt_points, num_masks),
                "dice": dice_loss(pred_points, gt_points, num_masks)}

    def class_loss(self, stage: InstanceOutput, targets: Sequence[InstanceTargets],
                   matches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Sigmoid BCE over [sampled vocabulary columns, background], summed over columns, mean over queries."""
        logits = stage.class_logits.float()
        batch, queries, num_classes = logits.shape
        labels = torch.full((batch, queries), num_classes, dtype=torch.long, device=logits.device)  # background
        for b, ((q, i), target) in enumerate(zip(matches, targets)):
            labels[b, q.to(logits.device)] = target.labels[i.to(logits.device)]
        columns = federated_columns(torch.cat([t.labels for t in targets]).to(logits.device), num_classes,
                                    self.federated_classes, self.class_weights)
        columns = torch.cat([columns, columns.new_tensor([num_classes])])
        full = torch.cat([logits, stage.background_logits.float().unsqueeze(-1)], dim=-1)
        onehot = F.one_hot(labels, num_classes + 1).float()
        bce = F.binary_cross_entropy_with_logits(full[..., columns], onehot[..., columns], reduction="none")
        return bce.sum(-1).mean()

