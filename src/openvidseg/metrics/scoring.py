"""Scoring prediction PNGs against a VSPW-layout dataset, with no model involved.

Predictions are laid out like the masks: PRED_DIR/<video>/<frame>.png, single-channel, holding dataset
class ids 1..N (the ids of the ground truth); 0 or 255 means "no class" and counts as a miss. Frames are
read one at a time (memory bounded by a frame plus the metrics' state), mapped through the evaluation
protocol's LUTs, and fed to the confusion-matrix metric and to VC8 / VC16.
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from openvidseg.data.classes import IGNORE_INDEX
from openvidseg.data.io import read_mask
from openvidseg.data.splits import load_split
from openvidseg.data.vspw_layout import MASK_DIR, check_root, dataset_classes, mask_path, split_videos
from openvidseg.errors import DataError
from openvidseg.metrics.result import ScoreResult
from openvidseg.metrics.video_scores import VideoScores

logger = logging.getLogger(__name__)

MAX_LISTED = 8  # file names shown in one message
MAX_PROBLEMS = 20  # stop reading after this many bad prediction files


def _listing(paths: list[Path] | list[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (f", ... ({len(paths) - limit} more)" if len(paths) > limit else "")


def video_masks(root: Path, video: str) -> list[str]:
    """Frame names (stems) of a video's ground-truth masks, in time order."""
    folder = root / "data" / video / MASK_DIR
    names = sorted(p.stem for p in folder.glob("*.png")) if folder.is_dir() else []
    if not names:
        raise DataError(f"video '{video}' has no ground-truth masks in {folder}: score a split with masks (not test)")
    return names


@dataclass
class PredictionFiles:
    """How a prediction folder matches the ground truth: expected files that are absent, and files that
    match no scored frame (ignored)."""

    missing: list[Path] = field(default_factory=list)
    extra: list[Path] = field(default_factory=list)


def match_prediction_files(pred_dir: Path, frames: dict[str, list[str]]) -> PredictionFiles:
    """Compare PRED_DIR/<video>/<frame>.png with the expected {video: frame names}."""
    if not pred_dir.is_dir():
        raise DataError(f"prediction folder {pred_dir} not found: expected {pred_dir}/<video>/<frame>.png")
    found = PredictionFiles()
    for video, names in frames.items():
        present = {p.stem: p for p in (pred_dir / video).glob("*.png")} if (pred_dir / video).is_dir() else {}
        found.missing += [pred_dir / video / f"{n}.png" for n in names if n not in present]
        expected = set(names)
        found.extra += sorted(p for stem, p in present.items() if stem not in expected)
    found.extra += sorted(p for p in pred_dir.iterdir() if p.is_dir() and p.name not in frames)
    return found


def check_prediction(pred: np.ndarray, gt_shape: tuple[int, ...], num_classes: int, path: Path) -> str | None:
    """A problem with one prediction (wrong size, ids outside 0..N and 255), or None."""
    if pred.shape != gt_shape:
        return f"{path}: size {pred.shape[1]}x{pred.shape[0]} (WxH), ground truth {gt_shape[1]}x{gt_shape[0]}"
    if int(pred.max(initial=0)) > num_classes:
        values = np.unique(pred[pred > num_classes])
        values = values[values != IGNORE_INDEX]
        if values.size:
            return f"{path}: ids {values[:6].tolist()} outside 0..{num_classes} and 255"
    return None


