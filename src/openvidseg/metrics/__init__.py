"""Metrics that follow reset / update / compute and sync small state under DDP: confusion-matrix mIoU
(seen / unseen / harmonic), pixel and class accuracy, VSPW's video consistency VC_n; the shared result
structure and its writers (metrics.json, report.md, per-class chart); scoring prediction PNGs."""
from openvidseg.metrics.distributed import all_reduce_sum, distributed_ready
from openvidseg.metrics.segmentation import SegmentationMetric, SegmentationResult, harmonic_mean, result_from_confusion
from openvidseg.metrics.video_consistency import VSPW_SKIP_UP_TO, VideoConsistency

__all__ = [
    "VSPW_SKIP_UP_TO", "SegmentationMetric", "SegmentationResult", "VideoConsistency", "all_reduce_sum",
    "distributed_ready", "harmonic_mean", "result_from_confusion",
]
