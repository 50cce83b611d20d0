"""Coloured class maps blended over frames, with a legend of the classes present."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from openvidseg.viz.fonts import FontChooser
from openvidseg.viz.palette import png_palette
from openvidseg.vocabulary import NO_CLASS


def save_label_png(labels: np.ndarray, path: str | Path, colors: np.ndarray) -> None:
    """Write an (H, W) map of class indices (255 = no class) as a palette PNG: pixel value = class index,
    shown in the class's colour."""
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(png_palette(colors))
    image.save(path, format="PNG", optimize=False)


def blend(frame: np.ndarray, labels: np.ndarray, colors: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8 frame with class colours blended in at `alpha`; pixels of no class are left as they are.
    Every (class, channel, grey level) result is computed once in a table, then looked up per pixel (the
    same float32 arithmetic per value as blending pixel by pixel, 3x faster at 720p)."""
    labels = np.asarray(labels)
    lut = np.zeros((256, 3), dtype=np.float32)
    lut[: len(colors)] = colors
    levels = np.arange(256, dtype=np.float32)
    table = ((1 - alpha) * levels[None, None, :] + alpha * lut[:, :, None]).round().clip(0, 255).astype(np.uint8)
    table[NO_CLASS] = np.arange(256, dtype=np.uint8)  # (256 classes, 3 channels, 256 levels); no class: unchanged
    index = (labels.astype(np.intp)[..., None] * 3 + np.arange(3)) * 256 + frame
    return table.reshape(-1)[index]


def legend_font_size(height: int) -> int:
    """The legend's text size (pixels) on an image `height` pixels high."""
    return max(10, min(28, height // 30))


def draw_legend(image: np.ndarray, entries: Sequence[tuple[str, Sequence[int]]],
                font: str | Path | None = None) -> np.ndarray:
    """Draw a legend (a colour swatch and name per entry) in the top-left corner of an (H, W, 3) image.
    Each name is drawn with a font that has its letters (`font`, a font file, is tried first; see viz/fonts.py)."""
    if not entries:
        return image
    height, width = image.shape[:2]
    size = legend_font_size(height)
    fonts, pad = FontChooser(size, font), max(2, size // 4)
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas, "RGBA")
    rows = entries[: max(1, (height - 2 * pad) // (size + pad))]  # as many as fit
    text_width = max(draw.textlength(name, font=fonts.font_for(name)) for name, _ in rows)
    box_w = min(width, int(3 * pad + size + text_width + pad))
    draw.rectangle([0, 0, box_w, pad + len(rows) * (size + pad)], fill=(0, 0, 0, 150))
    for row, (name, color) in enumerate(rows):
        top = pad + row * (size + pad)
        draw.rectangle([pad, top, pad + size, top + size], fill=tuple(int(c) for c in color))
        draw.text((2 * pad + size, top), name, fill=(255, 255, 255), font=fonts.font_for(name))
    return np.asarray(canvas)


def overlay_frame(frame: np.ndarray, labels: np.ndarray, class_names: Sequence[str], colors: np.ndarray,
                  alpha: float = 0.5, font: str | Path | None = None) -> np.ndarray:
    """A frame with its class map blended in and a legend of the classes present in it (`font`: a font
    file tried first for the names)."""
    counts = np.bincount(np.asarray(labels, dtype=np.uint8).ravel(), minlength=256)  # faster than np.unique
    present = [int(i) for i in np.flatnonzero(counts[: min(len(class_names), NO_CLASS)])]
    return draw_legend(blend(frame, labels, colors, alpha), [(class_names[i], colors[i]) for i in present], font)
