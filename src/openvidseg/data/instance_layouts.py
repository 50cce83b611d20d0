"""Which instance layout an annotation file is in, and where its frames are.

    YouTube-VIS / OVIS / LV-VIS: a JSON object with "videos"          -> `data.ytvis`
    BURST:                       a JSON object with "sequences"       -> `data.burst`
    COCO / LVIS images:          a JSON object with "images"          -> `data.coco_instances`

Every layout loads into one `InstanceAnnotations`, so datasets, checks and scoring do not care which.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from openvidseg.data.instances import InstanceAnnotations
from openvidseg.errors import DataError

LAYOUTS = ("ytvis", "burst", "coco")


def detect_layout(data: Any, where: str) -> str:
    """'ytvis', 'burst' or 'coco' from the top-level keys of a loaded annotation file."""
    if isinstance(data, dict):
        if "videos" in data:
            return "ytvis"
        if "sequences" in data:
            return "burst"
        if "images" in data:
            return "coco"
    raise DataError(f"{where} is not an instance annotation file: expected a JSON object with 'videos' "
                    "(YouTube-VIS, OVIS, LV-VIS), 'sequences' (BURST) or 'images' (COCO, LVIS)")


def load_instance_annotations(path: str | Path, layout: str | None = None,
                              problems: list[str] | None = None) -> InstanceAnnotations:
    """Read an annotation file of any instance layout (detected from its keys unless `layout` is given).
    With a `problems` list, bad entries are listed there and left out instead of stopping at the first."""
    from openvidseg.data.ytvis import parse_ytvis, read_json

    path = Path(path).expanduser()
    data = read_json(path)
    found = detect_layout(data, str(path))
    if layout is not None and layout != found:
        raise DataError(f"{path} looks like a {found} file, not {layout}: pick the kind that matches the file")
    if found == "ytvis":
        annotations = parse_ytvis(data, str(path), problems)
    elif found == "burst":
        from openvidseg.data.burst import parse_burst

        annotations = parse_burst(data, str(path), problems)
    else:
        from openvidseg.data.coco_instances import parse_coco_instances

        annotations = parse_coco_instances(data, str(path), problems)
    annotations.source = path
    return annotations


def resolve_image_root(annotations: InstanceAnnotations, image_root: str | Path | None) -> Path:
    """The folder the annotations' frame paths are relative to: `image_root` when given (it must exist),
    else the layout's usual place next to the annotation file."""
    if image_root is not None:
        root = Path(image_root).expanduser()
        if not root.is_dir():
            raise DataError(f"image folder {root} not found: give the folder holding the annotation file's frame paths")
        return root
    if annotations.source is None:
        raise DataError("annotations built in memory have no file to find their frames next to: give image_root")
    if annotations.layout == "burst":
        from openvidseg.data.burst import default_burst_image_root

        return default_burst_image_root(annotations)
    if annotations.layout == "coco":
        from openvidseg.data.coco_instances import default_coco_image_root

        return default_coco_image_root(annotations)
    from openvidseg.data.ytvis import default_image_root

    return default_image_root(annotations.source)
