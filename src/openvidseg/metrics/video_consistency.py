"""Video consistency VC_n, exactly as VSPW's reference script (VC_perclip.py) defines it, in one pass.

Per video with ground-truth maps g_0..g_{L-1} and predictions p_0..p_{L-1} (already mapped to class
indices, 255 = ignore / no class): for each window start i in range(L - n), G = pixels where
g_i == g_{i+j} for every j in 1..n-1, P likewise for the predictions, and the window scores
|G and P| / |G|. VC_n is the mean over all windows of all videos (not a mean of per-video means).

Matching the reference, on purpose:
- ignore pixels (255) that stay 255 through a window count as consistent ground truth, so they are in G;
- the last possible start L - n is not scored (range(L - n));
- videos with L <= `skip_up_to` frames are skipped entirely: 16 for VC8 and VC16 by default, the rule of
  our spec (../shared/docs/data-and-metrics.md). VSPW's VC_perclip.py as written skips `len <= clip_num`, which for
  VC8 is L <= 8: pass skip_up_to=8 for that reading;
- a window with |G| = 0 is 0/0 = NaN in the reference and dropped by its nanmean: it is not counted.
Labels arrive mapped (0 "others" and 255 are both 255, as the spec asks), so a pixel that switches between
"others" and void stays consistent; VSPW's original script compares raw mask values and would not.

One pass, memory independent of n: "g_i == g_{i+j} for all j" is equality along the whole window, so
it holds at a pixel exactly when the ground truth did not change there over the last n-1 frame steps.
Each pixel keeps the length of its current run of unchanged steps (gt and prediction), plus the
previous frame; a window is scored when its last frame arrives, and committed once a later frame
shows it was not the excluded last start.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from openvidseg.errors import InputError
from openvidseg.metrics.distributed import all_reduce_sum
from openvidseg.metrics.segmentation import label_pair

VSPW_SKIP_UP_TO = 16  # videos with at most this many frames are not scored (VC8 and VC16 alike)


class VideoConsistency:
    """Streaming VC_n: per video `start_video()`, `update(pred, gt)` per frame in time order, `end_video()`;
    then `compute()` (the mean window score in [0, 1], or None without any scored window).

    n: window length (8 for VC8, 16 for VC16).
    skip_up_to: videos with L <= skip_up_to frames are discarded at `end_video()`.
    Under `torch.distributed`, `compute()` sums (window-score sum, window count) over processes; give
    each process whole videos. Every process must call `compute()`.
    """

    def __init__(self, n: int, skip_up_to: int = VSPW_SKIP_UP_TO, device: str | torch.device = "cpu") -> None:
        if n < 2:
            raise InputError(f"video consistency needs windows of at least 2 frames, got n={n}")
        self.n = n
        self.skip_up_to = skip_up_to
        self.device = torch.device(device)
        self.reset()

    def reset(self) -> None:
        """Forget every video, including one in progress."""
        self._score_sum = 0.0  # over committed windows of scored videos
        self._num_windows = 0
        self.num_videos = 0  # videos that passed the length rule
        self.num_skipped_videos = 0
        self._in_video = False

    def start_video(self) -> None:
        """Begin a new video; frames follow through `update` in time order."""
        if self._in_video:
            raise InputError("start_video() called twice: call end_video() after each video's last frame")
        self._in_video = True
        self._frames = 0
        self._video_sum, self._video_windows = 0.0, 0
        self._pending: float | None = None  # score of the window that ends at the latest frame (NaN = |G| 0)
        self._prev_gt = self._prev_pred = self._run_gt = self._run_pred = None

    @torch.no_grad()
    def update(self, pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray) -> None:
        """Add the next frame: (H, W) prediction and ground truth of class indices (same shape in a video)."""
        if not self._in_video:
            raise InputError("update() outside a video: call start_video() first")
        pred_t, gt_t = label_pair(pred, gt, self.device)
        if self._prev_gt is None:
            self._run_gt = torch.zeros(gt_t.shape, dtype=torch.int32, device=self.device)
            self._run_pred = torch.zeros_like(self._run_gt)
        else:
            if gt_t.shape != self._prev_gt.shape:
                raise InputError(f"frame {self._frames} has shape {tuple(gt_t.shape)}, earlier frames of this video "
                                 f"{tuple(self._prev_gt.shape)}: all frames of a video must share one size")
            cap = self.n - 1
            self._run_gt = torch.where(gt_t == self._prev_gt, (self._run_gt + 1).clamp_(max=cap), 0)
            self._run_pred = torch.where(pred_t == self._prev_pred, (self._run_pred + 1).clamp_(max=cap), 0)
        self._prev_gt, self._prev_pred = gt_t.clone(), pred_t.clone()  # the caller may reuse its buffers
        self._frames += 1
        if self._pending is not None:  # a later frame exists, so that window's start is inside range(L - n)
            if not math.isnan(self._pending):
                self._video_sum += self._pending
                self._video_windows += 1
            self._pending = None
        if self._frames >= self.n:  # the window starting at frame (frames - n) is complete
            stable_gt = self._run_gt >= self.n - 1
            both = stable_gt & (self._run_pred >= self.n - 1)
            g_count = int(stable_gt.sum())
            self._pending = int(both.sum()) / g_count if g_count else math.nan

    def end_video(self) -> int:
        """Close the video (drop the window at the excluded last start; drop the whole video when it is
        too short). Returns the number of windows the video contributed."""
        if not self._in_video:
            raise InputError("end_video() without start_video()")
        self._in_video = False
        self._prev_gt = self._prev_pred = self._run_gt = self._run_pred = None
        if self._frames <= self.skip_up_to:
            self.num_skipped_videos += 1
            return 0
        self.num_videos += 1
        self._score_sum += self._video_sum
        self._num_windows += self._video_windows
        return self._video_windows

    def sync(self) -> tuple[float, int]:
        """(sum of window scores, number of windows) over all processes."""
        totals = all_reduce_sum(torch.tensor([self._score_sum, float(self._num_windows)], dtype=torch.float64))
        return float(totals[0]), int(round(float(totals[1])))

    def compute(self) -> float | None:
        """VC_n in [0, 1]: the mean over all scored windows of all videos; None when there is none."""
        if self._in_video:
            raise InputError("compute() inside a video: call end_video() first")
        total, windows = self.sync()
        return total / windows if windows else None

    @property
    def num_windows(self) -> int:
        """Windows scored in this process so far (videos ended, not skipped)."""
        return self._num_windows
