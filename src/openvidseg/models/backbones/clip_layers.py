"""The `clip` appearance backbone: CLIP's own intermediate layers, taken from the CLIP pass the model
makes anyway, so a frame costs one backbone pass in all."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from openvidseg.models.backbones.base import AppearanceBackbone, quarter_layers


class ClipLayersBackbone(AppearanceBackbone):
    """Levels = CLIP residual-stream patch tokens after `layers` (default: the quarter points, 3/6/9/12
    for ViT-B). Holds no weights of its own."""

    def __init__(self, width: int, num_layers: int, layers: Sequence[int] | None = None):
        super().__init__()
        self.clip_layers = tuple(layers) if layers else quarter_layers(num_layers)
        self.out_channels = (width,) * len(self.clip_layers)

    def forward(self, images: torch.Tensor, clip_features: Sequence[torch.Tensor] = ()) -> list[torch.Tensor]:
        if len(clip_features) != len(self.clip_layers):
            raise ValueError(f"the clip backbone needs CLIP layers {self.clip_layers} from the model's CLIP pass")
        return list(clip_features)
