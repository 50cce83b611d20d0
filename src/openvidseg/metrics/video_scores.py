"""`VideoScores`: what every evaluation accumulates, video by video and frame by frame in order: the
confusion-matrix metrics, VC8 / VC16, and frame and video counts (summed over processes under DDP)."""
from __future__ import annotations

import numpy as np
import torch

from openvidseg.data.splits import EvalProtocol
from openvidseg.metrics.distributed import all_reduce_sum
from openvidseg.metrics.result import ScoreResult
from openvidseg.metrics.segmentation import SegmentationMetric
from openvidseg.metrics.video_consistency import VideoConsistency

VC_WINDOWS = (8, 16)


class VideoScores:
    """Feed `start_video()`, `update(pred, gt)` per scored frame in time order, `end_video()`; then `result()`.

    pred and gt are (H, W) class indices of the protocol (0..K-1; gt 255 = not scored; pred outside 0..K-1,
    e.g. the background entry, = a miss). `class_name_form` names the classes in the result (clean | raw).
    """

    def __init__(self, protocol: EvalProtocol, class_name_form: str = "clean"):
        self.protocol = protocol
        self.class_name_form = class_name_form
        names = protocol.split.names(protocol.class_ids, class_name_form)
        self.segmentation = SegmentationMetric(protocol.num_classes, class_names=names, groups=protocol.groups())
        self.consistency = {n: VideoConsistency(n) for n in VC_WINDOWS}
        self.num_frames = 0
        self.num_videos = 0

    def start_video(self) -> None:
        for vc in self.consistency.values():
            vc.start_video()

    def update(self, pred: torch.Tensor | np.ndarray, gt: torch.Tensor | np.ndarray) -> None:
        self.segmentation.update(pred, gt)
        for vc in self.consistency.values():
            vc.update(pred, gt)
        self.num_frames += 1

    def end_video(self) -> None:
        for vc in self.consistency.values():
            vc.end_video()
        self.num_videos += 1

    def result(self, split: str) -> ScoreResult:
        """The scores (percentages) of everything fed so far, summed over all processes under DDP."""
        frames, videos = all_reduce_sum(torch.tensor([self.num_frames, self.num_videos])).tolist()
        return ScoreResult.from_metrics(
            self.segmentation.compute(), {n: vc.compute() for n, vc in self.consistency.items()},
            protocol=self.protocol.name, class_names=self.class_name_form, split=split,
            split_def=self.protocol.split.name, num_frames=int(frames), num_videos=int(videos),
        )
