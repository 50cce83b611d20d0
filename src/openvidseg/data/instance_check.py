"""`openvidseg data check` for instance annotation files (YouTube-VIS / OVIS / LV-VIS, BURST, COCO / LVIS).

Problems found, each one line naming the file and entry: malformed or duplicate entries, unknown video or
category ids, segmentation lists of the wrong length, masks of another size than their video, tracks with
no mask in any frame, missing or unreadable frames, and frames of another size than annotated. A file
whose videos or categories cannot be read at all is an error (exit 2), as an unreadable VSPW root is.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from openvidseg.data.check import DataReport, _frame_size
from openvidseg.data.instance_layouts import load_instance_annotations, resolve_image_root
from openvidseg.data.rle import rle_areas

INSTANCE_KINDS = ("ytvis", "burst", "coco")


def check_instances(path: str | Path, kind: str | None = None, image_root: str | Path | None = None,
                    quick: bool = False) -> DataReport:
    """Check an instance annotation file of `kind` (ytvis | burst | coco; None: detected) and its frames
    under `image_root` (default: found next to the file). quick: read frame headers only."""
    problems: list[str] = []
    annotations = load_instance_annotations(path, kind, problems=problems)
    root = resolve_image_root(annotations, image_root)
    names = {c.id: c.name for c in annotations.categories}
    report = DataReport(Path(path).expanduser(), annotations.layout, len(names), names, problems=problems)
    counts = report.splits.setdefault(Path(path).stem, {"videos": 0, "frames": 0, "masks": 0})
    for video in annotations.videos:
        counts["videos"] += 1
        counts["frames"] += video.length
        for t, name in enumerate(video.file_names):
            frame = root / name
            if not frame.is_file():
                problems.append(f"missing frame: {frame} (frame {t} of video {video.id})")
                continue
            size = _frame_size(frame, quick, report)
            if size is not None and size != (video.height, video.width):
                problems.append(f"size mismatch: frame {frame} is {size[1]}x{size[0]} but video {video.id} is annotated "
                                f"{video.width}x{video.height}")
        for track in annotations.tracks_of(video.id):
            present = [s for s in track.segmentations if s is not None]
            areas = rle_areas(present)
            counts["masks"] += len(present)
            if not areas.any():
                problems.append(f"track {track.id} of video {video.id} has no mask in any frame: remove it or give "
                                "its masks")
            report.pixels[track.category_id] += int(areas.sum())
    report.pixels = Counter({cid: n for cid, n in report.pixels.items() if n})
    return report
