"""What an appearance backbone gives: L feature levels per frame."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


class AppearanceBackbone(nn.Module):
    """images (N, 3, H, W) RGB 0..255 -> L feature maps (N, C_l, h, w).

    `clip_layers` names CLIP layers the backbone reuses from the model's CLIP pass (the `clip` backbone
    needs no pass of its own); other backbones ignore the `clip_features` argument."""

    out_channels: tuple[int, ...] = ()
    clip_layers: tuple[int, ...] = ()

    def forward(self, images: torch.Tensor, clip_features: Sequence[torch.Tensor] = ()) -> list[torch.Tensor]:
        raise NotImplementedError


def normalize_to_multiple(images: torch.Tensor, mean: Sequence[float], std: Sequence[float], multiple: int) -> torch.Tensor:
    """Normalise (N, 3, H, W) 0..255 images and resize them (bilinear) to the nearest multiple of `multiple`."""
    x = images.float()
    height, width = x.shape[-2:]
    size = (max(multiple, round(height / multiple) * multiple), max(multiple, round(width / multiple) * multiple))
    if size != (height, width):
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    mean_t = torch.tensor(mean, device=x.device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=x.device).view(1, 3, 1, 1)
    return (x - mean_t) / std_t


def quarter_layers(num_layers: int) -> tuple[int, ...]:
    """1-based layers at the quarter points: 12 -> (3, 6, 9, 12), 4 -> (1, 2, 3, 4)."""
    return tuple(max(1, round(num_layers * q / 4)) for q in (1, 2, 3, 4))
