"""Turning decoded frames into model input and resizing them for inference."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def frame_tensor(frame: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """An (H, W, 3) uint8 array or a (3, H, W) tensor -> (1, 3, H, W) float 0..255 on `device`."""
    if isinstance(frame, np.ndarray):
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
        frame = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)
    elif frame.dim() != 3 or frame.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) frame tensor, got shape {tuple(frame.shape)}")
    return frame.to(device=device, dtype=torch.float32).unsqueeze(0)


def short_side_size(height: int, width: int, short_side: int | None) -> tuple[int, int]:
    """(H, W) resized so the short side is `short_side`, keeping the aspect ratio (None: unchanged)."""
    if short_side is None:
        return height, width
    scale = short_side / min(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_images(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of (N, 3, H, W) float images (no-op at the same size)."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
