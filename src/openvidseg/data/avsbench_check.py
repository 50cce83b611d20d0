"""`openvidseg data check ROOT --kind avsbench`: walk an AVSBench-semantic-layout folder and report what is
there and every problem, naming files: videos listed but absent, missing frames or masks, unreadable
files, mask/frame size mismatches, colours outside the palette, ids beyond the classes, sounding-class
names that are not classes, duplicate videos, and audio that is missing, unreadable or shorter than the clip."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from openvidseg.data.audio import COVER_TOLERANCE, read_audio
from openvidseg.data.avsbench_layout import (
    FPS, AVSVideo, check_root, dataset_classes, read_colour_mask, read_metadata,
)
from openvidseg.data.check import DataReport, _frame_size, read_checked_mask
from openvidseg.data.classes import AVSBENCH_BACKGROUND, IGNORE_INDEX
from openvidseg.errors import DataError


def _check_audio(video: AVSVideo, report: DataReport) -> None:
    if not video.audio_path.is_file():
        report.problems.append(f"missing audio: {video.audio_path}")
        return
    try:
        track = read_audio(video.audio_path)
    except DataError as err:
        report.problems.append(str(err))
        return
    needed = video.num_frames / FPS
    if track.end < needed - COVER_TOLERANCE:
        report.problems.append(f"short audio: {video.audio_path} lasts {track.end:.2f} s but the clip's "
                               f"{video.num_frames} frames span {needed:.0f} s")


def _check_video(video: AVSVideo, num_ids: int, known: set[str], quick: bool, report: DataReport,
                 counts: dict[str, int]) -> None:
    unknown = [o for o in video.objects if o not in known]
    if unknown:
        report.problems.append(f"video '{video.uid}': sounding classes {unknown} in metadata.csv are not classes")
    if not video.folder.is_dir():
        report.problems.append(f"video '{video.uid}' is listed but absent: {video.folder} does not exist")
        return
    counts["videos"] += 1
    for index in range(video.num_frames):
        path = video.frame_path(index)
        if not path.is_file():
            report.problems.append(f"missing frame: {path}")
            continue
        counts["frames"] += 1
        size = _frame_size(path, quick, report)
        if index not in video.labelled_frames:
            continue
        if not video.mask_path(index).is_file():
            report.problems.append(f"missing mask: {video.mask_path(index)} (its frame {path} exists)")
            continue
        counts["masks"] += 1
        _check_mask(video.mask_path(index), path, size, num_ids, report)
    _check_audio(video, report)


def _check_mask(path: Path, frame_path: Path, frame_size: tuple[int, int] | None, num_ids: int,
                report: DataReport) -> None:
    mask = read_checked_mask(path, frame_path, frame_size, report, reader=lambda p: read_colour_mask(p, num_ids))
    if mask is None:
        return
    counts = np.bincount(mask.reshape(-1), minlength=256)
    if counts[IGNORE_INDEX]:
        report.problems.append(f"{path}: {counts[IGNORE_INDEX]} pixels have colours outside the palette of the "
                               f"{num_ids} labels")
    for cid in np.flatnonzero(counts[:IGNORE_INDEX]):
        report.pixels[int(cid)] += int(counts[cid])


def check_avsbench(root: str | Path, splits: list[str] | None = None, quick: bool = False) -> DataReport:
    """Check an AVSBench-semantic-layout folder: the given splits (default: every split in metadata.csv)."""
    root = check_root(root)
    classes = dataset_classes(root)
    names = {0: AVSBENCH_BACKGROUND, **{i + 1: n for i, n in enumerate(classes)}}
    report = DataReport(root, "avsbench", len(classes), names)
    videos = read_metadata(root)
    for uid, times in Counter(v.uid for v in videos).items():
        if times > 1:
            report.problems.append(f"video '{uid}' is listed {times} times in metadata.csv")
    present = list(dict.fromkeys(v.split for v in videos))
    for split in splits or present:
        if split not in present:
            report.problems.append(f"split '{split}' has no video in metadata.csv (present: {', '.join(present)})")
            continue
        counts = report.splits.setdefault(split, {"videos": 0, "frames": 0, "masks": 0})
        for video in (v for v in videos if v.split == split):
            _check_video(video, len(classes) + 1, set(classes), quick, report, counts)
    return report
