"""Frame reuse: run the model on keyframes only and carry its class map along the motion in between.

A frame is a keyframe when `interval` frames have passed since the last one, or when the scene has changed
(the motion residual is above `scene_change`, see motion.py); frame 0 always is. Any other frame gets the
previous frame's class map (and scores, when kept) moved along the optical flow between the two frames,
so a map computed at a keyframe follows the objects for up to `interval - 1` frames. Per-frame models only:
a temporal model's references need every frame's features. The error against running the model on every
frame is measured by benchmarks/frame_reuse.py and reported in docs/performance.md.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from openvidseg.errors import InputError
from openvidseg.inference.motion import SCENE_CHANGE, Motion
from openvidseg.inference.predictor import FramePrediction, VideoPredictor


class KeyframePredictor:
    """A `VideoPredictor` of a per-frame model run on keyframes only; same interface (`step`, `warm_up`,
    `needs_frame`, `reset`). frame: (H, W, 3) uint8 RGB array."""

    def __init__(self, inner: VideoPredictor, interval: int, scene_change: float = SCENE_CHANGE):
        if interval < 1:
            raise InputError(f"keyframe interval {interval}: use a number of frames >= 1")
        if inner.history_length or inner.model.uses_random_frame or inner.smoothing > 0:
            raise InputError("frame reuse (--speed fast) needs a per-frame model: this one reads earlier frames "
                             "(references, long-range memory or smoothing); use --speed balanced or quality")
        self.inner, self.interval, self.scene_change = inner, interval, scene_change
        self.motion = Motion()
        self.reset()

    @property
    def return_logits(self) -> bool:
        return self.inner.return_logits

    def reset(self) -> None:
        """Forget the current video."""
        self.inner.reset()
        self.index = 0
        self.last_key: int | None = None
        self.previous_small: np.ndarray | None = None
        self.previous: FramePrediction | None = None
        self.keyframes = 0  # model runs in this video (for summaries and tests)

    def _is_key(self, small: np.ndarray) -> tuple[bool, np.ndarray | None]:
        """Whether the frame now at `self.index` is a keyframe, and the flow from the previous frame."""
        if self.last_key is None or self.previous_small is None or self.index - self.last_key >= self.interval:
            return True, None
        flow, residual = self.motion.estimate(self.previous_small, small)
        return residual > self.scene_change, flow

    @torch.inference_mode()
    def step(self, frame: np.ndarray) -> FramePrediction:
        prediction = self._advance(frame)
        assert prediction is not None  # frame 0 is a keyframe, and every later frame has a predecessor
        return prediction

    def _advance(self, frame: np.ndarray) -> FramePrediction | None:
        """Predict the frame at `self.index` (None: a carried frame whose predecessor was skipped in warm-up)."""
        t = self.index
        small = self.motion.small(frame)
        key, flow = self._is_key(small)
        if key:
            prediction = replace(self.inner.step(frame), index=t)
            self.last_key, self.keyframes = t, self.keyframes + 1
        else:
            prediction = None if self.previous is None else self._carry(self.previous, flow, t)
        self.previous, self.previous_small, self.index = prediction, small, t + 1
        return prediction

    def _carry(self, previous: FramePrediction, flow: np.ndarray, t: int) -> FramePrediction:
        labels = self.motion.warp(previous.labels.numpy().astype(np.uint16), flow)
        logits = None
        if previous.logits is not None:
            moved = self.motion.warp(np.ascontiguousarray(previous.logits.permute(1, 2, 0).numpy()), flow)
            logits = torch.from_numpy(moved.reshape(*moved.shape[:2], -1)).permute(2, 0, 1)
        return FramePrediction(t, torch.from_numpy(labels.astype(np.int64)), logits)

    def needs_frame(self, t: int, resume_at: int) -> bool:
        """Every frame before `resume_at` is needed: keyframes depend on the motion from the start."""
        return True

    @torch.inference_mode()
    def warm_up(self, frame: np.ndarray | None, resume_at: int) -> None:
        """Move past frame `self.index` so that frames from `resume_at` on come out as in an uninterrupted
        run: keyframes are decided from the motion as always, but the model runs (and maps are carried)
        only from `resume_at - interval` on; the last keyframe before `resume_at` is never older."""
        if frame is None:
            raise ValueError(f"frame {self.index} is needed to continue at frame {resume_at}")
        if self.index >= resume_at - self.interval:
            self._advance(frame)
            return
        small = self.motion.small(frame)
        if self._is_key(small)[0]:
            self.last_key = self.index
        self.previous, self.previous_small, self.index = None, small, self.index + 1
