"""AVSBench-OV scores, fed one clip at a time: mIoU over one (K, K) confusion matrix of background and every
class (K = 71 for AVSBench-semantic) at 224 x 224, with its base / novel means and their harmonic mean,
and the F-score of the sounding classes (metrics/fscore.py), in an `AudioVisualScoreResult`.

Both maps are resized to `size` x `size` with nearest neighbours taken at pixel centres (PIL's rule)
before scoring. The "reference" mode also resizes as the released OV-AVSS evaluation does: ground truth
with PIL (pixel centres), predictions with `torch.nn.Upsample(mode="nearest")` (top-left corners:
source = floor(destination x scale)), so the two grids differ by up to a source pixel.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from openvidseg.data.classes import AVSBENCH_BACKGROUND
from openvidseg.data.splits import ClassSplit
from openvidseg.errors import InputError
from openvidseg.metrics.distributed import all_reduce_sum
from openvidseg.metrics.fscore import MODES, SoundingFScore
from openvidseg.metrics.audio_visual_result import AudioVisualScoreResult
from openvidseg.metrics.segmentation import SegmentationMetric

EVAL_SIZE = 224  # AVSBench scores at 224 x 224


def resize_nearest(labels: np.ndarray, size: int, rule: str = "centre") -> np.ndarray:
    """(H, W) uint8 ids -> (size, size): 'centre' samples source pixel floor((i + 0.5) H / size) (PIL),
    'corner' samples floor(i H / size) (torch's nearest upsampling)."""
    if labels.shape == (size, size):
        return labels
    if rule == "centre":
        return np.asarray(Image.fromarray(labels).resize((size, size), Image.NEAREST))
    rows = np.floor(np.arange(size) * labels.shape[0] / size).astype(np.int64)
    cols = np.floor(np.arange(size) * labels.shape[1] / size).astype(np.int64)
    return labels[rows][:, cols]


class AudioVisualScores:
    """Feed `update(pred, gt)` once per clip with (T, H, W) uint8 dataset ids (0 background, 1..N; gt 255
    not scored; pred outside 0..N a miss); `result(split)` gives the percentages. `start_video()` before
    each video's clips counts videos. `mode`: the F-score's, and the resizing rule (see the module doc)."""

    def __init__(self, split: ClassSplit, class_name_form: str = "clean", mode: str = "exact",
                 size: int = EVAL_SIZE) -> None:
        if mode not in MODES:
            raise InputError(f"unknown audio-visual scoring mode '{mode}': use one of {', '.join(MODES)}")
        self.split, self.class_name_form, self.mode, self.size = split, class_name_form, mode, size
        self.class_names = (AVSBENCH_BACKGROUND,) + split.names(form=class_name_form)
        groups = {"seen": list(split.seen), "unseen": list(split.unseen)}  # dataset id = class index
        k = len(self.class_names)
        self.segmentation = SegmentationMetric(k, class_names=self.class_names, groups=groups)
        self.fscore = SoundingFScore(k, groups=groups, mode=mode)
        self.num_frames = self.num_videos = 0

    def start_video(self) -> None:
        self.num_videos += 1

    def update(self, pred: np.ndarray | Sequence[np.ndarray], gt: np.ndarray | Sequence[np.ndarray]) -> None:
        """Score one clip: pred and gt (T, H, W) uint8 ids, or sequences of T (H, W) frames (the two may have
        other sizes: each frame is resized to size x size)."""
        if isinstance(pred, np.ndarray) and pred.ndim == 2:
            pred, gt = [pred], [gt]
        if len(pred) != len(gt):
            raise InputError(f"a clip of {len(pred)} predicted frames and {len(gt)} ground-truth frames")
        pred_rule = "corner" if self.mode == "reference" else "centre"
        pred = np.stack([resize_nearest(p.astype(np.uint8), self.size, pred_rule) for p in pred])
        gt = np.stack([resize_nearest(g.astype(np.uint8), self.size, "centre") for g in gt])
        pred_t, gt_t = torch.from_numpy(pred), torch.from_numpy(gt)
        self.segmentation.update(pred_t, gt_t)
        self.fscore.update(pred_t, gt_t)
        self.num_frames += len(gt)

    def result(self, split_name: str) -> AudioVisualScoreResult:
        """Percentages of everything fed so far (summed over processes under DDP)."""
        frames, videos = all_reduce_sum(torch.tensor([self.num_frames, self.num_videos])).tolist()
        seg, f = self.segmentation.compute(), self.fscore.compute()
        percent = lambda v: None if v is None else 100.0 * v  # noqa: E731
        names = self.class_names
        return AudioVisualScoreResult(
            miou=percent(seg.miou), miou_base=percent(seg.group_miou["seen"]),
            miou_novel=percent(seg.group_miou["unseen"]), hiou=percent(seg.hiou), fscore=percent(f["mean"]),
            fscore_base=percent(f["groups"]["seen"]), fscore_novel=percent(f["groups"]["unseen"]),
            aacc=percent(seg.pixel_acc), macc=percent(seg.mean_acc),
            per_class={n: percent(v) for n, v in zip(names, seg.iou)},
            per_class_fscore={n: percent(v) for n, v in zip(names[1:], f["per_class"][1:])},
            groups={"base": [names[i] for i in self.split.seen], "novel": [names[i] for i in self.split.unseen]},
            fscore_mode=self.mode, size=self.size, split=split_name, split_def=self.split.name,
            class_names=self.class_name_form, num_frames=int(frames), num_videos=int(videos))
