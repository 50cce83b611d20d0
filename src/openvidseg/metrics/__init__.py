"""Metrics that follow reset / update / compute and sync small state under DDP: confusion-matrix mIoU
(seen / unseen / harmonic), pixel and class accuracy, VSPW's video consistency VC_n, video instance AP
(YouTube-VIS / LV-VIS, base / novel); the result structures and their writers (metrics.json, report.md,
per-class chart); scoring prediction PNGs and instance results files."""
from openvidseg.metrics.distributed import all_gather_rows, all_reduce_sum, distributed_ready
from openvidseg.metrics.instance_result import InstanceScoreResult
from openvidseg.metrics.instance_scoring import result_entry, score_instance_results
from openvidseg.metrics.report import (
    draw_per_class_chart, report_markdown, summary_table, write_metrics_json, write_report_md,
)
from openvidseg.metrics.result import JSON_KEYS, ScoreResult
from openvidseg.metrics.scoring import match_prediction_files, score_predictions
from openvidseg.metrics.segmentation import SegmentationMetric, SegmentationResult, harmonic_mean, result_from_confusion
from openvidseg.metrics.track_matching import TrackPrediction
from openvidseg.metrics.video_ap import VideoAP, VideoAPResult
from openvidseg.metrics.video_consistency import VSPW_SKIP_UP_TO, VideoConsistency

__all__ = [
    "JSON_KEYS", "VSPW_SKIP_UP_TO", "InstanceScoreResult", "ScoreResult", "SegmentationMetric", "SegmentationResult",
    "TrackPrediction", "VideoAP", "VideoAPResult", "VideoConsistency", "all_gather_rows", "all_reduce_sum", "distributed_ready", "draw_per_class_chart", "harmonic_mean", "match_prediction_files",
    "report_markdown", "result_entry", "result_from_confusion", "score_instance_results", "score_predictions", "summary_table", "write_metrics_json",
    "write_report_md",
]
