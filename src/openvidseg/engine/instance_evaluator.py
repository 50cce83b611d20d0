"""Evaluate an instance model over a dataset's videos: stream each video through `InstancePredictor`, score the
detected tracks with the video AP metric (YouTube-VIS's definition, AP_base / AP_novel over the dataset's
split), optionally write the YouTube-VIS results.json that `openvidseg score --task instance` reads. Under DDP,
videos are shared out over processes and the metric gathers its records. Used by periodic evaluation during
training (and by `eval --task instance`)."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from openvidseg.engine.distributed import is_main_process, rank, world_size
from openvidseg.inference.instance_predictor import InstancePredictor, track_predictions
from openvidseg.inference.instance_tracks import VideoDetection
from openvidseg.metrics.instance_result import InstanceScoreResult
from openvidseg.metrics.instance_scoring import result_entry
from openvidseg.metrics.video_ap import VideoAP

RESULTS_NAME = "results.json"  # the YouTube-VIS results file an evaluation writes (eval.save_predictions)


def evaluate_instances(
    model: torch.nn.Module,
    dataset: Any,
    *,
    videos: Sequence[Any] | None = None,
    device: str | torch.device | None = None,
    precision: str = "fp32",
    short_side: int | None = None,
    max_detections: int = 50,
    results_path: str | Path | None = None,
    progress: bool = True,
    on_video: Callable[[Any, list[VideoDetection]], None] | None = None,
) -> InstanceScoreResult:
    """Video AP of `model` (an InstanceSegmenter) on `videos` (default: all) of `dataset` (a VideoInstanceDataset:
    every class of its annotations is the vocabulary; AP_base / AP_novel over its split). results_path: also write
    the detections as a YouTube-VIS results.json (from the main process, after gathering every process's).
    on_video(video, detections): called with each video's `VideoDetection`s (best first), e.g. for track metrics."""
    from openvidseg.data.instances import split_category_ids

    annotations = dataset.annotations
    category_ids = list(dataset.category_ids)
    split = dataset.split
    groups = split_category_ids(split, annotations.categories) if split.unseen else {"base": category_ids}
    metric = VideoAP(category_ids, groups)
    was_training = model.training
    predictor = InstancePredictor(model, dataset.all_class_names, device=device, precision=precision,
                                  short_side=short_side, max_detections=max_detections)
    mine = list(dataset.videos if videos is None else videos)[rank():: world_size()]
    entries: list[dict[str, Any]] = []
    bar = None
    if progress and is_main_process():
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(v) for v in mine), unit="frame", desc="eval (instance)", dynamic_ncols=True)
    try:
        for video in mine:
            for _ in predictor.run(video.frame(i) for i in range(len(video))):
                if bar is not None:
                    bar.update(1)
            detections = predictor.detections()
            if on_video is not None:
                on_video(video, detections)
            tracks = track_predictions(detections, category_ids)
            metric.update(video.video_id, tracks, video.tracks)
            entries += [result_entry(video.video_id, track) for track in tracks]
    finally:
        if bar is not None:
            bar.close()
        predictor.reset()
        model.train(was_training)
    names = dict(zip(category_ids, dataset.all_class_names))
    source = annotations.source.name if annotations.source is not None else "annotations"
    num_predictions = _gathered_count(len(entries))
    result = InstanceScoreResult.from_video_ap(metric.compute(), names, groups, annotations=source,
                                               split_def=split.name,
                                               class_names=dataset.class_names_form, num_predictions=num_predictions)
    if results_path is not None:
        _write_results(entries, Path(results_path))
    return result


def _gathered_count(count: int) -> int:
    if dist.is_available() and dist.is_initialized():
        value = torch.tensor([count], dtype=torch.int64)
        dist.all_reduce(value)
        return int(value)
    return count


def _write_results(entries: list[dict[str, Any]], path: Path) -> None:
    """Every process's entries, written by the main process (sorted by video for a stable file)."""
    if dist.is_available() and dist.is_initialized():
        parts: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, entries)
        entries = [e for part in parts for e in part]
    if is_main_process():
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = sorted(entries, key=lambda e: (e["video_id"], -e["score"]))
        path.write_text(json.dumps(entries))
