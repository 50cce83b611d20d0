"""A two-layer feed-forward block."""
from __future__ import annotations

import torch
from torch import nn


class Mlp(nn.Module):
    """(..., C) -> (..., out): Linear, GELU, Linear."""

    def __init__(self, dim: int, hidden: int, out: int | None = None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
