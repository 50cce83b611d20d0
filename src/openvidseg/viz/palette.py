"""Class colours: distinct, deterministic, and the same for a class index everywhere (masks, overlays, charts)."""
from __future__ import annotations

import colorsys

import numpy as np

from openvidseg.vocabulary import NO_CLASS

GOLDEN = 0.618033988749895
NO_CLASS_COLOR = (0, 0, 0)


def class_colors(num_classes: int) -> np.ndarray:
    """(K, 3) uint8 RGB colours: hues spaced by the golden ratio, saturation/brightness alternating."""
    colors = []
    for i in range(num_classes):
        hue = (0.08 + i * GOLDEN) % 1.0
        saturation = (0.85, 0.6, 0.95)[i % 3]
        value = (0.95, 0.8, 0.65)[(i // 3) % 3]
        colors.append([round(255 * c) for c in colorsys.hsv_to_rgb(hue, saturation, value)])
    return np.array(colors, dtype=np.uint8).reshape(num_classes, 3)


def png_palette(colors: np.ndarray) -> list[int]:
    """A 256-entry palette for a mode-'P' PNG: index i = colors[i], unused entries and 255 black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[: min(len(colors), NO_CLASS)] = colors[:NO_CLASS]
    table[NO_CLASS] = NO_CLASS_COLOR
    return table.reshape(-1).tolist()


def track_palette(colors: np.ndarray) -> list[int]:
    """A 256-entry palette for a mode-'P' PNG of track ids: 0 (no track) black, id i = colors[i - 1]."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[1 : 1 + min(len(colors), 255)] = colors[:255]
    return table.reshape(-1).tolist()
