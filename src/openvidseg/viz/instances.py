"""Tracks drawn over frames: each track in its own colour, outlined, with its id and class name at the object.

A frame's tracks come as an (H, W) uint8 map of track ids (0 = no track, as in `instances/<frame>.png`) and
the (id, text) of each track shown. Track id i has colour `colors[i - 1]` everywhere (overlay, PNG palette,
summary), from the same golden-ratio sequence as class colours.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from openvidseg.viz.fonts import FontChooser
from openvidseg.viz.overlay import blend, legend_font_size
from openvidseg.viz.palette import class_colors, track_palette
from openvidseg.vocabulary import NO_CLASS

MAX_TRACK_ID = 255  # ids are stored in 8-bit PNGs


def track_colors() -> np.ndarray:
    """(255, 3) uint8: the colour of track id i is row i - 1."""
    return class_colors(MAX_TRACK_ID)


def save_track_png(ids: np.ndarray, path: str | Path, colors: np.ndarray) -> None:
    """Write an (H, W) uint8 map of track ids (0 = none) as a palette PNG: pixel value = track id, shown in the
    track's colour."""
    image = Image.fromarray(np.asarray(ids, dtype=np.uint8), mode="P")
    image.putpalette(track_palette(colors))
    image.save(path, format="PNG", optimize=False)


def track_outlines(ids: np.ndarray, thickness: int = 1) -> np.ndarray:
    """(H, W) bool: pixels of a track within `thickness` pixels of a pixel with another value (its border)."""
    ids = np.asarray(ids)
    edge = np.zeros(ids.shape, dtype=bool)
    vertical, horizontal = ids[1:] != ids[:-1], ids[:, 1:] != ids[:, :-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    if thickness > 1:
        edge = ndimage.binary_dilation(edge, iterations=thickness - 1)
    return edge & (ids > 0)


def label_point(mask: np.ndarray) -> tuple[int, int] | None:
    """(y, x) of the pixel of an (H, W) bool mask farthest from its border (inside the object even for a ring
    or a C shape), or None for an empty mask."""
    rows, cols = np.nonzero(mask.any(1))[0], np.nonzero(mask.any(0))[0]
    if not len(rows):
        return None
    top, left = rows[0], cols[0]
    crop = np.pad(mask[top : rows[-1] + 1, left : cols[-1] + 1], 1)
    distance = ndimage.distance_transform_edt(crop)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(top + y - 1), int(left + x - 1)


def _text_colour(colour: Sequence[int]) -> tuple[int, int, int]:
    """Black on light colours, white on dark ones."""
    r, g, b = (int(c) for c in colour)
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _free_top(left: int, top: int, box_w: int, box_h: int, height: int,
              placed: Sequence[tuple[int, int, int, int]]) -> int:
    """The top of a label box near `top` (the same, or one or two box heights below or above) that overlaps no
    box already `placed` ((left, top, w, h)), kept inside the image; `top` when every choice overlaps."""
    def clamp(y: int) -> int:
        return min(max(0, y), max(0, height - box_h))

    def free(y: int) -> bool:
        return all(left >= x + w or x >= left + box_w or y >= t + h or t >= y + box_h for x, t, w, h in placed)

    choices = [clamp(top + k * box_h) for k in (0, 1, -1, 2, -2)]
    return next((y for y in choices if free(y)), choices[0])


def draw_track_labels(image: np.ndarray, ids: np.ndarray, labels: Sequence[tuple[int, str]], colors: np.ndarray,
                      font: str | Path | None = None) -> np.ndarray:
    """Draw each (track id, text) of `labels` in a box of the track's colour centred at the track's label point
    in an (H, W, 3) image (kept inside the image, moved up or down a little when an earlier label is there);
    texts are drawn with a font that has their letters (`font` first, see viz/fonts.py). Tracks absent from
    `ids` are skipped."""
    if not labels:
        return image
    height, width = image.shape[:2]
    size = legend_font_size(height)
    fonts, pad = FontChooser(size, font), max(1, size // 5)
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas, "RGBA")
    placed: list[tuple[int, int, int, int]] = []
    for track_id, text in labels:
        point = label_point(ids == track_id)
        if point is None:
            continue
        face = fonts.font_for(text)
        box_w, box_h = int(draw.textlength(text, font=face)) + 2 * pad, size + 2 * pad
        left = min(max(0, point[1] - box_w // 2), max(0, width - box_w))
        top = _free_top(left, point[0] - box_h // 2, box_w, box_h, height, placed)
        placed.append((left, top, box_w, box_h))
        colour = tuple(int(c) for c in colors[track_id - 1])
        draw.rectangle([left, top, left + box_w - 1, top + box_h - 1], fill=(*colour, 220), outline=(0, 0, 0, 160))
        draw.text((left + pad, top + pad), text, fill=_text_colour(colour), font=face)
    return np.asarray(canvas)


def track_overlay_frame(frame: np.ndarray, ids: np.ndarray, labels: Sequence[tuple[int, str]], colors: np.ndarray,
                        alpha: float = 0.5, font: str | Path | None = None) -> np.ndarray:
    """A frame with its tracks blended in at `alpha`, outlined in their colours, and labelled at the object
    (`labels`: (track id, text) per track shown, e.g. (3, "3 dog"))."""
    ids = np.asarray(ids, dtype=np.uint8)
    as_labels = np.where(ids > 0, ids.astype(np.int16) - 1, NO_CLASS).astype(np.uint8)
    image = blend(frame, as_labels, colors, alpha)
    edge = track_outlines(ids, thickness=max(1, min(frame.shape[:2]) // 240))
    image[edge] = colors[ids[edge].astype(np.int64) - 1]
    return draw_track_labels(image, ids, labels, colors, font)
