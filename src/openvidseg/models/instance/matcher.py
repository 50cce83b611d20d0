"""Hungarian matching (scipy's `linear_sum_assignment`): queries to ground-truth instances for the loss, and any
cost matrix to a one-to-one assignment (tracking). Mask costs use transformers' Mask2Former point sampling and
pairwise BCE / dice, on the same random points in every frame of a clip (a spatio-temporal mask cost)."""
from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn
from transformers.models.mask2former.modeling_mask2former import (
    pair_wise_dice_loss,
    pair_wise_sigmoid_cross_entropy_loss,
    sample_point,
)


def assign(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(R, C) cost -> (rows (M,), cols (M,)) int64 of the minimum-cost one-to-one assignment, M = min(R, C), rows
    ascending. NaN/inf costs are replaced by the largest finite float, so they are used only when unavoidable."""
    big = torch.finfo(torch.float32).max / 4
    cost = torch.nan_to_num(cost.detach().float().cpu(), nan=big, posinf=big, neginf=-big)
    rows, cols = linear_sum_assignment(cost.numpy())
    return torch.as_tensor(rows, dtype=torch.int64), torch.as_tensor(cols, dtype=torch.int64)


def point_logits(masks: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """masks (N, T, H, W), coords (P, 2) in [0, 1] (x, y) -> (N, T*P) values at the same points in every frame."""
    if masks.shape[0] == 0:
        return masks.new_zeros(0, masks.shape[1] * coords.shape[0])
    grid = coords.to(masks.dtype).unsqueeze(0).expand(masks.shape[0], -1, -1)
    return sample_point(masks, grid, align_corners=False).flatten(1)


class HungarianMatcher(nn.Module):
    """Assigns queries to instances by minimum cost_class x class cost + cost_mask x mask BCE + cost_dice x dice,
    the mask costs on `num_points` uniformly drawn points (the same in every frame)."""

    def __init__(self, cost_class: float = 2.0, cost_mask: float = 5.0, cost_dice: float = 5.0,
                 num_points: int = 12544):
        super().__init__()
        self.cost_class, self.cost_mask, self.cost_dice = cost_class, cost_mask, cost_dice
        self.num_points = num_points

    @torch.no_grad()
    def forward(self, mask_logits: torch.Tensor, class_cost: torch.Tensor,
                target_masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mask_logits (Q, T, h, w), class_cost (Q, N) (e.g. minus the probability of the instance's class),
        target_masks (N, T, H, W) -> (query indices (M,), instance indices (M,)), M = min(Q, N)."""
        if target_masks.shape[0] == 0:
            empty = torch.zeros(0, dtype=torch.int64)
            return empty, empty
        coords = torch.rand(self.num_points, 2, device=mask_logits.device)
        pred = point_logits(mask_logits.float(), coords)
        target = point_logits(target_masks.float(), coords)
        cost = (self.cost_mask * pair_wise_sigmoid_cross_entropy_loss(pred, target)
                + self.cost_dice * pair_wise_dice_loss(pred, target) + self.cost_class * class_cost.float())
        return assign(cost)


def permutation_from_assignment(rows: torch.Tensor, cols: torch.Tensor, size: int) -> np.ndarray:
    """A full permutation of range(size) that sends row r to column c for each assigned pair (unassigned rows take
    the unassigned columns in order)."""
    perm = np.full(size, -1, dtype=np.int64)
    perm[rows.numpy()] = cols.numpy()
    free = sorted(set(range(size)) - set(cols.tolist()))
    perm[perm < 0] = free
    return perm