def read_frame_pair(gt_path: Path, pred_path: Path | None, num_ids: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(gt, prediction, problems) for one frame: (H, W) uint8 dataset ids. A missing prediction
    (`pred_path` None) is "no class" (255) everywhere."""
    gt = read_mask(gt_path)
    problems = []
    if int(gt.max(initial=0)) > num_ids and np.any((gt > num_ids) & (gt != IGNORE_INDEX)):
        problems.append(f"{gt_path}: ground-truth ids outside 0..{num_ids} and 255 (is ROOT the right dataset?)")
    if pred_path is None:
        return gt, np.full_like(gt, IGNORE_INDEX), problems
    pred = read_mask(pred_path)
    problem = check_prediction(pred, gt.shape, num_ids, pred_path)
    return gt, pred, problems + ([problem] if problem else [])


def announce_prediction_files(files: PredictionFiles, total: int, allow_missing: bool, split: str,
                    warn: Callable[[str], None]) -> None:
    if files.missing and not allow_missing:
        hint = ""
        if files.extra:
            hint = (f"; {len(files.extra)} files match no frame ({_listing(files.extra, 3)}): "
                    "do the names match the masks?")
        raise DataError(f"{len(files.missing)} of {total} prediction files are missing: {_listing(files.missing)}{hint}"
                        " (fix the folder, or allow_missing / --allow-missing to score them as misses)")
    if files.missing:
        warn(f"{len(files.missing)} missing predictions scored as misses: {_listing(files.missing)}")
    if files.extra:
        warn(f"{len(files.extra)} prediction files or folders match no frame of split '{split}' and are ignored: "
             f"{_listing(files.extra)}")


def score_predictions(pred_dir: str | Path, root: str | Path, split: str = "val", protocol: str = "gzsl",
                      split_def: str = "ov2vss", class_names: str = "clean", allow_missing: bool = False,
                      show_progress: bool = False, on_warning: Callable[[str], None] | None = None,
                      threads: int = 1) -> ScoreResult:
    """Score PRED_DIR/<video>/<frame>.png against ROOT's `split` under an evaluation protocol.

    Missing predictions are an error unless `allow_missing`, which scores each as "no class" everywhere
    (every scored pixel a miss). Extra files are ignored with a warning. Wrong sizes and ids outside
    0..N and 255 are errors naming the files (reported together after reading, at most 20).
    threads: torch intra-op threads while scoring (restored afterwards). The per-frame work is a few
    small element-wise passes: more threads gain little, and on busy cores they slow it down many times.
    """
    root, pred_dir = check_root(root), Path(pred_dir).expanduser()
    classes = dataset_classes(root)
    evaluation = load_split(split_def, classes).protocol(protocol)
    frames = {video: video_masks(root, video) for video in split_videos(root, split)}
    total = sum(len(names) for names in frames.values())
    files = match_prediction_files(pred_dir, frames)
    warn = on_warning or logger.warning
    announce_prediction_files(files, total, allow_missing, split, warn)

    gt_lut, pred_lut = evaluation.gt_lut(), evaluation.prediction_lut()  # (256,) uint8 tables
    scores = VideoScores(evaluation, class_names)
    missing, problems = set(files.missing), []
    progress = progress_bar(total) if show_progress else None
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for video, video_frames in frames.items():
            if len(problems) >= MAX_PROBLEMS:
                break
            scores.start_video()
            for frame in video_frames:
                pred_path = pred_dir / video / f"{frame}.png"
                gt, pred, found = read_frame_pair(mask_path(root, video, frame),
                                                  None if pred_path in missing else pred_path, len(classes))
                problems += found
                if len(problems) >= MAX_PROBLEMS:
                    break
                if problems:  # keep reading to list the bad files, score nothing more
                    continue
                gt_index = torch.from_numpy(gt_lut[gt])  # (H, W) uint8 class indices, 255 = not scored
                pred_index = torch.from_numpy(pred_lut[pred])  # (H, W) uint8 class indices, 255 = a miss
                scores.update(pred_index, gt_index)
                if progress is not None:
                    progress.update(1)
            scores.end_video()
        if problems:
            more = f" (stopped after {MAX_PROBLEMS})" if len(problems) >= MAX_PROBLEMS else ""
            raise DataError(f"{len(problems)} bad files{more}: " + "; ".join(problems[:MAX_LISTED]) + ". Predictions "
                            f"must be single-channel PNGs of the masks' size holding ids 0..{len(classes)} or 255")
        return scores.result(split)
    finally:
        torch.set_num_threads(previous_threads)
        if progress is not None:
            progress.close()


def progress_bar(total: int):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="frame", desc="score", file=sys.stderr)
