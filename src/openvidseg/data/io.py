"""Reading frames and label masks with clear errors (file named, problem named)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from openvidseg.errors import DataError


def read_image(path: str | Path) -> np.ndarray:
    """An image file -> (H, W, 3) uint8 RGB (grayscale, palette and RGBA are converted)."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"missing frame: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"unreadable image {path}: {err}") from None


def read_mask(path: str | Path) -> np.ndarray:
    """A label PNG -> (H, W) uint8 of class ids (palette indices are kept as ids, never converted to colours)."""
    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "P", "I", "I;16"):
                raise DataError(f"mask {path} has mode {img.mode}: expected a single-channel (L or P) PNG of class ids")
            mask = np.asarray(img)
    except FileNotFoundError:
        raise DataError(f"missing mask: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"unreadable mask {path}: {err}") from None
    if mask.dtype != np.uint8:
        if mask.size and (mask.min() < 0 or mask.max() > 255):
            raise DataError(f"mask {path} holds values outside 0..255")
        mask = mask.astype(np.uint8)
    return mask
