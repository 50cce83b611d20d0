"""Per-class work in chunks of classes at inference."""
from __future__ import annotations

from collections.abc import Callable

import torch


def in_class_chunks(fn: Callable[..., torch.Tensor], x: torch.Tensor, chunk: int, *args) -> torch.Tensor:
    """fn(x, *args) for a (B, K, ...) tensor whose classes fn treats independently, run `chunk` classes at a
    time when autograd is off (the same result; a chunk's per-class maps stay in the CPU's caches, which
    makes memory-bound layers on large vocabularies faster). chunk 0 or K <= chunk: one call."""
    classes = x.shape[1]
    if torch.is_grad_enabled() or not chunk or classes <= chunk:
        return fn(x, *args)
    return torch.cat([fn(x[:, i:i + chunk], *args) for i in range(0, classes, chunk)], dim=1)
