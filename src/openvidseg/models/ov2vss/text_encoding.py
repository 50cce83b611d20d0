"""Video Text Encoding (VTE): prompt embeddings made aware of the frame they classify."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.models.layers import Attention, Mlp

VTE_QUERIES = ("templates", "classes")


class VideoTextEncoder(nn.Module):
    """T' = T + alpha * Decoder(T, F), X-CLIP's video-specific prompting: every template embedding of
    every class cross-attends to the frame's dense CLIP tokens through one pre-norm transformer decoder
    layer, X = T + Attn(LN(T), LN(F)), Decoder = X + MLP(LN(X)) (so the MLP sees T and the update, and the
    decoder's output keeps T); alpha is a learnable per-channel scale starting at 1e-4, so training starts
    from CLIP's text. Classes never interact: the vocabulary stays open.

    queries: 'templates' (the specification: every template embedding is a query, K x P of them) or
    'classes' (ours, for large vocabularies: one query per class, its normalised template average, whose
    decoded update is added to each of its templates: P times less work).
    text: (K, P, D) or (B, K, P, D); visual: (B, D, h, w) -> (B, K, P, D)."""

    def __init__(self, dim: int, heads: int = 8, mlp_ratio: int = 4, alpha_init: float = 1e-4,
                 queries: str = "templates"):
        super().__init__()
        if queries not in VTE_QUERIES:
            raise ValueError(f"unknown VTE queries '{queries}': use {' or '.join(VTE_QUERIES)}")
        self.queries = queries
        self.query_norm = nn.LayerNorm(dim)
        self.memory_norm = nn.LayerNorm(dim)
        self.attention = Attention(dim, heads)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim * mlp_ratio)
        self.alpha = nn.Parameter(torch.full((dim,), alpha_init))

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        batch = visual.shape[0]
        if text.dim() == 3:
            text = text.unsqueeze(0).expand(batch, -1, -1, -1)
        classes, templates, dim = text.shape[1:]
        if self.queries == "classes":
            queries = F.normalize(text.mean(dim=-2), dim=-1)  # (B, K, D)
        else:
            queries = text.reshape(batch, classes * templates, dim)
        memory = self.memory_norm(visual.flatten(2).transpose(1, 2))
        decoded = queries + self.attention(self.query_norm(queries), memory)
        decoded = decoded + self.mlp(self.mlp_norm(decoded))
        if self.queries == "classes":
            return text + self.alpha * decoded.unsqueeze(-2)
        return (queries + self.alpha * decoded).reshape(batch, classes, templates, dim)
