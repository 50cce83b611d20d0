"""CAT-Seg's sliding-window test mode for models that see a fixed square input (OV2VSS's CLIP at 384 x 384):
instead of squashing a wide frame into the square, the frame is covered by square windows (side = its
short side, overlapping by a third) and also seen whole (the global view); every view goes through the
model as one batch entry, and the views' logits are merged: windows averaged where they overlap, then
averaged with the global view's. A frame that one window covers is seen once, as in the whole mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

TEST_MODES = ("whole", "slide")


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x if tuple(x.shape[-2:]) == tuple(size) else F.interpolate(x, size=size, mode="bilinear",
                                                                        align_corners=False)


@dataclass(frozen=True)
class SlidingViews:
    """overlap: the share of a window its neighbour overlaps (CAT-Seg: 1/3)."""

    overlap: float = 1 / 3

    def __post_init__(self):
        if not 0 <= self.overlap < 1:
            raise ValueError(f"window overlap must be in [0, 1), got {self.overlap}")

    def windows(self, height: int, width: int) -> list[tuple[int, int, int]]:
        """(top, left, side) of the square windows over a frame of this size: side = the short side, offsets
        along the long side every side x (1 - overlap) pixels, the last window flush with the far edge."""
        side, long = min(height, width), max(height, width)
        stride = max(1, int(side * (1 - self.overlap)))
        offsets = sorted({*range(0, long - side + 1, stride), long - side})
        return [(0, o, side) if width >= height else (o, 0, side) for o in offsets]

    def split(self, image: torch.Tensor) -> torch.Tensor:
        """(1, 3, H, W) -> (V, 3, S, S): the windows, then the whole frame resized to S x S (left out when a
        single window covers the frame)."""
        boxes = self.windows(*image.shape[-2:])
        crops = [image[..., top:top + side, left:left + side] for top, left, side in boxes]
        if len(boxes) > 1:
            side = boxes[0][2]
            crops.append(_resize(image, (side, side)))
        return torch.cat(crops)

    def merge(self, logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(V, K, S', S') logits of the views (any S') -> (1, K, H, W): the windows' logits averaged where
        they overlap, then averaged with the global view's."""
        boxes = self.windows(height, width)
        if len(boxes) == 1:
            return _resize(logits, (height, width))
        side = boxes[0][2]
        total = logits.new_zeros(1, logits.shape[1], height, width)
        count = logits.new_zeros(1, 1, height, width)
        for (top, left, _), view in zip(boxes, _resize(logits[:-1], (side, side))):
            total[..., top:top + side, left:left + side] += view
            count[..., top:top + side, left:left + side] += 1
        return 0.5 * (total / count + _resize(logits[-1:], (height, width)))
