"""Overlays of audio-visual results: each sounding object blended in its class colour, outlined, and marked
with a small loudspeaker drawn beside it; the legend names the classes heard in the frame."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from openvidseg.viz.overlay import blend, draw_legend
from openvidseg.vocabulary import NO_CLASS


def outline(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """(H, W) bool: the pixels of `mask` within `width` pixels of its border."""
    inner = mask.copy()
    for _ in range(width):
        shrunk = inner.copy()
        shrunk[1:] &= inner[:-1]
        shrunk[:-1] &= inner[1:]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    return mask & ~inner


def draw_speaker(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, colour: Sequence[int]) -> None:
    """A loudspeaker with two sound waves, `size` pixels tall, its top-left corner at (x, y)."""
    fill = tuple(int(c) for c in colour)
    s = size
    box = [x, y + s * 0.3, x + s * 0.25, y + s * 0.7]
    cone = [(x + s * 0.25, y + s * 0.3), (x + s * 0.5, y + s * 0.05), (x + s * 0.5, y + s * 0.95), (x + s * 0.25, y + s * 0.7)]
    draw.rectangle(box, fill=fill, outline=(0, 0, 0))
    draw.polygon(cone, fill=fill, outline=(0, 0, 0))
    for radius in (0.25, 0.45):
        r = s * radius
        draw.arc([x + s * 0.5 - r, y + s * 0.5 - r, x + s * 0.5 + r, y + s * 0.5 + r], start=-50, end=50, fill=fill,
                 width=max(1, s // 10))


def sounding_overlay(frame: np.ndarray, labels: np.ndarray, class_names: Sequence[str], colors: np.ndarray,
                     alpha: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8 frame with its sounding objects (labels: class indices, NO_CLASS elsewhere) blended,
    outlined in white, marked with a loudspeaker, and a legend of the classes heard ("<name> (sounding)")."""
    image = blend(frame, labels, colors, alpha)
    present = [int(i) for i in np.unique(labels) if i != NO_CLASS and i < len(class_names)]
    height, width = labels.shape
    border = max(1, min(height, width) // 150)
    size = max(10, min(height, width) // 12)
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for cls in present:
        mask = labels == cls
        edge = outline(mask, border)
        pixels = np.asarray(canvas).copy()
        pixels[edge] = (255, 255, 255)
        canvas = Image.fromarray(pixels)
        draw = ImageDraw.Draw(canvas)
        rows, cols = np.nonzero(mask)
        x = int(min(cols.max() + 2, width - size))
        y = int(max(rows.min() - size // 2, 0))
        draw_speaker(draw, x, y, size, colors[cls])
    entries = [(f"{class_names[i]} (sounding)", colors[i]) for i in present]
    return draw_legend(np.asarray(canvas), entries)
