"""The font every drawing uses: Pillow's built-in one, at a size (fixed-size bitmap on Pillow < 10.1)."""
from __future__ import annotations

from PIL import ImageFont


def default_font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()
