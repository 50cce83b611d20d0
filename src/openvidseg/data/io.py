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


def id_counts(mask: np.ndarray) -> np.ndarray:
    """(256,) int64 pixel count of every id in a uint8 mask."""
    return np.bincount(mask.ravel(), minlength=256)


def invalid_ids(counts: np.ndarray, valid: np.ndarray) -> list[int]:
    """Ids present in `counts` (256,) that the (256,) bool table `valid` does not allow."""
    return [int(i) for i in np.flatnonzero((counts > 0) & ~valid)]


def valid_id_table(num_classes: int, ignore: int = 255) -> np.ndarray:
    """(256,) bool: True for 0..num_classes (0 = others) and the ignore value."""
    table = np.zeros(256, dtype=bool)
    table[: num_classes + 1] = True
    table[ignore] = True
    return table


def check_mask(mask: np.ndarray, path: str | Path, valid: np.ndarray,
               frame_size: tuple[int, int] | None = None, frame_path: str | Path | None = None) -> None:
    """Raise DataError when a (H, W) mask holds ids outside `valid` or differs in size from its frame."""
    if frame_size is not None and mask.shape[:2] != tuple(frame_size):
        raise DataError(f"mask {path} is {mask.shape[1]}x{mask.shape[0]} but its frame {frame_path or ''} is "
                        f"{frame_size[1]}x{frame_size[0]}: a mask must have its frame's size")
    bad = invalid_ids(id_counts(mask), valid)
    if bad:
        allowed = np.flatnonzero(valid)
        top = int(allowed[allowed != 255].max()) if (allowed != 255).any() else 0
        raise DataError(f"mask {path} holds ids {bad[:8]} outside 0..{top} and 255: "
                        "check the dataset's class file or that the mask is not a colour/RGB rendering")
