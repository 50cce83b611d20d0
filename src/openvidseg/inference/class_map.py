"""Class maps from per-class scores: the argmax over K, and the same argmax of bilinearly upsampled
low-resolution logits computed without upsampling the classes that cannot win anywhere."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def class_map(scores: torch.Tensor) -> torch.Tensor:
    """(1, K, H, W) scores -> (H, W) int64 argmax over K (the first class on ties), on the CPU."""
    # classes innermost: a contiguous reduction, 3x faster on CPU than across K planes (same ties); free
    # when the scores are already channels-last (as `upsampled_class_map` makes them)
    return scores[0].permute(1, 2, 0).contiguous().argmax(dim=-1).cpu()


def upsampled_class_map(logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, K, h, w) logits -> (H, W) int64: the class map of the logits upsampled bilinearly to `size`
    (align_corners=False), identical to `class_map(F.interpolate(logits, size))`, but only the classes that
    can win somewhere are upsampled. (The upsampling runs channels-last, whose CPU kernel rounds differently
    from the planar one by about 1e-6: only a pixel where two classes tie within that may differ.)

    Upsampled values inside a 2 x 2 cell of low-resolution pixels are convex combinations of its 4 values,
    so class k lies in [min, max] of its 4 values there; a class whose max in a cell is below the largest
    min of any class in that cell loses at every output pixel of the cell. Classes that lose in every cell
    are left out (with a small tolerance for rounding, so the result stays exact). Before that, a cheaper
    test on whole maps: every cell's largest min is at least the largest of the classes' global minima, so a
    class whose global max is below that loses everywhere (e.g. the classes `class_pruning` left out)."""
    if tuple(logits.shape[-2:]) == tuple(size):
        return class_map(logits)
    logits = logits.float()
    lowest, highest = logits.amin(dim=(0, 2, 3)), logits.amax(dim=(0, 2, 3))  # (K,) each
    floor = lowest.max()
    alive = (highest >= floor - 1e-5 * (1 + floor.abs())).nonzero()[:, 0]
    if len(alive) < logits.shape[1]:
        return alive.cpu()[upsampled_class_map(logits[:, alive], size)]
    cells = F.pad(logits, (0, 1, 0, 1), mode="replicate")  # the last row/column's cells hold that row/column
    high = F.max_pool2d(cells, 2, stride=1)  # (1, K, h, w): each class's max over each cell
    low = -F.max_pool2d(-cells, 2, stride=1)
    best_low = low.amax(dim=1, keepdim=True)
    tolerance = 1e-5 * (1 + best_low.abs())
    candidates = (high >= best_low - tolerance).flatten(2).any(dim=-1)[0].nonzero()[:, 0]  # sorted class indices
    # channels-last in and out: CPU's vectorised bilinear kernel, and the argmax then reads contiguous rows of
    # K values (about 2x faster in all than planar upsampling plus a transpose at K = 20, 480 x 854)
    chosen = logits[:, candidates].contiguous(memory_format=torch.channels_last)
    upsampled = F.interpolate(chosen, size=tuple(size), mode="bilinear", align_corners=False)
    return candidates.cpu()[class_map(upsampled)]
