"""The query decoder: transformers' Mask2Former masked-attention transformer decoder, extended to decode the T
frames of a clip jointly. The frames are laid side by side (a (h, T*w) map per level): each query attends to
all frames at once, its masked attention follows its mask in every frame, and its mask comes back per frame.
Position embeddings are per frame (tiled), so a decoder trained on images (T = 1) runs on clips unchanged."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers.models.mask2former.modeling_mask2former import (
    Mask2FormerMaskedAttentionDecoder,
    Mask2FormerMaskedAttentionDecoderLayer,
    Mask2FormerSinePositionEmbedding,
)

from openvidseg.models.instance.pixel_decoder import mask2former_config


def tile_frames(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B*T, C, h, w) -> (B, C, h, T*w): the T frames of each clip side by side."""
    bt, channels, height, width = x.shape
    return x.view(bt // frames, frames, channels, height, width).permute(0, 2, 3, 1, 4).reshape(
        bt // frames, channels, height, frames * width)


def untile_frames(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, Q, H, T*W) -> (B, Q, T, H, W)."""
    batch, queries, height, width = x.shape
    return x.view(batch, queries, height, frames, width // frames).permute(0, 1, 3, 2, 4)


@dataclass
class QueryDecoderOutput:
    """queries: one (B, Q, C) tensor of layer-normalised query embeddings per prediction stage (the learned
    queries, then each layer; the last is the final output); masks: one (B, Q, T, H/4, W/4) tensor of mask
    logits per stage."""

    queries: tuple[torch.Tensor, ...]
    masks: tuple[torch.Tensor, ...]


class QueryDecoder(nn.Module):
    """`num_queries` learned queries read 3 memory maps (B*T, C, h, w) (coarsest first) through `layers`
    masked-attention layers (cycling over the maps) and predict masks on (B*T, mask_dim, H/4, W/4) mask
    features. `heads` attention heads, `ffn_dim` feed-forward width, post-norm, no dropout (Mask2Former's)."""

    def __init__(self, *, hidden_dim: int = 256, mask_dim: int = 256, num_queries: int = 100, layers: int = 9,
                 heads: int = 8, ffn_dim: int = 2048):
        super().__init__()
        config = mask2former_config(hidden_dim=hidden_dim, mask_dim=mask_dim, heads=heads, decoder_layers=layers,
                                    decoder_ffn_dim=ffn_dim, num_queries=num_queries)
        self.num_queries = num_queries
        self.query_position = nn.Embedding(num_queries, hidden_dim)
        self.query_features = nn.Embedding(num_queries, hidden_dim)
        self.level_embed = nn.Embedding(3, hidden_dim)
        self.position = Mask2FormerSinePositionEmbedding(num_position_features=hidden_dim // 2, normalize=True)
        self.decoder = Mask2FormerMaskedAttentionDecoder(config)
        for module in self.decoder.modules():  # Mask2Former's initialisation of its decoder layers
            if isinstance(module, Mask2FormerMaskedAttentionDecoderLayer):
                for param in module.parameters():
                    if param.dim() > 1:
                        nn.init.xavier_uniform_(param)
                nn.init.zeros_(module.cross_attn.in_proj_bias)

    @property
    def hidden_dim(self) -> int:
        return self.query_features.embedding_dim

    def initial_queries(self, batch: int) -> torch.Tensor:
        """(Q, B, C) the queries' content before the first layer (the learned query features); a subclass may
        condition them (audio-visual queries read the audio first)."""
        return self.query_features.weight.unsqueeze(1).repeat(1, batch, 1)

    def forward(self, memory: Sequence[torch.Tensor], mask_features: torch.Tensor, frames: int = 1) -> QueryDecoderOutput:
        """memory: 3 x (B*T, C, h_l, w_l); mask_features: (B*T, C_m, H, W), frames of a clip consecutive."""
        tokens, positions, sizes = [], [], []
        for level, x in enumerate(memory):
            height, width = x.shape[-2:]
            position = self.position(torch.Size((1, *x.shape[1:])), x.device, x.dtype).repeat(1, 1, 1, frames)
            tiled = tile_frames(x, frames) + self.level_embed.weight[level].view(1, -1, 1, 1).to(x.dtype)
            tokens.append(tiled.flatten(2).permute(2, 0, 1))  # (h*T*w, B, C)
            positions.append(position.flatten(2).permute(2, 0, 1).expand(-1, tiled.shape[0], -1))
            sizes.append((height, frames * width))
        batch = tokens[0].shape[1]
        out = self.decoder(
            inputs_embeds=self.initial_queries(batch),
            multi_stage_positional_embeddings=positions,
            pixel_embeddings=tile_frames(mask_features, frames),
            encoder_hidden_states=tokens,
            query_position_embeddings=self.query_position.weight.unsqueeze(1).repeat(1, batch, 1),
            feature_size_list=sizes,
            output_attentions=False,
            output_hidden_states=False,
            return_dict=True,
        )
        queries = tuple(q.transpose(0, 1) for q in out.intermediate_hidden_states)
        masks = tuple(untile_frames(m, frames) for m in out.masks_queries_logits)
        return QueryDecoderOutput(queries, masks)
