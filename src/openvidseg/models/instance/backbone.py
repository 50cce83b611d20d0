"""The instance models' image side: one frozen CLIP pass gives dense CLIP embeddings (mask pooling), CLIP image
embeddings (embedding alignment) and, with the default `clip` backbone, its intermediate layers as appearance
features; a simple feature pyramid turns the appearance features into maps at strides 4, 8, 16 and 32."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.clip import ClipModel
from openvidseg.clip.model import DENSE_PATHS
from openvidseg.models.backbones import build_backbone
from openvidseg.models.base import FrameFeatures
from openvidseg.models.layers.feature_pyramid import SimpleFeaturePyramid

PYRAMID_STRIDES = (4, 8, 16, 32)


def divisible_size(height: int, width: int, divisor: int) -> tuple[int, int]:
    """The nearest size with both sides multiples of `divisor` (at least `divisor`)."""
    return tuple(max(divisor, round(side / divisor) * divisor) for side in (height, width))


class PyramidBackbone(nn.Module):
    """images (N, 3, H, W) RGB 0..255 and the model's CLIP -> FrameFeatures: clip (N, D, H'/p, W'/p)
    L2-normalised dense CLIP embeddings, pooled (N, D) L2-normalised CLIP image embeddings, levels
    4 x (N, C, H'/s, W'/s) for s = 4, 8, 16, 32, where (H', W') is (H, W) rounded to multiples of 32.

    `dense_path`: how CLIP's last block gives the dense embeddings (see `clip_pass`).
    `backbone` names the appearance features (see models.backbones: `clip` reuses CLIP's quarter-point layers
    from the same pass; `sam_vit_b`, `dinov2_*` run their own encoder, from `backbone_source`). CLIP stays
    frozen (it belongs to the model, not to this module); the appearance backbone is frozen too unless
    `train_backbone`."""

    def __init__(self, clip: ClipModel, *, backbone: str = "clip", backbone_source: str | None = None,
                 pyramid_dim: int = 256, train_backbone: bool = False, dense_path: str = "value"):
        super().__init__()
        if dense_path not in DENSE_PATHS:
            raise ValueError(f"unknown dense path '{dense_path}': use {' or '.join(DENSE_PATHS)}")
        self.dense_path = dense_path
        self.appearance = build_backbone(backbone, clip, backbone_source)
        self.appearance.requires_grad_(train_backbone)
        stride = clip.patch_size if backbone == "clip" else _backbone_stride(self.appearance)
        channels = self.appearance.out_channels
        if len(channels) != len(PYRAMID_STRIDES):
            raise ValueError(f"backbone '{backbone}' gives {len(channels)} levels; the pyramid needs {len(PYRAMID_STRIDES)}")
        self.pyramid = SimpleFeaturePyramid(channels, pyramid_dim, stride, PYRAMID_STRIDES)
        self.size_divisor = max(PYRAMID_STRIDES)

    def clip_pass(self, pixels: torch.Tensor, clip: ClipModel) -> tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor]]:
        """CLIP-normalised pixels -> (dense tokens (N, hw, D) projected, image embeddings (N, D) projected, the
        appearance layers' residual-stream tokens). Dense tokens come from the last block's value path
        (`dense_path="value"`, CAT-Seg's: each patch keeps its location) or the block as it is ("standard");
        the image embedding and the appearance layers always from the standard block."""
        last = clip.num_layers
        early = [i for i in self.appearance.clip_layers if i != last]
        tokens, saved = clip.forward_tokens(pixels, early, stop_after=last - 1)
        standard = saved[last] = clip.model.vision_model.encoder.layers[-1](tokens, attention_mask=None)
        dense = clip.value_path_block(tokens) if self.dense_path == "value" else standard
        return clip.project_tokens(dense[:, 1:]).float(), clip.project_tokens(standard[:, 0]).float(), saved

    def forward(self, images: torch.Tensor, clip: ClipModel) -> FrameFeatures:
        size = divisible_size(*images.shape[-2:], self.size_divisor)
        if tuple(images.shape[-2:]) != size:
            images = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False)
        with torch.no_grad():  # CLIP is frozen
            dense, pooled, saved = self.clip_pass(clip.preprocess(images), clip)
        grid = (size[0] // clip.patch_size, size[1] // clip.patch_size)
        dense = F.normalize(dense, dim=-1).transpose(1, 2).reshape(len(images), -1, *grid)
        to_map = lambda t: t[:, 1:].float().transpose(1, 2).reshape(len(images), -1, *grid)  # noqa: E731
        levels = self.appearance(images, [to_map(saved[i]) for i in self.appearance.clip_layers])
        return FrameFeatures(dense, tuple(self.pyramid([x.float() for x in levels], size)), F.normalize(pooled, dim=-1))


def _backbone_stride(backbone: nn.Module) -> int:
    """Patch size of a non-CLIP appearance backbone (SAM: 16, DINOv2: 14)."""
    config = backbone.encoder.config if hasattr(backbone, "encoder") else backbone.model.config
    return config.patch_size
