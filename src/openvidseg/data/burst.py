"""The BURST layout (one JSON per split; LVIS category ids), read as video instance annotations.

    {"split": "val", "categories": [{"id", "name", ...}],
     "sequences": [{"id", "width", "height", "dataset", "seq_name", "annotated_image_paths": [...],
                    "track_category_ids": {"<track>": category_id},
                    "segmentations": [{"<track>": {"rle": "<compressed counts>", ...}} per annotated frame]}]}
    frames: IMAGES/<split>/<dataset>/<seq_name>/<image path>     (IMAGES usually BURST/frames)

A video here is the sequence's *annotated* frames (BURST labels about one frame per second), so a track's
segmentations follow `annotated_image_paths`; track ids (per sequence in the file) become unique ids
numbered through the file in order.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openvidseg.data.instances import InstanceAnnotations, InstanceTrack, VideoInfo
from openvidseg.data.rle import to_rle
from openvidseg.data.ytvis import collect, is_int, parse_categories, require
from openvidseg.errors import DataError


def _tracks(seq: Mapping[str, Any], video: VideoInfo, categories: set[int], here: str, first_id: int) -> list[InstanceTrack]:
    track_categories = require(seq, "track_category_ids", lambda v: isinstance(v, Mapping), "a {track: category} object", here)
    frames = require(seq, "segmentations", lambda v: isinstance(v, list), "a list (one entry per annotated frame)", here)
    if len(frames) != video.length:
        raise DataError(f"{here}: {len(frames)} segmentation entries for {video.length} annotated frames")
    if not all(isinstance(f, Mapping) for f in frames):
        raise DataError(f"{here}: every segmentations entry must be a {{track id: {{'rle': ...}}}} object")
    known = {str(k) for k in track_categories}
    for t, frame in enumerate(frames):
        stray = sorted(set(map(str, frame)) - known)
        if stray:
            raise DataError(f"{here}, annotated frame {t}: tracks {stray[:5]} have masks but no entry in track_category_ids")
    tracks = []
    for key, cid in track_categories.items():
        if not is_int(cid) or cid not in categories:
            raise DataError(f"{here}: track {key} has category {cid!r}, not a category of the file (unknown category id)")
        segs = []
        for t, frame in enumerate(frames):
            entry = frame.get(str(key))
            if entry is None:
                segs.append(None)
                continue
            rle = require(entry, "rle", lambda v: isinstance(v, str), "a compressed RLE string", f"{here}, track {key}, frame {t}")
            segs.append(to_rle({"size": [video.height, video.width], "counts": rle}, video.height, video.width,
                               f"{here}, track {key}, frame {t}"))
        tracks.append(InstanceTrack(first_id + len(tracks), video.id, cid, tuple(segs)))
    return tracks


def parse_burst(data: Any, where: str, problems: list[str] | None = None) -> InstanceAnnotations:
    """A loaded BURST JSON mapping -> InstanceAnnotations (`where` names the file in errors). With a
    `problems` list, a sequence with bad tracks is listed there and keeps no track."""
    if not isinstance(data, Mapping) or not isinstance(data.get("sequences"), list):
        raise DataError(f"{where} is not a BURST annotation file: expected a JSON object with a 'sequences' list")
    split = data.get("split")
    if not isinstance(split, str) or not split:
        raise DataError(f"{where} has no 'split' (train, val or test): BURST frames live under <images>/<split>/")
    categories = parse_categories(data.get("categories"), where)
    category_ids = {c.id for c in categories}
    videos, tracks, seen = [], [], set()
    positive = lambda v: is_int(v) and v > 0  # noqa: E731
    for n, seq in enumerate(data["sequences"]):
        sid = require(seq, "id", is_int, "an integer", f"{where}: sequence #{n}")
        here = f"{where}: sequence {sid}"
        if sid in seen:
            raise DataError(f"{where}: sequence id {sid} appears twice")
        seen.add(sid)
        source = require(seq, "dataset", lambda v: isinstance(v, str) and v, "the source dataset's name", here)
        name = require(seq, "seq_name", lambda v: isinstance(v, str) and v, "the sequence's folder name", here)
        paths = require(seq, "annotated_image_paths", lambda v: isinstance(v, list) and v and all(isinstance(p, str) for p in v),
                        "a non-empty list of frame names", here)
        video = VideoInfo(sid, f"{source}/{name}", tuple(f"{split}/{source}/{name}/{p}" for p in paths),
                          require(seq, "height", positive, "a positive integer", here),
                          require(seq, "width", positive, "a positive integer", here))
        videos.append(video)
        tracks += collect(problems, _tracks, seq, video, category_ids, here, len(tracks) + 1) or []
    if not videos:
        raise DataError(f"{where} holds no sequences")
    return InstanceAnnotations(videos, categories, tracks, layout="burst")


def default_burst_image_root(annotations: InstanceAnnotations) -> Path:
    """The BURST `frames` folder next to the annotations (BURST/annotations/<split>/x.json -> BURST/frames)."""
    assert annotations.source is not None
    first = annotations.videos[0].file_names[0]
    candidates = [parent / "frames" for parent in annotations.source.parents[:3]]
    for folder in candidates:
        if (folder / first).is_file():
            return folder
    raise DataError(f"no BURST frame folder found for {annotations.source} (tried {', '.join(map(str, candidates))}, "
                    f"looking for {first}): give the folder holding <split>/<dataset>/<sequence>/ (--images / image_root)")
