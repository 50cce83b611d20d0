"""Walk a dataset and report what is there and every problem, naming files (`openvidseg data check`).

Problems found: missing or empty split files, videos listed but absent, videos without frames, a
frame without its mask or a mask without its frame, unreadable files, mask/frame size mismatches,
frames of one video with different sizes, and mask ids that are neither 0..N nor 255.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openvidseg.data import cityscapes as cs
from openvidseg.data.frame_source import image_size
from openvidseg.data.io import id_counts, invalid_ids, read_image, read_mask, valid_id_table
from openvidseg.data.vspw_layout import FRAME_DIR, FRAME_SUFFIXES, MASK_DIR, check_root, dataset_classes
from openvidseg.errors import DataError, InputError

KINDS = ("vspw", "cityscapes", "avsbench", "ytvis", "burst", "coco")  # the last three: instance annotation files
VSPW_SPLITS = ("train", "val", "test")


@dataclass
class DataReport:
    """What a check found: per-split counts, pixels per class id, and problems (one line each, file named)."""

    root: Path
    kind: str
    num_classes: int
    class_names: dict[int, str]  # id in the masks -> name (VSPW: 0 others, 1..N; Cityscapes: train id + 1)
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> {"videos", "frames", "masks"}
    pixels: Counter = field(default_factory=Counter)  # id -> pixel count
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """The report as printed by `openvidseg data check`, ending with a one-line summary."""
        lines = [f"{self.kind} dataset at {self.root} ({self.num_classes} classes)"]
        for name, counts in self.splits.items():
            lines.append(f"  split {name}: {counts['videos']} videos, {counts['frames']} frames, {counts['masks']} masks")
        if self.pixels:
            lines.append("classes present (id, name, pixels):")
            for cid in sorted(self.pixels):
                lines.append(f"  {cid:>4}  {self.class_names.get(cid, '?'):<32} {self.pixels[cid]:>14,}")
        if self.problems:
            lines.append(f"problems ({len(self.problems)}):")
            lines += [f"  {p}" for p in self.problems]
        videos = sum(c["videos"] for c in self.splits.values())
        frames = sum(c["frames"] for c in self.splits.values())
        if self.clean:
            lines.append(f"clean: {videos} videos, {frames} frames, no problems")
        else:
            lines.append(f"NOT clean: {len(self.problems)} problem(s) in {self.root} ({videos} videos, {frames} frames)")
        return "\n".join(lines)


def _frame_size(path: Path, quick: bool, report: DataReport) -> tuple[int, int] | None:
    """(height, width) of a frame (fully decoded unless quick), or None after recording the problem."""
    try:
        return image_size(path) if quick else read_image(path).shape[:2]
    except DataError as err:
        report.problems.append(str(err))
        return None


def _check_video(root: Path, name: str, valid: np.ndarray, masks_expected: bool, quick: bool,
                 report: DataReport, counts: dict[str, int]) -> None:
    frame_dir, mask_dir = root / "data" / name / FRAME_DIR, root / "data" / name / MASK_DIR
    if not frame_dir.is_dir():
        report.problems.append(f"video '{name}' is listed but absent: {frame_dir} does not exist")
        return
    frames = {p.stem: p for p in frame_dir.iterdir() if p.suffix.lower() in FRAME_SUFFIXES}
    masks = {p.stem: p for p in mask_dir.glob("*.png")} if mask_dir.is_dir() else {}
    counts["videos"] += 1
    counts["frames"] += len(frames)
    counts["masks"] += len(masks)
    if not frames:
        report.problems.append(f"video '{name}' has no frames in {frame_dir}")
    if masks_expected and not mask_dir.is_dir():
        report.problems.append(f"video '{name}' has no mask folder {mask_dir}")
    for stem in sorted(set(masks) - set(frames)):
        report.problems.append(f"missing frame: {frame_dir / (stem + '.jpg')} (its mask {masks[stem]} exists)")
    if mask_dir.is_dir():
        for stem in sorted(set(frames) - set(masks)):
            report.problems.append(f"missing mask: {mask_dir / (stem + '.png')} (its frame {frames[stem]} exists)")
    video_size = None
    for stem in sorted(frames):
        size = _frame_size(frames[stem], quick, report)
        if size is not None and video_size is not None and size != video_size:
            report.problems.append(f"size mismatch: frame {frames[stem]} is {size[1]}x{size[0]} but other frames "
                                   f"of '{name}' are {video_size[1]}x{video_size[0]}")
        video_size = video_size or size
        if stem in masks:
            _check_mask(masks[stem], frames[stem], size, valid, report)


def read_checked_mask(path: Path, frame_path: Path, frame_size: tuple[int, int] | None, report: DataReport,
                      reader: Callable[[Path], np.ndarray] = read_mask) -> np.ndarray | None:
    """The mask at `path` read by `reader` (None when unreadable), its problems (unreadable, not its frame's
    size) recorded in `report`."""
    try:
        mask = reader(path)
    except DataError as err:
        report.problems.append(str(err))
        return None
    if frame_size is not None and mask.shape != frame_size:
        report.problems.append(f"size mismatch: mask {path} is {mask.shape[1]}x{mask.shape[0]} but its frame "
                               f"{frame_path} is {frame_size[1]}x{frame_size[0]}")
    return mask


def _check_mask(path: Path, frame_path: Path, frame_size: tuple[int, int] | None, valid: np.ndarray,
                report: DataReport, lut: np.ndarray | None = None) -> None:
    mask = read_checked_mask(path, frame_path, frame_size, report)
    if mask is None:
        return
    counts = id_counts(mask)
    bad = invalid_ids(counts, valid)
    if bad:
        top = int(np.flatnonzero(valid[:255]).max())
        report.problems.append(f"invalid ids in {path}: {bad[:8]} (allowed: 0..{top} and 255)")
    if lut is not None:
        counts = np.bincount(lut, weights=counts, minlength=256).astype(np.int64)
    for cid in np.flatnonzero(counts):
        report.pixels[int(cid)] += int(counts[cid])


def check_vspw(root: str | Path, splits: list[str] | None = None, quick: bool = False) -> DataReport:
    """Check a VSPW-layout folder: the given splits (default: whichever of train/val/test have a file)."""
    root = check_root(root)
    classes = dataset_classes(root)
    names = {0: "others", **{i + 1: n for i, n in enumerate(classes)}, 255: "ignore"}
    report = DataReport(root, "vspw", len(classes), names)
    valid = valid_id_table(len(classes))
    if splits is None:
        splits = [s for s in VSPW_SPLITS if (root / f"{s}.txt").is_file()]
        if not splits:
            report.problems.append(f"no split file in {root}: write train.txt / val.txt with one video name per line")
    for split in splits:
        path = root / f"{split}.txt"
        if not path.is_file():
            report.problems.append(f"split file {path} not found")
            continue
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if not names:
            report.problems.append(f"split file {path} is empty: list one video name per line")
        for name, times in Counter(names).items():
            if times > 1:
                report.problems.append(f"video '{name}' is listed {times} times in {path}")
        counts = report.splits.setdefault(split, {"videos": 0, "frames": 0, "masks": 0})
        for name in dict.fromkeys(names):
            _check_video(root, name, valid, masks_expected=split != "test", quick=quick, report=report, counts=counts)
    return report


def check_cityscapes(root: str | Path, splits: list[str] | None = None, quick: bool = False) -> DataReport:
    """Check Cityscapes gtFine labels and their leftImg8bit_sequence snippets (default: every gtFine split)."""
    root = Path(root).expanduser()
    names = {**{i + 1: n for i, n in enumerate(cs.CITYSCAPES_CLASSES)}, 255: "ignore"}
    report = DataReport(root, "cityscapes", len(cs.CITYSCAPES_CLASSES), names)
    label_root = root / cs.LABEL_DIR
    if splits is None:
        splits = sorted(p.name for p in label_root.iterdir() if p.is_dir()) if label_root.is_dir() else []
        if not splits:
            report.problems.append(f"no split folders in {label_root}: expected gtFine/<split>/<city>/*{cs.LABEL_SUFFIX}")
    lut, valid = cs.label_id_lut(), cs.valid_label_ids()
    for split in splits:
        counts = report.splits.setdefault(split, {"videos": 0, "frames": 0, "masks": 0})
        labels = sorted((label_root / split).glob(f"*/*{cs.LABEL_SUFFIX}"))
        if not labels:
            report.problems.append(f"no *{cs.LABEL_SUFFIX} files under {label_root / split}")
        for label in labels:
            try:
                city, seq, frame = cs.parse_label_name(label)
            except DataError as err:
                report.problems.append(str(err))
                continue
            counts["videos"] += 1
            counts["masks"] += 1
            folder = root / cs.SEQUENCE_DIR / split / city
            labelled_size = None
            for n in range(frame - cs.FRAMES_BEFORE, frame + cs.FRAMES_AFTER + 1):
                path = folder / f"{city}_{seq}_{n:06d}{cs.FRAME_SUFFIX}"
                if not path.is_file():
                    report.problems.append(f"missing frame: {path} (snippet of {label.name})")
                    continue
                counts["frames"] += 1
                size = _frame_size(path, quick and n != frame, report)
                if n == frame:
                    labelled_size = size
            _check_mask(label, folder / f"{city}_{seq}_{frame:06d}{cs.FRAME_SUFFIX}", labelled_size, valid, report, lut)
    return report


def check_dataset(root: str | Path, kind: str | None = "vspw", splits: list[str] | None = None, quick: bool = False,
                  image_root: str | Path | None = None) -> DataReport:
    """Check a dataset of `kind` (vspw | cityscapes | avsbench | ytvis | burst | coco; None: an instance layout when
    `root` is a .json file, else vspw). For instance kinds `root` is the annotation file and `image_root`
    its frame folder (default: found next to it). quick: read frame headers only (masks are always read)."""
    if kind is None:
        kind = "instance" if Path(root).suffix.lower() == ".json" else "vspw"
    if kind in ("instance", "ytvis", "burst", "coco"):
        from openvidseg.data.instance_check import check_instances

        if splits:
            raise InputError("--split selects VSPW / Cityscapes splits: an instance annotation file is one split")
        return check_instances(root, None if kind == "instance" else kind, image_root, quick)
    if image_root is not None:
        raise DataError("--images is for instance annotation files (ytvis, burst, coco)")
    if kind == "avsbench":
        from openvidseg.data.avsbench_check import check_avsbench

        return check_avsbench(root, splits, quick)
    if kind == "vspw":
        return check_vspw(root, splits, quick)
    if kind == "cityscapes":
        return check_cityscapes(root, splits, quick)
    raise DataError(f"unknown dataset kind '{kind}': use one of {', '.join(KINDS)}")
