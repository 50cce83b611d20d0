"""Inference-time class pruning for large vocabularies (ours): the per-class stages (VTE, cost aggregation,
decoder) run only for the classes most likely to show up by cheap per-pixel logits."""
from __future__ import annotations

import torch

PRUNED_MARGIN = 1e4  # pruned classes' logits lie this far below the lowest kept logit


def prune_classes(logits: torch.Tensor, keep: int) -> torch.Tensor | None:
    """The `keep` classes to run, as sorted indices (k,), or None when there are no more than `keep` classes.

    logits: cheap per-pixel class logits (B, K, h, w). A class ranks by its peak probability, the max over
    pixels (and batch entries) of the softmax over classes: a class that is likely somewhere, even on a
    few pixels, is kept."""
    classes = logits.shape[1]
    if classes <= keep:
        return None
    peak = logits.float().softmax(dim=1).transpose(0, 1).flatten(1).amax(dim=1)  # (K,)
    return peak.topk(keep).indices.sort().values


def unprune(logits: torch.Tensor, kept: torch.Tensor, classes: int) -> torch.Tensor:
    """(B, k, H, W) logits of the kept classes -> (B, K, H, W), the pruned classes `PRUNED_MARGIN` below the
    lowest kept logit (they lose at every pixel; a softmax gives them no probability)."""
    full = logits.new_full((logits.shape[0], classes, *logits.shape[2:]), logits.amin().item() - PRUNED_MARGIN)
    return full.index_copy_(1, kept, logits)
