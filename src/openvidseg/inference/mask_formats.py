"""The formats `segment --format` saves class maps in, one file per frame under masks/ while a video is
segmented (so an interrupted run resumes at its first missing frame), plus what a finished video adds:

| format | per frame | when the video is complete |
|---|---|---|
| `png` | masks/00000.png: palette PNG, value = class index, 255 = no class | (nothing more) |
| `npz` | masks/00000.npz: `labels`, (H, W) uint8 class indices, compressed | (nothing more) |
| `coco-rle` | masks/00000.json: one COCO RLE per class present | annotations.json (COCO style), masks/ removed |

COCO-style JSON (`annotations.json`): `images` are the frames (id = frame index + 1, `frame_index`,
`file_name` = the frame's mask name), `categories` the classes (id = class index + 1, as COCO keeps 0 for
"nothing", with `class_index`), `annotations` one per class present in a frame: `segmentation` a
compressed RLE (pycocotools through `openvidseg.data.rle`), `area`, `bbox` [x, y, w, h], `iscrowd` 0.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from openvidseg.errors import DataError, InputError
from openvidseg.vocabulary import NO_CLASS

FORMATS = ("png", "npz", "coco-rle")
COCO_NAME = "annotations.json"


class PngMasks:
    """Palette PNGs: pixel value = class index, shown in the class colours."""

    name, suffix = "png", ".png"

    def write(self, path: Path, labels: np.ndarray, colors: np.ndarray) -> None:
        from openvidseg.viz import save_label_png

        save_label_png(labels, path, colors)

    def read(self, path: Path) -> np.ndarray:
        from openvidseg.data.io import read_mask

        return read_mask(path)


class NpzMasks:
    """NumPy archives holding `labels`, the (H, W) uint8 class map (compressed)."""

    name, suffix = "npz", ".npz"

    def write(self, path: Path, labels: np.ndarray, colors: np.ndarray) -> None:
        with open(path, "wb") as file:
            np.savez_compressed(file, labels=np.asarray(labels, dtype=np.uint8))

    def read(self, path: Path) -> np.ndarray:
        try:
            with np.load(path, allow_pickle=False) as archive:
                return archive["labels"]
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f"unreadable saved mask {path}: {err}; pass --overwrite to redo it") from None


def encode_class_map(labels: np.ndarray, num_classes: int) -> list[dict]:
    """One COCO RLE (compressed counts as text, via `data.rle`) per class present in an (H, W) class map,
    with its class index, area and box."""
    from openvidseg.data.rle import encode_label_map, rle_areas, rle_boxes

    present = [int(k) for k in np.unique(labels) if k != NO_CLASS and k < num_classes]
    rles = encode_label_map(labels, present)
    return [{"class_index": k, **rle, "area": int(area), "bbox": [round(float(v), 2) for v in box]}
            for k, rle, area, box in zip(present, rles, rle_areas(rles), rle_boxes(rles))]


def decode_class_map(rles: Sequence[dict], height: int, width: int) -> np.ndarray:
    """The (H, W) uint8 class map back from `encode_class_map` (255 where no RLE covers a pixel)."""
    from openvidseg.data.rle import decode_rles

    labels = np.full((height, width), NO_CLASS, dtype=np.uint8)
    masks = decode_rles([{"size": r["size"], "counts": r["counts"]} for r in rles], height, width)
    for rle, mask in zip(rles, masks):
        labels[mask] = rle["class_index"]
    return labels


class CocoRleMasks:
    """Per frame a small JSON of COCO RLEs; when the video is complete, one COCO-style annotations.json."""

    name, suffix = "coco-rle", ".json"

    def __init__(self, num_classes: int = NO_CLASS):
        self.num_classes = num_classes

    def write(self, path: Path, labels: np.ndarray, colors: np.ndarray) -> None:
        height, width = labels.shape
        path.write_text(json.dumps({"height": height, "width": width, "rles": encode_class_map(labels, self.num_classes)}))

    def read(self, path: Path) -> np.ndarray:
        try:
            frame = json.loads(path.read_text())
            return decode_class_map(frame["rles"], frame["height"], frame["width"])
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f"unreadable saved mask {path}: {err}; pass --overwrite to redo it") from None

    def finish(self, masks: Path, out: Path, class_names: Sequence[str], num_frames: int, fps: float | None) -> None:
        """Gather masks/00000.json ... into `out` (COCO style, written frame by frame: memory stays small),
        then remove the per-frame files."""
        partial = out.with_name(out.name + ".partial")
        annotation_id = 0
        with open(partial, "w") as file:
            categories = [{"id": k + 1, "class_index": k, "name": name} for k, name in enumerate(class_names)]
            file.write('{"info": ' + json.dumps({"description": "openvidseg segment", "fps": fps}) +
                       ',\n"categories": ' + json.dumps(categories) + ',\n"images": [')
            for index in range(num_frames):
                frame = json.loads((masks / f"{index:05d}{self.suffix}").read_text())
                image = {"id": index + 1, "frame_index": index, "file_name": f"{index:05d}.png",
                         "height": frame["height"], "width": frame["width"]}
                file.write(("," if index else "") + "\n" + json.dumps(image))
            file.write('],\n"annotations": [')
            for index in range(num_frames):
                frame = json.loads((masks / f"{index:05d}{self.suffix}").read_text())
                for rle in frame["rles"]:
                    annotation_id += 1
                    entry = {"id": annotation_id, "image_id": index + 1, "category_id": rle["class_index"] + 1,
                             "segmentation": {"size": rle["size"], "counts": rle["counts"]}, "area": rle["area"],
                             "bbox": rle["bbox"], "iscrowd": 0}
                    file.write(("," if annotation_id > 1 else "") + "\n" + json.dumps(entry))
            file.write("]}\n")
        os.replace(partial, out)
        for index in range(num_frames):
            (masks / f"{index:05d}{self.suffix}").unlink()
        if masks.is_dir() and not any(masks.iterdir()):
            masks.rmdir()


def mask_format(name: str, num_classes: int = NO_CLASS):
    """The writer/reader of format `name` (see `FORMATS`)."""
    if name == "png":
        return PngMasks()
    if name == "npz":
        return NpzMasks()
    if name == "coco-rle":
        return CocoRleMasks(num_classes)
    raise InputError(f"unknown mask format '{name}': use one of {', '.join(FORMATS)}")
