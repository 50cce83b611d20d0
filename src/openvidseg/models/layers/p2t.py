"""Pyramid pooling into a short token sequence (P2T), the keys/values of cheap cross-frame attention."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def pooled_size(side: int, ratio: int) -> int:
    """Side of a pooled map: round(side / ratio), at least 1 (30 -> 15, 8, 5, 4 for ratios 2, 4, 6, 8)."""
    return max(1, round(side / ratio))


class P2TPooling(nn.Module):
    """(B, C, H, W) -> (B, N, C): adaptive average pools at each ratio, each refined by a residual
    depthwise 3x3 conv, flattened, concatenated, LayerNorm-ed. N = sum of the pooled areas
    (330 for a 30x30 map with ratios 2, 4, 6, 8)."""

    def __init__(self, channels: int, ratios: Sequence[int] = (2, 4, 6, 8)):
        super().__init__()
        if not ratios or any(r < 1 for r in ratios):
            raise ValueError(f"pool ratios must be positive integers, got {list(ratios)}")
        self.ratios = tuple(int(r) for r in ratios)
        self.refine = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=1, groups=channels) for _ in self.ratios)
        self.norm = nn.LayerNorm(channels)

    def num_tokens(self, height: int, width: int) -> int:
        return sum(pooled_size(height, r) * pooled_size(width, r) for r in self.ratios)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        tokens = []
        for ratio, refine in zip(self.ratios, self.refine):
            pooled = F.adaptive_avg_pool2d(x, (pooled_size(height, ratio), pooled_size(width, ratio)))
            tokens.append((pooled + refine(pooled)).flatten(2))
        return self.norm(torch.cat(tokens, dim=2).transpose(1, 2))
