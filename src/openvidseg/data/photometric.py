"""Photometric distortion as in mmsegmentation's `PhotoMetricDistortion`: random brightness, contrast
(before or after the colour steps, at random), saturation and hue, each applied with probability 1/2.

Parameters are drawn (`sample_photometric`) once per clip and applied to every frame alike
(`apply_photometric`), so the colours of a clip stay consistent over time as in a real video, or once
per frame as the public OV2VSS code does (`ClipAugmentation(photometric_per=...)`).
Saturation and hue follow HSV with OpenCV's units (hue in [0, 180), i.e. 2 degrees per unit), computed
in float rather than through OpenCV's 8-bit HSV image, so colours lose no precision on the way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhotometricParams:
    """One draw of the distortion; None = that step is skipped."""

    brightness: float | None = None  # added to every channel, in [-32, 32]
    contrast: float | None = None  # multiplies every channel, in [0.5, 1.5]
    contrast_first: bool = True  # contrast before (True) or after (False) saturation and hue
    saturation: float | None = None  # multiplies S, in [0.5, 1.5]
    hue: int | None = None  # added to H (OpenCV units), in [-18, 18)


def sample_photometric(
    rng: np.random.Generator,
    brightness_delta: float = 32,
    contrast_range: tuple[float, float] = (0.5, 1.5),
    saturation_range: tuple[float, float] = (0.5, 1.5),
    hue_delta: int = 18,
) -> PhotometricParams:
    """Draw the parameters of one distortion (mmseg's defaults)."""
    brightness = float(rng.uniform(-brightness_delta, brightness_delta)) if rng.integers(2) else None
    contrast_first = bool(rng.integers(2))
    contrast = float(rng.uniform(*contrast_range)) if rng.integers(2) else None
    saturation = float(rng.uniform(*saturation_range)) if rng.integers(2) else None
    hue = int(rng.integers(-hue_delta, hue_delta)) if rng.integers(2) else None
    return PhotometricParams(brightness, contrast, contrast_first, saturation, hue)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)


def shift_hue_saturation(image: np.ndarray, hue: float = 0.0, saturation: float | None = None) -> np.ndarray:
    """Scale the HSV saturation of an (H, W, 3) uint8 RGB image by `saturation` (clipped at full saturation)
    and rotate its hue by `hue` OpenCV units (2 degrees each); value (max channel) is unchanged.

    Works on float planes without building an HSV image: hue in sixths of a turn from the max channel,
    back through the standard f(n) = V - C * clip(min(k, 4 - k), 0, 1), k = (n + h) mod 6 formula.
    """
    r, g, b = np.moveaxis(image, -1, 0).astype(np.float32)
    value = np.maximum(np.maximum(r, g), b)
    chroma = value - np.minimum(np.minimum(r, g), b)
    is_r = value == r
    is_g = (value == g) & ~is_r
    h = np.where(is_r, g - b, np.where(is_g, b - r + 2 * chroma, r - g + 4 * chroma))  # OpenCV's tie order
    h /= np.maximum(chroma, 1e-6)  # hue in sixths of a turn, in [-1, 6)
    h += hue / 30.0
    h -= 6.0 * np.floor(h / 6.0)
    if saturation is not None:  # S = C / V, so scaling S scales the chroma; S <= 1 means C <= V
        chroma = np.minimum(chroma * saturation, value)
    out = np.empty((3,) + h.shape, dtype=np.float32)
    for channel, n in enumerate((5.0, 3.0, 1.0)):
        k = h + n
        k -= 6.0 * (k >= 6.0)
        weight = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
        out[channel] = value - chroma * weight
    np.rint(out, out=out)
    return np.ascontiguousarray(np.moveaxis(_to_uint8(out), 0, -1))


def apply_photometric(image: np.ndarray, params: PhotometricParams) -> np.ndarray:
    """Distort one (H, W, 3) uint8 RGB image with `params` (the same params for every frame of a clip)."""
    out = image
    if params.brightness is not None:
        out = _to_uint8(out.astype(np.float32) + params.brightness)
    if params.contrast is not None and params.contrast_first:
        out = _to_uint8(out.astype(np.float32) * params.contrast)
    if params.saturation is not None or params.hue is not None:
        out = shift_hue_saturation(out, hue=params.hue or 0, saturation=params.saturation)
    if params.contrast is not None and not params.contrast_first:
        out = _to_uint8(out.astype(np.float32) * params.contrast)
    return out
