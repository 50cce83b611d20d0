"""Scoring a video instance segmentation results file against annotations, with no model involved.

Results are the JSON list every YouTube-VIS / OVIS / LV-VIS method writes:
    [{"video_id": int, "category_id": int, "score": float,
      "segmentations": [{"size": [H, W], "counts": str} or null, ... one per frame of the video]}, ...]
Videos of the annotations without any result count as all misses; a malformed entry (unknown video or
category, a wrong number of frames or mask size, a score that is not a finite number) is an error naming it.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openvidseg.data.classes import class_names_in_form
from openvidseg.data.instance_layouts import load_instance_annotations
from openvidseg.data.instances import InstanceAnnotations, split_category_ids
from openvidseg.data.rle import to_rle
from openvidseg.data.ytvis import read_json
from openvidseg.errors import DataError
from openvidseg.metrics.instance_result import InstanceScoreResult
from openvidseg.metrics.track_matching import TrackPrediction
from openvidseg.metrics.video_ap import VideoAP

RESULT_KEYS = ("video_id", "category_id", "score", "segmentations")


def result_entry(video_id: int, prediction: TrackPrediction) -> dict[str, Any]:
    """One predicted track as an entry of a YouTube-VIS results JSON (RLE counts as str, null where absent)."""
    segs = [None if s is None else {"size": list(s["size"]), "counts": s["counts"] if isinstance(s["counts"], str)
                                    else s["counts"].decode("ascii")} for s in prediction.segmentations]
    return {"video_id": int(video_id), "category_id": int(prediction.category_id), "score": float(prediction.score),
            "segmentations": segs}


def _is_score(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_results(data: Any, annotations: InstanceAnnotations, where: str) -> dict[int, list[TrackPrediction]]:
    """A loaded results list -> {video id: predicted tracks}, checked against the annotations' videos,
    categories and frame counts (`where` names the file in errors)."""
    if isinstance(data, dict) and isinstance(data.get("annotations"), list):
        data = data["annotations"]  # a results list wrapped like an annotation file
    if not isinstance(data, list):
        raise DataError(f"results {where} must be a JSON list of {{video_id, category_id, score, segmentations}}")
    videos, categories = annotations.video_by_id, annotations.category_index
    by_video: dict[int, list[TrackPrediction]] = {}
    for n, entry in enumerate(data):
        here = f"results {where}, entry #{n}"
        if not isinstance(entry, dict) or any(k not in entry for k in RESULT_KEYS):
            missing = [k for k in RESULT_KEYS if not isinstance(entry, dict) or k not in entry]
            raise DataError(f"{here} lacks {', '.join(missing)}: every result needs {', '.join(RESULT_KEYS)}")
        vid, cid, score, segs = (entry[k] for k in RESULT_KEYS)
        if not isinstance(vid, int) or isinstance(vid, bool) or vid not in videos:
            raise DataError(f"{here}: video_id {vid!r} is not a video of {annotations.source} "
                            "(are the results for another split or dataset?)")
        if not isinstance(cid, int) or isinstance(cid, bool) or cid not in categories:
            raise DataError(f"{here} (video {vid}): category_id {cid!r} is not a category of {annotations.source}")
        if not _is_score(score):
            raise DataError(f"{here} (video {vid}): score {score!r} is not a finite number")
        video = videos[vid]
        if not isinstance(segs, list) or len(segs) != video.length:
            count = len(segs) if isinstance(segs, list) else type(segs).__name__
            raise DataError(f"{here}: {count} segmentations but video {vid} has {video.length} frames: give one "
                            "per frame (null where the track has no mask)")
        rles = [None if s is None else to_rle(s, video.height, video.width, f"{here} (video {vid}), frame {t}")
                for t, s in enumerate(segs)]
        by_video.setdefault(vid, []).append(TrackPrediction(cid, float(score), rles))
    return by_video


def score_instance_results(results: str | Path, annotations: str | Path | InstanceAnnotations,
                           split_def: str | None = None, class_names: str = "clean",
                           show_progress: bool = False) -> InstanceScoreResult:
    """Video AP of a results file against an annotation file (any instance layout), with AP_base / AP_novel
    over `split_def` ('partition', 'frequency', 'all' or a JSON list of base names; default: the file's
    LV-VIS partition when it has one, else 'all')."""
    if not isinstance(annotations, InstanceAnnotations):
        annotations = load_instance_annotations(annotations)
    path = Path(results).expanduser()
    predictions = parse_results(read_json(path, "results file"), annotations, str(path))
    split_def = split_def or annotations.default_split()
    split = annotations.class_split(split_def)
    groups = split_category_ids(split, annotations.categories) if split.unseen else {"base": list(annotations.category_ids)}
    metric = VideoAP(annotations.category_ids, groups)
    progress = _progress_bar(len(annotations.videos)) if show_progress else None
    try:
        for video in annotations.videos:
            metric.update(video.id, predictions.get(video.id, []), annotations.tracks_of(video.id))
            if progress is not None:
                progress.update(1)
    finally:
        if progress is not None:
            progress.close()
    names = dict(zip(annotations.category_ids, class_names_in_form(annotations.class_names, class_names)))
    source = annotations.source.name if annotations.source is not None else "annotations"
    return InstanceScoreResult.from_video_ap(metric.compute(), names, groups, annotations=source, split_def=split_def,
                                             class_names=class_names,
                                             num_predictions=sum(len(p) for p in predictions.values()))


def _progress_bar(total: int) -> Callable:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="video", desc="score", file=sys.stderr)
