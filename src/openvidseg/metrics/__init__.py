"""Metrics that follow reset / update / compute and sync small state under DDP: confusion-matrix mIoU
(seen / unseen / harmonic), pixel and class accuracy, VSPW's video consistency VC_n; the shared result
structure and its writers (metrics.json, report.md, per-class chart); scoring prediction PNGs."""
from openvidseg.metrics.distributed import all_reduce_sum, distributed_ready
from openvidseg.metrics.report import (
    draw_per_class_chart, report_markdown, summary_table, write_metrics_json, write_report_md,
)
from openvidseg.metrics.result import JSON_KEYS, ScoreResult
from openvidseg.metrics.scoring import match_prediction_files, score_predictions
from openvidseg.metrics.segmentation import SegmentationMetric, SegmentationResult, harmonic_mean, result_from_confusion
from openvidseg.metrics.video_consistency import VSPW_SKIP_UP_TO, VideoConsistency

__all__ = [
    "JSON_KEYS", "VSPW_SKIP_UP_TO", "ScoreResult", "SegmentationMetric", "SegmentationResult", "VideoConsistency",
    "all_reduce_sum", "distributed_ready", "draw_per_class_chart", "harmonic_mean", "match_prediction_files",
    "report_markdown", "result_from_confusion", "score_predictions", "summary_table", "write_metrics_json",
    "write_report_md",
]
