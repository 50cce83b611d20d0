"""The audio-visual query decoder: the instance stack's masked-attention decoder (decoding the T frames of a
clip jointly) with the queries reading the clip's audio tokens, as OV-AVSS: first once before the first
layer, then in every layer after its self-attention, so each layer runs masked attention, self-attention,
audio cross-attention, FFN.

transformers' decoder layer applies a LayerNorm right after its self-attention residual; that norm is
wrapped here so the audio cross-attention runs right after it (`NormThenAudio`), which keeps the layers,
their weights and their loop transformers' own. The audio context is set for the duration of a forward.
"""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import torch
from torch import nn

from openvidseg.models.audio_visual.audio_tokens import AudioCrossAttention
from openvidseg.models.instance.query_decoder import QueryDecoder, QueryDecoderOutput


class NormThenAudio(nn.Module):
    """A decoder layer's post-self-attention LayerNorm followed by the queries' audio cross-attention."""

    def __init__(self, norm: nn.LayerNorm, audio: AudioCrossAttention, owner: AudioQueryDecoder) -> None:
        super().__init__()
        self.norm, self.audio = norm, audio
        self._owner = [owner]  # a list: not a submodule (no cycle in the module tree)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        context = self._owner[0].audio_context
        if context is None:
            raise RuntimeError("the audio-visual decoder runs only inside AudioQueryDecoder.forward")
        tokens, positions, query_position = context
        return self.audio(self.norm(hidden), query_position, tokens, positions)


class AudioQueryDecoder(QueryDecoder):
    """`QueryDecoder` whose queries read audio tokens (B, T, C) with positions (T, C) before the first layer
    and inside every layer."""

    def __init__(self, *, hidden_dim: int = 256, mask_dim: int = 256, num_queries: int = 100, layers: int = 9,
                 heads: int = 8, ffn_dim: int = 2048) -> None:
        super().__init__(hidden_dim=hidden_dim, mask_dim=mask_dim, num_queries=num_queries, layers=layers,
                         heads=heads, ffn_dim=ffn_dim)
        self.audio_context: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.first_audio = AudioCrossAttention(hidden_dim, heads)
        for layer in self.decoder.layers:
            if layer.pre_norm:  # a pre-norm layer applies this norm before its self-attention
                raise ValueError("the audio cross-attention follows the self-attention of post-norm layers only")
            layer.self_attn_layer_norm = NormThenAudio(layer.self_attn_layer_norm,
                                                       AudioCrossAttention(hidden_dim, heads), self)

    @contextmanager
    def _audio(self, tokens: torch.Tensor, positions: torch.Tensor):
        batch = tokens.shape[0]
        query_position = self.query_position.weight.unsqueeze(1).repeat(1, batch, 1)
        self.audio_context = (tokens.transpose(0, 1), positions.unsqueeze(1).to(tokens.dtype), query_position)
        try:
            yield
        finally:
            self.audio_context = None

    def initial_queries(self, batch: int) -> torch.Tensor:
        queries = super().initial_queries(batch)
        tokens, positions, query_position = self.audio_context
        return self.first_audio(queries, query_position, tokens, positions)

    def forward(self, memory: Sequence[torch.Tensor], mask_features: torch.Tensor, frames: int = 1,
                audio: torch.Tensor | None = None, audio_positions: torch.Tensor | None = None) -> QueryDecoderOutput:
        """memory, mask_features and frames as `QueryDecoder`; audio (B, T, C) tokens of the B clips and their
        positions (T, C)."""
        if audio is None or audio_positions is None:
            raise ValueError("the audio-visual decoder needs the clips' audio tokens and their positions")
        with self._audio(audio, audio_positions):
            return super().forward(memory, mask_features, frames)
