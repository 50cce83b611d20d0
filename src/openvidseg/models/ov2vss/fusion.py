"""Spatial-Temporal Context Fusion (STF): a progressive cross-attention chain over the reference frames,
oldest to newest, ending at the target, with cross-scale aggregation of the levels' attention maps."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.models.layers import P2TPooling


class CrossScaleAggregation(nn.Module):
    """Refines the levels' cross-attention logits with context from coarser levels.

    Each level's logits, viewed per key token as a map over the H x W query grid, are squeezed to
    `hidden` channels by a 3x3 conv of their own (one grouped conv runs every level at once); the
    squeezed maps are merged coarse into fine (level l receives the sum of itself and every coarser
    level; the last level is the coarsest) and expanded back to one channel, added as a residual, as
    HSNet squeezes hypercorrelations. Working per key token keeps it independent of the number of keys,
    so any input size works. Input and output: (B, L, HW, N) logits for L levels, HW queries, N keys.
    """

    def __init__(self, num_levels: int, hidden: int = 8):
        super().__init__()
        self.levels, self.hidden = num_levels, hidden
        width = num_levels * hidden
        self.squeeze = nn.Sequential(nn.Conv2d(num_levels, width, 3, padding=1, groups=num_levels), nn.GELU())
        self.expand = nn.Conv2d(width, num_levels, 1, groups=num_levels)
        nn.init.normal_(self.expand.weight, std=1e-3)  # start close to the identity (plain attention)
        nn.init.zeros_(self.expand.bias)

    def forward(self, logits: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        batch, levels, queries, keys = logits.shape
        # one map per (key, level), channels-last (the L levels innermost): the grouped convs run about 3x
        # faster on CPU in that layout than on L planes
        maps = logits.permute(0, 3, 2, 1).contiguous().view(batch * keys, *grid, levels).permute(0, 3, 1, 2)
        # coarse into fine, then expand: level l gets expand_l(sum of squeezed levels l..L-1). Both are linear,
        # so they run as one 1x1 conv whose weight repeats expand_l over the blocks of levels l..L-1
        coarser = torch.ones(levels, levels, device=logits.device, dtype=self.expand.weight.dtype).triu()
        weight = coarser[:, :, None] * self.expand.weight.view(levels, 1, self.hidden)  # (L, L, hidden)
        refined = maps + F.conv2d(self.squeeze(maps), weight.reshape(levels, -1, 1, 1), self.expand.bias)
        return refined.permute(0, 2, 3, 1).reshape(batch, keys, queries, levels).permute(0, 3, 2, 1)


class SpatialTemporalFusion(nn.Module):
    """Fuses a target frame's appearance levels with its reference frames'.

    The chain starts from the oldest reference; each later frame (the target last) queries the P2T
    tokens of the state carried so far, level by level; the state after the target is concatenated over
    levels and projected to C. Input: frames oldest first, each L x (B, C, H, W), all on one grid.
    Output: (B, C, H, W), the fused target feature O_t.

    raw_dot_attention: the public code's attention (no 1/sqrt(C) scaling and no softmax), for comparison.
    """

    def __init__(self, channels: int, num_levels: int, pool_ratios: Sequence[int] = (2, 4, 6, 8),
                 raw_dot_attention: bool = False, aggregation_hidden: int = 8):
        super().__init__()
        self.raw_dot_attention = raw_dot_attention
        self.scale = channels ** -0.5
        self.pools = nn.ModuleList(P2TPooling(channels, pool_ratios) for _ in range(num_levels))
        self.query = nn.ModuleList(nn.Linear(channels, channels) for _ in range(num_levels))
        self.key = nn.ModuleList(nn.Linear(channels, channels) for _ in range(num_levels))
        self.value = nn.ModuleList(nn.Linear(channels, channels) for _ in range(num_levels))
        self.out = nn.ModuleList(nn.Linear(channels, channels) for _ in range(num_levels))
        self.norm = nn.ModuleList(nn.LayerNorm(channels) for _ in range(num_levels))
        self.cross_scale = CrossScaleAggregation(num_levels, aggregation_hidden)
        self.fuse = nn.Linear(num_levels * channels, channels)

    def step(self, queries: Sequence[torch.Tensor], state: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """One link of the chain: L x (B, C, H, W) queries attend to the P2T tokens of L x (B, C, h, w) state."""
        grid = tuple(queries[0].shape[-2:])
        flat = [q.flatten(2).transpose(1, 2) for q in queries]  # L x (B, HW, C)
        values, logits = [], []
        for level, (q, s) in enumerate(zip(flat, state)):
            tokens = self.pools[level](s)  # (B, N, C)
            values.append(self.value[level](tokens))
            logits.append(self.query[level](q) @ self.key[level](tokens).transpose(1, 2))
        logits = torch.stack(logits, dim=1)  # (B, L, HW, N)
        if self.raw_dot_attention:
            weights = self.cross_scale(logits, grid)
        else:
            weights = self.cross_scale(logits * self.scale, grid).softmax(dim=-1)
        out = []
        for level, q in enumerate(flat):
            fused = self.norm[level](q + self.out[level](weights[:, level] @ values[level]))
            out.append(fused.transpose(1, 2).reshape_as(queries[level]))
        return out

    def forward(self, frames: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        state = list(frames[0])
        for levels in frames[1:] or frames[:1]:  # a target alone attends to itself
            state = self.step(levels, state)
        return self.fuse(torch.cat(state, dim=1).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
