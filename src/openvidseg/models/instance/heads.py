"""Class-agnostic query heads: objectness (2-way) and predicted mask IoU (CLIP-VIS)."""
from __future__ import annotations

import torch
from torch import nn

from openvidseg.models.layers import Mlp


class ObjectnessHead(nn.Module):
    """(B, Q, C) query embeddings -> (B, Q, 2) logits: (object, no object)."""

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.linear = nn.Linear(hidden_dim, 2)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        return self.linear(queries)


class MaskIoUHead(nn.Module):
    """(B, Q, C) query embeddings -> (B, Q) the IoU each query's mask is predicted to have with its object, in
    [0, 1] (a two-layer MLP and a sigmoid)."""

    def __init__(self, hidden_dim: int):
        super().__init__()
        self.mlp = Mlp(hidden_dim, hidden_dim, 1)

    def forward(self, queries: torch.Tensor) -> torch.Tensor:
        return self.mlp(queries).squeeze(-1).sigmoid()
