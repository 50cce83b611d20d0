"""The pixel decoder: transformers' Mask2Former pixel decoder (multi-scale deformable attention written in plain
PyTorch, so it runs anywhere, plus one FPN level at stride 4), built from typed arguments and initialised as
Deformable DETR / Mask2Former initialise it."""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from transformers import Mask2FormerConfig
from transformers.models.mask2former.modeling_mask2former import (
    Mask2FormerPixelDecoder,
    Mask2FormerPixelDecoderEncoderMultiscaleDeformableAttention as DeformableAttention,
)

STRIDES = (4, 8, 16, 32)


def mask2former_config(*, hidden_dim: int, mask_dim: int, heads: int, encoder_layers: int = 6,
                       encoder_ffn_dim: int = 1024, decoder_layers: int = 9, decoder_ffn_dim: int = 2048,
                       num_queries: int = 100) -> Mask2FormerConfig:
    """The Mask2FormerConfig transformers' pieces read (dropout 0, post-norm decoder, strides 4-32);
    `decoder_layers` counts the masked-attention layers (transformers' config counts one more)."""
    return Mask2FormerConfig(feature_size=hidden_dim, mask_feature_size=mask_dim, hidden_dim=hidden_dim,
                             encoder_feedforward_dim=encoder_ffn_dim, encoder_layers=encoder_layers,
                             decoder_layers=decoder_layers + 1, num_attention_heads=heads,
                             dim_feedforward=decoder_ffn_dim, dropout=0.0, pre_norm=False, common_stride=4,
                             feature_strides=list(STRIDES), num_queries=num_queries)


def init_deformable_attention(module: DeformableAttention) -> None:
    """Deformable DETR's initialisation: sampling offsets start on a ring of directions, one per head, point k at
    distance k; uniform attention weights; Xavier value and output projections."""
    nn.init.zeros_(module.sampling_offsets.weight)
    angles = torch.arange(module.n_heads, dtype=torch.float32) * (2.0 * math.pi / module.n_heads)
    directions = torch.stack([angles.cos(), angles.sin()], -1)
    directions = directions / directions.abs().max(-1, keepdim=True).values
    grid = directions.view(module.n_heads, 1, 1, 2).repeat(1, module.n_levels, module.n_points, 1)
    grid *= torch.arange(1, module.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
    with torch.no_grad():
        module.sampling_offsets.bias.copy_(grid.flatten())
    nn.init.zeros_(module.attention_weights.weight)
    nn.init.zeros_(module.attention_weights.bias)
    for linear in (module.value_proj, module.output_proj):
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)


class PixelDecoder(nn.Module):
    """4 maps (N, in_channels, H/s, W/s) for s = 4, 8, 16, 32 -> mask features (N, mask_dim, H/4, W/4) and
    3 maps (N, hidden_dim, H/s, W/s) for s = 32, 16, 8 (the transformer decoder's memory, coarsest first).
    The three coarse levels go through `layers` deformable-attention encoder layers (`heads` heads, 4 points
    per level); stride 4 joins through an FPN lateral connection."""

    def __init__(self, in_channels: int, *, hidden_dim: int = 256, mask_dim: int = 256, layers: int = 6,
                 heads: int = 8, ffn_dim: int = 1024):
        super().__init__()
        config = mask2former_config(hidden_dim=hidden_dim, mask_dim=mask_dim, heads=heads, encoder_layers=layers,
                                    encoder_ffn_dim=ffn_dim)
        self.decoder = Mask2FormerPixelDecoder(config, feature_channels=[in_channels] * len(STRIDES))
        nn.init.normal_(self.decoder.level_embed)  # transformers leaves it uninitialised outside its models
        for module in self.decoder.modules():
            if isinstance(module, DeformableAttention):
                init_deformable_attention(module)

    def forward(self, levels: Sequence[torch.Tensor]) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        out = self.decoder(list(levels), output_attentions=False, output_hidden_states=False, return_dict=True)
        return out.mask_features, tuple(out.multi_scale_features)
