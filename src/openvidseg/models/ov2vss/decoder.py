"""Upsampling decoder: per class, two 2x stages fusing higher-resolution guidance, then one logit per pixel."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class UpsampleStage(nn.Module):
    """2x bilinear upsampling, concatenation with guidance, then a depthwise-separable conv block.
    x: (N, C_in, h, w), guidance: (N, G, 2h, 2w) -> (N, C_out, 2h, 2w)."""

    def __init__(self, in_channels: int, guidance: int, out_channels: int):
        super().__init__()
        width = in_channels + guidance
        self.block = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, groups=width),
            nn.Conv2d(width, out_channels, 1),
            nn.GroupNorm(min(8, out_channels), out_channels),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=guidance.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(torch.cat([x, guidance], dim=1))


class UpsamplingDecoder(nn.Module):
    """(B, K, C, h, w) aggregated costs + per-stage guidance (B, G_i, h * 2^i, w * 2^i)
    -> (B, K, h * 2^S, w * 2^S) logits, classes folded into the batch."""

    def __init__(self, channels: int, stage_channels: Sequence[int], guidance_channels: Sequence[int]):
        super().__init__()
        widths = [channels, *stage_channels]
        self.stages = nn.ModuleList(
            UpsampleStage(widths[i], guidance_channels[i], widths[i + 1]) for i in range(len(stage_channels))
        )
        self.head = nn.Conv2d(widths[-1], 1, 3, padding=1)

    def forward(self, x: torch.Tensor, guidance: Sequence[torch.Tensor]) -> torch.Tensor:
        batch, classes = x.shape[:2]
        x = x.flatten(0, 1)
        for stage, guide in zip(self.stages, guidance):
            x = stage(x, guide.unsqueeze(1).expand(-1, classes, -1, -1, -1).flatten(0, 1))
        return self.head(x).reshape(batch, classes, *x.shape[-2:])
