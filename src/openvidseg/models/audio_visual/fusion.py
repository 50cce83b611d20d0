"""Bi-directional audio-visual attention (OV-AVSS's universal sound-source localisation, after GLIP's
bi-directional vision-language block): visual tokens read the audio tokens and audio tokens read the
visual tokens through one shared attention map, pre-LN, `heads` heads in an `inner_dim` space, each
direction added back through a layer scale initialised small (1/6).

Visual tokens of frame f attend to the clip's T audio tokens plus a learned "silence" token, with a
learned bias for each audio token's offset from the frame (t - f): a pixel can take the sound of its own
second when that sound matches it, and the silence token when no sound does, so the update it receives
says whether it sounds now. (Without the silence token every pixel's attention weights sum to one over
the sounds alone: every pixel receives some sound, and the update cannot tell a sounding pixel from a
silent one.) Audio tokens attend to the visual tokens of every frame.
"""
from __future__ import annotations

import torch
from torch import nn

LOGIT_CLAMP = 50_000.0  # as GLIP: keeps exp() finite in fp16


class AudioVisualBiAttention(nn.Module):
    """visual (B, T, N, C_v) tokens of T frames, audio (B, T, C_a) one token per frame -> both updated.

    visual_dim / audio_dim: token widths; inner_dim: the attention space (heads * head width); max_frames:
    the longest clip (for the offset biases); layer_scale: the initial residual scale of both directions.
    """

    def __init__(self, visual_dim: int, audio_dim: int, *, inner_dim: int = 1024, heads: int = 8,
                 max_frames: int = 16, layer_scale: float = 1 / 6) -> None:
        super().__init__()
        if inner_dim % heads:
            raise ValueError(f"inner_dim {inner_dim} is not a multiple of heads {heads}")
        self.heads, self.head_dim, self.max_frames = heads, inner_dim // heads, max_frames
        self.visual_norm, self.audio_norm = nn.LayerNorm(visual_dim), nn.LayerNorm(audio_dim)
        self.visual_query, self.audio_key = nn.Linear(visual_dim, inner_dim), nn.Linear(audio_dim, inner_dim)
        self.visual_value, self.audio_value = nn.Linear(visual_dim, inner_dim), nn.Linear(audio_dim, inner_dim)
        self.visual_out, self.audio_out = nn.Linear(inner_dim, visual_dim), nn.Linear(inner_dim, audio_dim)
        self.silence = nn.Parameter(torch.zeros(1, 1, audio_dim))
        self.offset_bias = nn.Parameter(torch.zeros(heads, 2 * max_frames - 1))
        self.visual_scale = nn.Parameter(torch.full((visual_dim,), layer_scale))
        self.audio_scale = nn.Parameter(torch.full((audio_dim,), layer_scale))
        for linear in (self.visual_query, self.audio_key, self.visual_value, self.audio_value, self.visual_out,
                       self.audio_out):
            nn.init.xavier_uniform_(linear.weight)
            nn.init.zeros_(linear.bias)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """(..., L, heads * d) -> (..., heads, L, d)."""
        return x.unflatten(-1, (self.heads, self.head_dim)).transpose(-3, -2)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, frames, tokens, _ = visual.shape
        if audio.shape[:2] != (batch, frames):
            raise ValueError(f"audio tokens {tuple(audio.shape)} do not match {frames} frames of a batch of {batch}")
        if frames > self.max_frames:
            raise ValueError(f"a clip of {frames} frames is longer than max_frames={self.max_frames}")
        v, a = self.visual_norm(visual), self.audio_norm(audio)
        keys = torch.cat([a, self.silence.expand(batch, 1, -1)], dim=1)  # (B, T + 1, C_a): the sounds and silence
        query = self._split(self.visual_query(v)) * self.head_dim ** -0.5  # (B, T, h, N, d)
        key, audio_value = self._split(self.audio_key(keys)), self._split(self.audio_value(keys))  # (B, h, T+1, d)
        logits = torch.einsum("bfhnd,bhtd->bfhnt", query, key)  # (B, T, h, N, T + 1)
        offsets = torch.arange(frames, device=visual.device)
        relative = (offsets[None, :] - offsets[:, None]) + self.max_frames - 1  # [frame, audio token] -> index
        bias = self.offset_bias[:, relative].permute(1, 0, 2)  # (T, h, T)
        bias = torch.cat([bias, bias.new_zeros(frames, self.heads, 1)], dim=-1)  # silence: no offset bias
        logits = (logits + bias[None, :, :, None, :]).clamp(-LOGIT_CLAMP, LOGIT_CLAMP)
        to_audio = torch.einsum("bfhnt,bhtd->bfhnd", logits.softmax(-1), audio_value)  # visual reads audio
        visual = visual + self.visual_scale * self.visual_out(to_audio.transpose(-3, -2).flatten(-2))
        # audio tokens read every frame's visual tokens through the same map (the silence column dropped)
        reverse = logits[..., :frames].permute(0, 2, 4, 1, 3).flatten(-2)  # (B, h, T, T * N)
        visual_value = self._split(self.visual_value(v)).transpose(1, 2).flatten(2, 3)  # (B, h, T * N, d)
        to_visual = reverse.softmax(-1) @ visual_value  # (B, h, T, d)
        audio = audio + self.audio_scale * self.audio_out(to_visual.transpose(1, 2).flatten(-2))
        return visual, audio


def fuse_pyramid(block: AudioVisualBiAttention, levels: list[torch.Tensor], audio: torch.Tensor,
                 frames: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Run `block` on feature maps (B*T, C, h_l, w_l) (every level's tokens together) and audio (B, T, C_a);
    returns the maps in their shapes and the updated audio tokens."""
    sizes = [level.shape[-2:] for level in levels]
    batch = levels[0].shape[0] // frames
    tokens = torch.cat([level.flatten(2).transpose(1, 2) for level in levels], dim=1)  # (B*T, N, C)
    visual, audio = block(tokens.view(batch, frames, *tokens.shape[1:]), audio)
    visual = visual.flatten(0, 1)
    out, start = [], 0
    for level, (height, width) in zip(levels, sizes):
        count = height * width
        out.append(visual[:, start:start + count].transpose(1, 2).reshape(level.shape))
        start += count
    return out, audio

