"""A simple feature pyramid from single-stride ViT features (ViTDet's idea): each input map is brought to
one output stride by transposed convolutions (upsampling), identity or max pooling (downsampling), then
projected to a common width."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups that divide `channels`."""
    return nn.GroupNorm(math.gcd(32, channels), channels)


def _resampler(channels: int, factor: float) -> nn.Module:
    """Upsample by a power-of-two `factor` > 1 (2x2 transposed convs, GroupNorm + GELU between them), keep it at 1,
    or max-pool 2x2 repeatedly for a power-of-two factor < 1. Other factors resize in `SimpleFeaturePyramid`."""
    if factor >= 2 and math.log2(factor).is_integer():
        layers: list[nn.Module] = []
        for step in range(int(math.log2(factor))):
            if step:
                layers += [group_norm(channels), nn.GELU()]
            layers.append(nn.ConvTranspose2d(channels, channels, kernel_size=2, stride=2))
        return nn.Sequential(*layers)
    if factor < 1 and math.log2(1 / factor).is_integer():
        return nn.Sequential(*(nn.MaxPool2d(2) for _ in range(int(math.log2(1 / factor)))))
    return nn.Identity()


class SimpleFeaturePyramid(nn.Module):
    """L maps (N, C_l, h, w) at the backbone's stride p -> L maps (N, out_channels, ceil(H/s_l), ceil(W/s_l)) at
    `strides` s_l (default 4, 8, 16, 32), for an (H, W) input image. Level l is resampled by p / s_l (transposed
    convs / identity / max pooling; bilinear resizing when the factor is not a power of two, e.g. p = 14), then
    a 1x1 and a 3x3 conv, each with GroupNorm."""

    def __init__(self, in_channels: Sequence[int], out_channels: int, in_stride: int,
                 strides: Sequence[int] = (4, 8, 16, 32)):
        super().__init__()
        if len(in_channels) != len(strides):
            raise ValueError(f"{len(in_channels)} input maps for {len(strides)} pyramid strides")
        self.strides = tuple(strides)
        self.in_stride = in_stride
        self.resample = nn.ModuleList(_resampler(c, in_stride / s) for c, s in zip(in_channels, strides))
        self.project = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, out_channels, 1, bias=False), group_norm(out_channels),
                          nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), group_norm(out_channels))
            for c in in_channels)

    def forward(self, maps: Sequence[torch.Tensor], image_size: tuple[int, int]) -> list[torch.Tensor]:
        outputs = []
        for x, stride, resample, project in zip(maps, self.strides, self.resample, self.project):
            x = resample(x)
            size = (math.ceil(image_size[0] / stride), math.ceil(image_size[1] / stride))
            if tuple(x.shape[-2:]) != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            outputs.append(project(x))
        return outputs
