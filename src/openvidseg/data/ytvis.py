"""The YouTube-VIS JSON layout, shared by YouTube-VIS 2019/2021, OVIS and LV-VIS.

    ROOT/train.json  (LV-VIS: train/train_instances.json; OVIS: annotations_train.json)
    {"videos":      [{"id", "file_names": ["<video>/<frame>.jpg", ...], "height", "width", "length"}],
     "categories":  [{"id", "name", ("partition": 0..3 in LV-VIS)}],
     "annotations": [{"id", "video_id", "category_id", "iscrowd",
                      "segmentations": [RLE | polygons | null per frame], "areas": [...], "bboxes": [...]}]}
    frames: IMAGE_ROOT/<file_name>, IMAGE_ROOT usually ROOT/train/JPEGImages (see `default_image_root`)

`annotations` is absent or null in test files. Every problem is a `DataError` naming the file and entry.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, InstanceTrack, VideoInfo
from openvidseg.data.rle import rle_areas, rle_boxes, to_rle
from openvidseg.errors import DataError


def read_json(path: str | Path, what: str = "annotation file") -> Any:
    """A JSON file's content, with one-line errors for a missing or malformed file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{what} {path} not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{what} {path} is not valid JSON: {err}") from None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require(entry: Mapping[str, Any], key: str, check, expected: str, where: str) -> Any:
    """entry[key] when `check` accepts it, else a DataError naming the entry and what was expected."""
    if not isinstance(entry, Mapping) or key not in entry:
        raise DataError(f"{where} has no '{key}' ({expected})")
    value = entry[key]
    if not check(value):
        raise DataError(f"{where}: '{key}' must be {expected}, got {str(value)[:60]!r}")
    return value


def require_known(entry: Mapping[str, Any], key: str, known, what: str, where: str) -> int:
    """entry[key], an integer that must be in `known` (else a DataError: '<key> <value> is not <what>')."""
    value = require(entry, key, is_int, "an integer", where)
    if value not in known:
        raise DataError(f"{where}: {key} {value} is not {what}")
    return value


UNKNOWN_CATEGORY = "a category of the file (unknown category id)"


def collect(problems: list[str] | None, parse, *args):
    """parse(*args), or None after appending its DataError to `problems` (raised when `problems` is None):
    a check lists every bad entry, loading stops at the first."""
    try:
        return parse(*args)
    except DataError as err:
        if problems is None:
            raise
        problems.append(str(err))
        return None


def video_name(file_names: list[str], video_id: int) -> str:
    """The frame folder of a video ('0043f083b5/00000.jpg' -> '0043f083b5'), or its id."""
    parent = Path(file_names[0]).parent.as_posix() if file_names else ""
    return parent if parent not in ("", ".") else str(video_id)


def parse_categories(entries: Any, where: str) -> list[InstanceCategory]:
    """Category entries {"id", "name", ("partition"), ("frequency")} -> InstanceCategory (ids unique)."""
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{where}: 'categories' must be a non-empty list of {{'id', 'name'}}")
    categories, seen = [], set()
    for n, entry in enumerate(entries):
        here = f"{where}: category #{n}"
        cid = require(entry, "id", is_int, "an integer", here)
        name = require(entry, "name", lambda v: isinstance(v, str) and v.strip(), "a non-empty string", here)
        if cid in seen:
            raise DataError(f"{where}: category id {cid} appears twice")
        seen.add(cid)
        partition = entry.get("partition")
        frequency = entry.get("frequency")
        categories.append(InstanceCategory(cid, name, partition if is_int(partition) else None,
                                           frequency if isinstance(frequency, str) else None))
    names = [c.name for c in categories]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"{where}: category names {twice[:5]} appear twice: class names must be unique")
    return categories


def _parse_videos(entries: Any, where: str) -> list[VideoInfo]:
    if not isinstance(entries, list) or not entries:
        raise DataError(f"{where}: 'videos' must be a non-empty list")
    videos, seen = [], set()
    positive = lambda v: is_int(v) and v > 0  # noqa: E731
    for n, entry in enumerate(entries):
        here = f"{where}: video #{n}"
        vid = require(entry, "id", is_int, "an integer", here)
        here = f"{where}: video {vid}"
        files = require(entry, "file_names", lambda v: isinstance(v, list) and v and all(isinstance(f, str) for f in v),
                        "a non-empty list of frame paths", here)
        height = require(entry, "height", positive, "a positive integer", here)
        width = require(entry, "width", positive, "a positive integer", here)
        if is_int(entry.get("length")) and entry["length"] != len(files):
            raise DataError(f"{here}: 'length' is {entry['length']} but it lists {len(files)} file_names")
        if vid in seen:
            raise DataError(f"{where}: video id {vid} appears twice")
        seen.add(vid)
        videos.append(VideoInfo(vid, video_name(files, vid), tuple(files), height, width))
    return videos


