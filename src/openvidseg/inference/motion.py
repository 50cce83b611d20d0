"""Cheap motion between consecutive frames, to carry a class map from one frame to the next.

Frames are compared as small grayscale images (short side `MOTION_SHORT_SIDE`); OpenCV's DIS optical flow
(ultrafast preset, about 2 ms per pair here) gives, for every pixel of the new frame, where it was in the
previous one. The flow is scaled up to the frame's size and the previous class map (or scores) is sampled
there (nearest class: no invented labels). The photometric residual after compensation tells whether the
scene can be carried at all: above `SCENE_CHANGE` (mean absolute grey-level difference) the model must look
again (a cut, a flash, fast motion the flow cannot follow).
"""
from __future__ import annotations

import numpy as np

MOTION_SHORT_SIDE = 180  # pixels: the short side frames are compared at
SCENE_CHANGE = 12.0  # mean absolute grey-level residual (0..255) above which a frame is not carried


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        from openvidseg.errors import InputError

        raise InputError("carrying class maps between frames needs OpenCV: pip install opencv-python-headless") from None
    return cv2


class Motion:
    """Backward motion from frame t-1 to frame t. `small(frame)`: the frame as the grayscale image motion
    is estimated on; `estimate(previous_small, small)`: (h, w, 2) flow and the residual after compensation;
    `warp(image, flow)`: an (H, W) or (H, W, C) image of the previous frame moved onto the new one."""

    def __init__(self, short_side: int = MOTION_SHORT_SIDE):
        cv2 = _cv2()
        self.short_side = short_side
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)

    def small(self, frame: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (h, w) uint8 grey, short side `short_side` (never enlarged)."""
        cv2 = _cv2()
        height, width = frame.shape[:2]
        scale = min(1.0, self.short_side / min(height, width))
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)

    def estimate(self, previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, float]:
        """(h, w) grey frames t-1 and t -> flow (h, w, 2) (x, y offsets from each pixel of t to where it was
        in t-1) and the mean absolute residual of t-1 warped onto t."""
        cv2 = _cv2()
        flow = self.flow.calc(current, previous, None)
        moved = cv2.remap(previous, *_maps(flow), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return flow, float(np.abs(moved.astype(np.int16) - current.astype(np.int16)).mean())

    def warp(self, image: np.ndarray, flow: np.ndarray, nearest: bool = True) -> np.ndarray:
        """Sample frame t-1's (H, W) or (H, W, C) `image` along `flow` (from `estimate`, any size) onto frame t."""
        cv2 = _cv2()
        height, width = image.shape[:2]
        small_h, small_w = flow.shape[:2]
        if (small_h, small_w) != (height, width):
            flow = cv2.resize(flow, (width, height), interpolation=cv2.INTER_LINEAR)
            flow *= np.array([width / small_w, height / small_h], dtype=np.float32)
        mode = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        channels = image.shape[2] if image.ndim == 3 else 0
        if channels <= 4:
            return cv2.remap(image, *_maps(flow), mode, borderMode=cv2.BORDER_REPLICATE)
        maps = _maps(flow)
        return np.stack([cv2.remap(np.ascontiguousarray(image[..., c]), *maps, mode, borderMode=cv2.BORDER_REPLICATE)
                         for c in range(channels)], axis=-1)


def _maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(h, w, 2) offsets -> absolute sampling maps (x, y) for cv2.remap."""
    height, width = flow.shape[:2]
    xs = np.arange(width, dtype=np.float32)[None, :] + flow[..., 0]
    ys = np.arange(height, dtype=np.float32)[:, None] + flow[..., 1]
    return xs, ys
