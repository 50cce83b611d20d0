"""COCO / LVIS image instance JSON, read as one-frame videos so image training (as the peers train on
COCO or LVIS images) uses the same dataset, checks and metric as videos.

    {"images": [{"id", "file_name" (COCO) or "coco_url" (LVIS), "height", "width"}],
     "categories": [{"id", "name", ("frequency": r/c/f in LVIS)}],
     "annotations": [{"id", "image_id", "category_id", "segmentation": polygons | RLE, "iscrowd", "area"}]}

Each annotation becomes a track of one frame; LVIS images name their file by URL, whose last two parts
(e.g. train2017/000000391895.jpg) are taken relative to the image root (usually the COCO folder).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openvidseg.data.instances import InstanceAnnotations, InstanceTrack, VideoInfo
from openvidseg.data.rle import to_rle
from openvidseg.data.ytvis import (
    UNKNOWN_CATEGORY, check_unique_ids, collect, is_int, parse_categories, require, require_known,
)
from openvidseg.errors import DataError


def _file_name(image: Mapping[str, Any], here: str) -> str:
    if isinstance(image.get("file_name"), str) and image["file_name"]:
        return image["file_name"]
    url = image.get("coco_url")
    if isinstance(url, str) and "/" in url:
        return "/".join(url.rstrip("/").split("/")[-2:])
    raise DataError(f"{here} has neither 'file_name' nor 'coco_url'")


def _track(ann: Any, n: int, videos: dict[int, VideoInfo], category_ids: set[int], where: str) -> InstanceTrack:
    aid = require(ann, "id", is_int, "an integer", f"{where}: annotation #{n}")
    here = f"{where}: annotation {aid}"
    iid = require_known(ann, "image_id", videos, "an image of the file", here)
    cid = require_known(ann, "category_id", category_ids, UNKNOWN_CATEGORY, here)
    image = videos[iid]
    rle = to_rle(require(ann, "segmentation", lambda v: v is not None, "polygons or an RLE", here),
                 image.height, image.width, here)
    area = ann.get("area")
    return InstanceTrack(aid, iid, cid, (rle,), bool(ann.get("iscrowd", 0)),
                         (float(area),) if isinstance(area, (int, float)) and not isinstance(area, bool) else None)


def parse_coco_instances(data: Any, where: str, problems: list[str] | None = None) -> InstanceAnnotations:
    """A loaded COCO / LVIS instance JSON mapping -> InstanceAnnotations of one-frame videos. With a
    `problems` list, bad annotations are listed there and left out instead of stopping at the first."""
    if not isinstance(data, Mapping) or not isinstance(data.get("images"), list) or not data["images"]:
        raise DataError(f"{where} is not a COCO/LVIS instance file: expected a JSON object with a non-empty 'images' list")
    positive = lambda v: is_int(v) and v > 0  # noqa: E731
    videos: dict[int, VideoInfo] = {}
    for n, image in enumerate(data["images"]):
        iid = require(image, "id", is_int, "an integer", f"{where}: image #{n}")
        here = f"{where}: image {iid}"
        if iid in videos:
            raise DataError(f"{where}: image id {iid} appears twice")
        name = _file_name(image, here)
        videos[iid] = VideoInfo(iid, Path(name).stem, (name,), require(image, "height", positive, "a positive integer", here),
                                require(image, "width", positive, "a positive integer", here))
    categories = parse_categories(data.get("categories"), where)
    category_ids = {c.id for c in categories}
    parsed = [collect(problems, _track, ann, n, videos, category_ids, where)
              for n, ann in enumerate(data.get("annotations") or [])]
    tracks = [t for t in parsed if t is not None]
    collect(problems, check_unique_ids, [t.id for t in tracks], where)
    return InstanceAnnotations(list(videos.values()), categories, tracks, layout="coco")


def default_coco_image_root(annotations: InstanceAnnotations) -> Path:
    """The image folder of a COCO-layout file, the first that holds its first image of: coco/train2017 for
    coco/annotations/instances_train2017.json, coco/ (LVIS names include the image folder), the file's folder."""
    assert annotations.source is not None
    path, first = annotations.source, annotations.videos[0].file_names[0]
    candidates = [path.parent.parent / path.stem.split("_")[-1], path.parent.parent, path.parent]
    for folder in candidates:
        if (folder / first).is_file():
            return folder
    raise DataError(f"no image folder found for {path} (tried {', '.join(map(str, candidates))}, looking for "
                    f"{first}): give the folder the file names are relative to (--images / image_root)")