def parse_track(entry: Any, number: int, videos: Mapping[int, VideoInfo], categories: set[int], where: str,
                default_id: int) -> InstanceTrack:
    """One YouTube-VIS annotation -> InstanceTrack (segmentations converted to compressed RLE)."""
    here = f"{where}: annotation #{number}"
    tid = entry.get("id", default_id) if isinstance(entry, Mapping) else default_id
    if not is_int(tid):
        raise DataError(f"{here}: 'id' must be an integer, got {tid!r}")
    here = f"{where}: annotation {tid}"
    vid = require_known(entry, "video_id", videos, "a video of the file", here)
    cid = require_known(entry, "category_id", categories, UNKNOWN_CATEGORY, here)
    video = videos[vid]
    segs = require(entry, "segmentations", lambda v: isinstance(v, list), "a list (one entry per frame)", here)
    if len(segs) != video.length:
        raise DataError(f"{here}: {len(segs)} segmentations for a video of {video.length} frames: "
                        "give one per frame (null where the object is absent)")
    rles = tuple(None if s is None else to_rle(s, video.height, video.width, f"{here}, frame {t}")
                 for t, s in enumerate(segs))
    areas = entry.get("areas")
    if isinstance(areas, list) and len(areas) == video.length and all(a is None or isinstance(a, (int, float))
                                                                      for a in areas):
        areas = tuple(areas)
    else:
        areas = None
    crowd = entry.get("iscrowd", 0)
    return InstanceTrack(tid, vid, cid, rles, bool(crowd), areas)


def parse_ytvis(data: Any, where: str, problems: list[str] | None = None) -> InstanceAnnotations:
    """A loaded YouTube-VIS JSON mapping -> InstanceAnnotations (`where` names the file in errors). With a
    `problems` list, bad annotations are listed there and left out instead of stopping at the first."""
    if not isinstance(data, Mapping) or "videos" not in data:
        raise DataError(f"{where} is not a YouTube-VIS annotation file: expected a JSON object with 'videos', "
                        "'categories' and 'annotations'")
    videos = _parse_videos(data["videos"], where)
    categories = parse_categories(data.get("categories"), where)
    entries = data.get("annotations") or []
    if not isinstance(entries, list):
        raise DataError(f"{where}: 'annotations' must be a list")
    by_id = {v.id: v for v in videos}
    category_ids = {c.id for c in categories}
    parsed = [collect(problems, parse_track, e, n, by_id, category_ids, where, n + 1) for n, e in enumerate(entries)]
    tracks = [t for t in parsed if t is not None]
    collect(problems, check_unique_ids, [t.id for t in tracks], where)
    return InstanceAnnotations(videos, categories, tracks, layout="ytvis")


def check_unique_ids(ids: list[int], where: str) -> None:
    """DataError when track ids repeat."""
    if len(set(ids)) != len(ids):
        counts: dict[int, int] = {}
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
        twice = sorted(i for i, c in counts.items() if c > 1)
        raise DataError(f"{where}: annotation ids {twice[:5]} appear twice: track ids must be unique")


def load_ytvis_json(path: str | Path) -> InstanceAnnotations:
    """Read a YouTube-VIS / OVIS / LV-VIS annotation file."""
    path = Path(path).expanduser()
    annotations = parse_ytvis(read_json(path), str(path))
    annotations.source = path
    return annotations


def track_entry(track: InstanceTrack, video: VideoInfo) -> dict[str, Any]:
    """One track as a YouTube-VIS annotation (RLE counts as str, per-frame areas and [x, y, w, h] boxes)."""
    present = [s for s in track.segmentations if s is not None]
    areas, boxes = iter(rle_areas(present).tolist()), iter(rle_boxes(present).tolist())
    segs, area_list, box_list = [], [], []
    for rle in track.segmentations:
        if rle is None:
            segs.append(None)
            area_list.append(None)
            box_list.append(None)
            continue
        counts = rle["counts"]
        segs.append({"size": list(rle["size"]), "counts": counts.decode("ascii") if isinstance(counts, bytes) else counts})
        area_list.append(int(next(areas)))
        box_list.append([float(v) for v in next(boxes)])
    return {"id": track.id, "video_id": track.video_id, "category_id": track.category_id,
            "iscrowd": int(track.iscrowd), "segmentations": segs, "areas": area_list, "bboxes": box_list,
            "height": video.height, "width": video.width}


def ytvis_json(annotations: InstanceAnnotations) -> dict[str, Any]:
    """InstanceAnnotations -> the YouTube-VIS JSON mapping (e.g. to convert BURST or write a synthetic set)."""
    categories = []
    for c in annotations.categories:
        entry: dict[str, Any] = {"id": c.id, "name": c.name, "supercategory": "object"}
        if c.partition is not None:
            entry["partition"] = c.partition
        if c.frequency is not None:
            entry["frequency"] = c.frequency
        categories.append(entry)
    videos = [{"id": v.id, "file_names": list(v.file_names), "height": v.height, "width": v.width,
               "length": v.length} for v in annotations.videos]
    by_id = annotations.video_by_id
    tracks = [track_entry(t, by_id[t.video_id]) for t in annotations.tracks]
    return {"info": {"description": "written by openvidseg"}, "videos": videos, "categories": categories,
            "annotations": tracks}


def write_ytvis_json(annotations: InstanceAnnotations, path: str | Path) -> Path:
    """Write annotations in the YouTube-VIS layout; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(ytvis_json(annotations)))
    return path


def default_image_root(annotation_file: str | Path) -> Path:
    """Where the frames of an annotation file live when not given: the first existing of
    <dir>/<stem>/JPEGImages (YouTube-VIS: train.json -> train/JPEGImages), <dir>/JPEGImages (LV-VIS:
    train/train_instances.json -> train/JPEGImages), <dir>/<stem>; else a DataError listing them."""
    path = Path(annotation_file).expanduser()
    candidates = [path.parent / path.stem / "JPEGImages", path.parent / "JPEGImages", path.parent / path.stem]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise DataError(f"no frame folder found for {path} (tried {', '.join(str(c) for c in candidates)}): "
                    "give the folder holding <video>/<frame>.jpg (--images / image_root)")
