"""From sounding-object proposals to a semantic map: the best `top_k` proposals whose score passes
`threshold` are painted, the highest score first; a pixel keeps the first class painted on it."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SoundingObjects:
    """The kept proposals of one clip, best first: masks (N, T, H, W) bool, class indices (N,) into the
    vocabulary, scores (N,) = sounding probability x class probability."""

    masks: torch.Tensor
    classes: torch.Tensor
    scores: torch.Tensor


def select_objects(masks: torch.Tensor, sounding: torch.Tensor, class_probs: torch.Tensor, top_k: int = 10,
                   threshold: float = 0.3) -> SoundingObjects:
    """masks (Q, T, H, W) bool, sounding (Q,) probabilities, class_probs (Q, K) -> the kept proposals: each
    query's best class, score = sounding x that class's probability, the `top_k` best above `threshold`."""
    best, classes = class_probs.max(dim=-1)
    scores = sounding * best
    order = scores.argsort(descending=True)[:top_k]
    order = order[(scores[order] > threshold) & masks[order].flatten(1).any(1)]
    return SoundingObjects(masks[order], classes[order], scores[order])


def paint(objects: SoundingObjects, frames: int, size: tuple[int, int]) -> torch.Tensor:
    """(T, H, W) uint8: class index + 1 where an object is painted (best score first), 0 elsewhere."""
    out = torch.zeros(frames, *size, dtype=torch.uint8, device=objects.masks.device)
    for mask, cls in zip(objects.masks, objects.classes):
        out[mask & (out == 0)] = int(cls) + 1
    return out
