"""Temporal cost fusion (TCF, ours, not in the specification): the reference frames' cost volumes fused
into the target's, so that a pixel whose own CLIP evidence is poor (a corrupted, blurred or dropped frame)
can take its class evidence from where the same content was in the frames before.

In the specification the cost volume, which decides the class of every pixel, is built from the target
frame's CLIP embeddings alone; temporal context (STF, RFE) only enters as guidance of its aggregation, so a
corrupted target gets a corrupted cost volume whatever its references show.

The cost volume is linear in the (L2-normalised) dense CLIP embeddings: for weights a summing to 1,
sum_f a_f cos(F_f, T) = <sum_f a_f F^_f, T^>. Fusing the normalised embeddings with class-agnostic weights
is therefore exactly a fusion of the frames' cost volumes, computed once instead of once per class, and
the vocabulary stays open (no learned map touches the text-aligned values).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class TemporalCostFusion(nn.Module):
    """Each target position attends to a (2r+1) x (2r+1) window around itself in every frame of the clip
    (references oldest first, the target last), with queries and keys projected from the frames' normalised
    CLIP embeddings, a learned bias per (frame slot, window offset), a learned trust in the target's own
    window read from the target's embedding alone (a corrupted or dropped frame looks unlike a clean one, so
    trust can fall where keys compared with the query cannot tell), and a learned trust in every frame read
    from the mean and spread of its embeddings over positions (a dropped frame has no spread), so a
    corrupted reference can be passed over as well. The values are the normalised embeddings themselves.
    The bias starts strongly on the target's own position and both trusts at 0, so training starts close
    to the per-frame cost volume. Bias and trusts are scaled by `gain` (10): they must move by several
    units, which a learning rate made for weights (1e-3 per Adam step) would not give them in a short
    schedule.

    target: (B, D, h, w); refs: S x (B, D, h, w) -> fused (B, D, h, w), not re-normalised (its norm says how
    much the fused frames agree), to be compared with normalised text embeddings."""

    def __init__(self, dim: int, num_frames: int, radius: int = 2, key_dim: int = 32, self_bias: float = 7.0,
                 gain: float = 10.0):
        super().__init__()
        if radius < 0 or num_frames < 1:
            raise ValueError(f"temporal cost fusion needs radius >= 0 and >= 1 frame, got {radius}, {num_frames}")
        self.radius, self.num_frames = radius, num_frames
        self.norm = nn.LayerNorm(dim)
        self.query = nn.Linear(dim, key_dim)
        self.key = nn.Linear(dim, key_dim)
        self.scale = key_dim ** -0.5
        self.trust = nn.Linear(dim, 1)  # the target's trust in its own window, per position
        self.frame_trust = nn.Linear(2 * dim, 1)  # every frame's trust, from its embeddings' mean and spread
        for layer in (self.trust, self.frame_trust):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.gain = gain
        window = (2 * radius + 1) ** 2
        bias = torch.zeros(num_frames, window)
        bias[-1, window // 2] = self_bias / gain  # the target's own position
        self.bias = nn.Parameter(bias)

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, C, W, h*w): the W = (2r+1)^2 neighbours of every position (zero outside)."""
        size = 2 * self.radius + 1
        return F.unfold(x, size, padding=self.radius).unflatten(1, (x.shape[1], size * size))

    def weights(self, values: Sequence[torch.Tensor]) -> torch.Tensor:
        """Attention weights of every target position over the frames' windows, from the normalised
        embeddings S x (B, D, h, w) (target last) -> (B, S, W, h*w), summing to 1 over (S, W); offsets
        outside the map get no weight."""
        height, width = values[-1].shape[-2:]
        normed = self.norm(values[-1].flatten(2).transpose(1, 2))  # (B, hw, D)
        query = self.query(normed)  # (B, hw, k)
        trust = self.trust(normed).transpose(1, 2)  # (B, 1, hw)
        inside = self._windows(values[-1].new_ones(1, 1, height, width))[0, 0]  # (W, hw)
        scores = []
        for slot, value in enumerate(values):
            key = self.key(self.norm(value.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)  # (B, k, h, w)
            score = torch.einsum("bnk,bkwn->bwn", query, self._windows(key)) * self.scale
            flat = value.flatten(2)  # (B, D, hw)
            prior = self.bias[slot][None, :, None] + self.frame_trust(torch.cat([flat.mean(-1), flat.std(-1)], -1))[..., None]
            if slot == len(values) - 1:
                prior = prior + trust
            scores.append((score + self.gain * prior).masked_fill(inside[None] == 0, float("-inf")))
        return torch.cat(scores, dim=1).softmax(dim=1).unflatten(1, (len(values), -1))  # one softmax over all

    def forward(self, target: torch.Tensor, refs: Sequence[torch.Tensor]) -> torch.Tensor:
        frames = [*refs, target]
        if len(frames) != self.num_frames:
            raise ValueError(f"temporal cost fusion was built for {self.num_frames} frames, got {len(frames)}")
        values = [F.normalize(f.float(), dim=1) for f in frames]
        weights = self.weights(values)
        fused = sum(torch.einsum("bwn,bdwn->bdn", weights[:, slot], self._windows(value))
                    for slot, value in enumerate(values))
        return fused.reshape(target.shape)
