"""Scoring any method's prediction PNGs against an AVSBench-semantic-layout dataset, no model involved
(`openvidseg score --task audio-visual`).

Predictions are laid out like the masks, PRED_DIR/<uid>/<frame>.png, one per labelled frame: single-channel
or palette PNGs holding class ids (0 background, 1..N), or RGB PNGs in the dataset's colours (what the
AVSBench code saves), at the frame's size or already at 224 x 224. Each video's labelled frames are scored
in clips of `clip_length` consecutive frames (the F-score's unit). The "reference" mode reproduces the
released OV-AVSS evaluation, which also sets ground-truth pixels of classes the video's metadata does not
list as sounding to background (its "filter error annotations" step).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from openvidseg.data.avsbench_layout import SUBSETS, AVSVideo, check_root, dataset_classes, read_colour_mask, read_metadata
from openvidseg.data.splits import load_split
from openvidseg.errors import DataError
from openvidseg.metrics.audio_visual import EVAL_SIZE, AudioVisualScores
from openvidseg.metrics.audio_visual_result import AudioVisualScoreResult
from openvidseg.metrics.scoring import (
    MAX_LISTED, MAX_PROBLEMS, announce_prediction_files, match_prediction_files, progress_bar,
)

logger = logging.getLogger(__name__)


def clips_of(frames: Sequence[int], clip_length: int) -> list[list[int]]:
    """Consecutive runs of `clip_length` frames: [0..4], [5..9] (a short last run stays short)."""
    return [list(frames[i:i + clip_length]) for i in range(0, len(frames), clip_length)]


def _read_prediction(path: Path | None, gt: np.ndarray, num_ids: int, size: int, problems: list[str]) -> np.ndarray:
    """(H, W) ids of one prediction (255 everywhere when absent); wrong sizes and ids are listed in `problems`."""
    if path is None:
        return np.full_like(gt, 255)
    pred = read_colour_mask(path, num_ids)
    if pred.shape not in (gt.shape, (size, size)):
        problems.append(f"{path}: size {pred.shape[1]}x{pred.shape[0]}, ground truth {gt.shape[1]}x{gt.shape[0]} "
                        f"(or {size}x{size})")
    elif np.any((pred >= num_ids) & (pred != 255)):
        problems.append(f"{path}: ids {np.unique(pred[(pred >= num_ids) & (pred != 255)])[:6].tolist()} beyond 0..{num_ids - 1}")
    return pred


def _filtered(gt: np.ndarray, video: AVSVideo, classes: tuple[str, ...]) -> np.ndarray:
    """The reference's filter: pixels of classes the metadata does not list for the video become background."""
    keep = [0] + [i + 1 for i, name in enumerate(classes) if name in video.objects]
    return np.where(np.isin(gt, keep) | (gt == 255), gt, 0).astype(np.uint8)


def score_audio_visual(pred_dir: str | Path, root: str | Path, split: str = "test", *, subsets: Sequence[str] = SUBSETS,
                       split_def: str = "ov_avss", class_names: str = "clean", mode: str = "exact",
                       size: int = EVAL_SIZE, clip_length: int = 5, allow_missing: bool = False,
                       show_progress: bool = False, on_warning: Callable[[str], None] | None = None) -> AudioVisualScoreResult:
    """Score PRED_DIR/<uid>/<frame>.png against ROOT's `split` videos (of `subsets`): mIoU (base / novel /
    harmonic) and F-score at `size` x `size`. Missing predictions stop with the list of files unless
    `allow_missing` (then scored as misses); wrong sizes or ids are listed together (at most 20)."""
    root, pred_dir = check_root(root), Path(pred_dir).expanduser()
    classes = dataset_classes(root)
    num_ids = len(classes) + 1
    scores = AudioVisualScores(load_split(split_def, classes), class_names, mode=mode, size=size)
    videos = [v for v in read_metadata(root) if v.split == split and v.subset in subsets]
    if not videos:
        raise DataError(f"no video of split '{split}' (subsets {', '.join(subsets)}) in {root / 'metadata.csv'}")
    frames = {v.uid: [str(k) for k in v.labelled_frames] for v in videos}
    files = match_prediction_files(pred_dir, frames)
    warn = on_warning or logger.warning
    announce_prediction_files(files, sum(map(len, frames.values())), allow_missing, split, warn)
    missing, problems = set(files.missing), []
    progress = progress_bar(sum(map(len, frames.values()))) if show_progress else None
    try:
        for video in videos:
            if len(problems) >= MAX_PROBLEMS:
                break
            scores.start_video()
            for clip in clips_of(video.labelled_frames, clip_length):
                gts, preds = [], []
                for k in clip:
                    gt = read_colour_mask(video.mask_path(k), num_ids)
                    path = pred_dir / video.uid / f"{k}.png"
                    pred = _read_prediction(None if path in missing else path, gt, num_ids, size, problems)
                    gts.append(_filtered(gt, video, classes) if mode == "reference" else gt)
                    preds.append(pred)
                    if progress is not None:
                        progress.update(1)
                if not problems:
                    scores.update(preds, gts)
        if problems:
            more = f" (stopped after {MAX_PROBLEMS})" if len(problems) >= MAX_PROBLEMS else ""
            raise DataError(f"{len(problems)} bad prediction files{more}: " + "; ".join(problems[:MAX_LISTED]) +
                            f". Predictions must be PNGs of class ids 0..{num_ids - 1} (or the dataset's colours) "
                            f"at the frame's size or {size}x{size}")
        return scores.result(split)
    finally:
        if progress is not None:
            progress.close()
