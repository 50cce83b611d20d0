"""Random Frame Enhancement (RFE): long-range context from one far-away frame of the same video."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from openvidseg.models.layers import Attention, Mlp, P2TPooling


class RandomFrameEnhancement(nn.Module):
    """`context` turns a frame's L x (B, C, h, w) levels into R region vectors (B, R, C): levels are
    concatenated and projected to C, pooled into P2T tokens, a small head predicts R soft regions over
    the tokens (softmax over tokens), and the softmax-weighted token averages are the regions' vectors
    (as OCR gathers object regions). `forward` lets the target's (B, C, H, W) feature cross-attend to
    them, with a residual and LayerNorm."""

    def __init__(self, channels: int, num_levels: int, num_regions: int = 64, heads: int = 8,
                 pool_ratios: Sequence[int] = (2, 4, 6, 8)):
        super().__init__()
        self.project = nn.Linear(num_levels * channels, channels)
        self.pool = P2TPooling(channels, pool_ratios)
        self.regions = Mlp(channels, channels, num_regions)
        self.context_norm = nn.LayerNorm(channels)
        self.attention = Attention(channels, heads)
        self.norm = nn.LayerNorm(channels)

    def context(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        fused = self.project(torch.cat(levels, dim=1).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        tokens = self.pool(fused)  # (B, N, C)
        weights = self.regions(tokens).softmax(dim=1)  # (B, N, R): each region a distribution over tokens
        return self.context_norm(weights.transpose(1, 2) @ tokens)

    def forward(self, feature: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        flat = feature.flatten(2).transpose(1, 2)  # (B, HW, C)
        attended = self.attention(flat, context)
        return self.norm(flat + attended).transpose(1, 2).reshape_as(feature)
