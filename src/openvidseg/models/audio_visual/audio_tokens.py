"""Audio tokens for the decoder and the fusion block: each frame's window embedded by an `AudioEncoder`,
projected to the model's width, with a learned position per frame of the clip; and the attention by which
queries read them."""
from __future__ import annotations

import torch
from torch import nn

from openvidseg.models.audio.encoder import AudioEncoder


class AudioTokens(nn.Module):
    """Audio windows (B, T, L) -> tokens (B, T, dim) and their positions (T, dim).

    The encoder stays frozen (as OV-AVSS keeps its pretrained VGGish) unless `train_encoder`; frozen, it
    runs without autograd and in eval mode.
    """

    def __init__(self, encoder: AudioEncoder, dim: int, max_frames: int = 16, train_encoder: bool = False) -> None:
        super().__init__()
        self.encoder, self.train_encoder = encoder, train_encoder
        encoder.requires_grad_(train_encoder)
        self.project = nn.Sequential(nn.Linear(encoder.embed_dim, dim), nn.LayerNorm(dim))
        self.position = nn.Embedding(max_frames, dim)
        nn.init.normal_(self.position.weight, std=0.02)

    def train(self, mode: bool = True) -> AudioTokens:
        super().train(mode)
        if not self.train_encoder:
            self.encoder.eval()
        return self

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames = audio.shape[:2]
        if frames > self.position.num_embeddings:
            raise ValueError(f"a clip of {frames} frames is longer than max_frames={self.position.num_embeddings}")
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.train_encoder):
            embeddings = self.encoder(audio.flatten(0, 1).float())  # (B*T, E)
        tokens = self.project(embeddings.view(batch, frames, -1))
        return tokens, self.position.weight[:frames]


class AudioCrossAttention(nn.Module):
    """Queries (Q, B, C) with positions read audio tokens (T, B, C) with positions: post-norm residual
    multi-head attention (Mask2Former's layer style)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads)
        self.norm = nn.LayerNorm(dim)
        for param in self.attention.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)
        nn.init.zeros_(self.attention.in_proj_bias)

    def forward(self, queries: torch.Tensor, query_position: torch.Tensor, audio: torch.Tensor,
                audio_position: torch.Tensor) -> torch.Tensor:
        out, _ = self.attention(query=queries + query_position, key=audio + audio_position, value=audio)
        return self.norm(queries + out)
