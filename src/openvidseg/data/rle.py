"""Instance masks as COCO run-length encodings (RLE), through pycocotools (made for this).

An RLE here is the compressed form `{"size": [H, W], "counts": str}` that YouTube-VIS, LV-VIS, OVIS, COCO
and the peers' result files use; pycocotools also accepts `counts` as bytes. Dataset segmentations may
instead be polygons (a list of [x1, y1, x2, y2, ...] lists) or uncompressed RLE (`counts` a list of
ints): `to_rle` turns any of them into the compressed form, with a one-line error naming the bad entry.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from openvidseg.errors import DataError

RLE = dict  # {"size": [H, W], "counts": str | bytes}


def encode_masks(masks: np.ndarray) -> list[RLE]:
    """(N, H, W) bool/uint8 masks -> N compressed RLEs with `counts` as str (JSON-ready)."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"encode_masks takes (N, H, W) masks, got shape {masks.shape}")
    if masks.shape[0] == 0:
        return []
    encoded = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    for rle in encoded:
        rle["counts"] = rle["counts"].decode("ascii")
    return encoded


def encode_mask(mask: np.ndarray) -> RLE:
    """(H, W) bool mask -> one compressed RLE with `counts` as str."""
    return encode_masks(np.asarray(mask)[None])[0]


def encode_label_map(labels: np.ndarray, values: Sequence[int]) -> list[RLE]:
    """(H, W) integer label map -> one compressed RLE (counts as str) per value in `values`: the same RLEs
    as `encode_masks` of `labels == value`, without building a mask per value (one pass over the map for the
    runs of every value, column-major as COCO counts; pycocotools compresses them)."""
    height, width = labels.shape
    flat = np.asarray(labels).T.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [flat.size]])
    run_values = flat[starts]
    encoded = []
    for value in values:
        chosen = run_values == value
        edges = np.stack([starts[chosen], ends[chosen]], axis=1).ravel()
        counts = np.diff(np.concatenate([[0], edges, [flat.size]]))  # alternating runs of 0s and 1s
        if len(counts) > 1 and counts[-1] == 0:
            counts = counts[:-1]
        rle = mask_utils.frPyObjects({"counts": counts.tolist(), "size": [height, width]}, height, width)
        rle["counts"] = rle["counts"].decode("ascii")
        encoded.append(rle)
    return encoded


def decode_rle(rle: RLE) -> np.ndarray:
    """A compressed RLE -> (H, W) bool mask."""
    return mask_utils.decode(rle).astype(bool)


def decode_rles(rles: Sequence[RLE | None], height: int, width: int) -> np.ndarray:
    """N RLEs of one frame (None = absent, decoded as empty) -> (N, H, W) bool."""
    out = np.zeros((len(rles), height, width), dtype=bool)
    present = [i for i, rle in enumerate(rles) if rle is not None]
    if present:
        out[present] = mask_utils.decode([rles[i] for i in present]).transpose(2, 0, 1).astype(bool)
    return out


def rle_areas(rles: Sequence[RLE]) -> np.ndarray:
    """(N,) int64 pixel counts of N compressed RLEs."""
    if not rles:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(mask_utils.area(list(rles)), dtype=np.int64).reshape(-1)


def rle_boxes(rles: Sequence[RLE]) -> np.ndarray:
    """(N, 4) float64 boxes [x, y, w, h] of N compressed RLEs (zeros for empty masks)."""
    if not rles:
        return np.zeros((0, 4))
    return np.asarray(mask_utils.toBbox(list(rles)), dtype=np.float64).reshape(-1, 4)


def intersections(first: Sequence[RLE], second: Sequence[RLE]) -> np.ndarray:
    """(len(first), len(second)) int64 pixel counts of the pairwise intersections of one frame's masks.

    pycocotools' `iou` in its crowd form returns intersection / area(first) (0 without overlap), computed
    on the run lengths in C; multiplying back by the area gives the exact integer count (the product is
    within 1e-9 of it for any image size), so no mask is ever decoded.
    """
    if not first or not second:
        return np.zeros((len(first), len(second)), dtype=np.int64)
    ratio = np.asarray(mask_utils.iou(list(first), list(second), [1] * len(second)), dtype=np.float64)
    if (ratio < 0).any():
        raise DataError("masks of different sizes in one frame: every mask of a video must have the video's size")
    return np.rint(ratio.reshape(len(first), len(second)) * rle_areas(first)[:, None]).astype(np.int64)


def _describe(segmentation: Any) -> str:
    text = repr(segmentation)
    return text if len(text) <= 60 else text[:57] + "..."


def to_rle(segmentation: Any, height: int, width: int, where: str = "segmentation") -> RLE:
    """A polygon list, an uncompressed RLE or a compressed RLE -> compressed RLE of size (height, width).

    `where` names the entry in errors (e.g. "annotation 7, frame 3 of val.json").
    """
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list)]
        if len(polygons) != len(segmentation) or any(len(p) < 6 or len(p) % 2 for p in polygons) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for p in polygons for v in p):
            raise DataError(f"{where}: a polygon segmentation must be a list of [x1, y1, x2, y2, x3, y3, ...] lists "
                            f"of numbers, got {_describe(segmentation)}")
        if not polygons:
            return encode_mask(np.zeros((height, width), dtype=bool))
        return mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    if not isinstance(segmentation, dict) or "counts" not in segmentation or "size" not in segmentation:
        raise DataError(f"{where}: expected an RLE {{'size': [h, w], 'counts': ...}}, a polygon list or null, "
                        f"got {_describe(segmentation)}")
    size = segmentation["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(s, int) for s in size)):
        raise DataError(f"{where}: RLE 'size' must be [height, width], got {_describe(size)}")
    if tuple(size) != (height, width):
        raise DataError(f"{where}: mask is {size[1]}x{size[0]} (WxH) but its video is {width}x{height}: "
                        "a mask must have its frame's size")
    counts = segmentation["counts"]
    if isinstance(counts, list):
        if not all(isinstance(c, int) and c >= 0 for c in counts) or sum(counts) != height * width:
            raise DataError(f"{where}: uncompressed RLE counts must be non-negative ints summing to "
                            f"{height}x{width} = {height * width}")
        return mask_utils.frPyObjects(segmentation, height, width)
    if not isinstance(counts, (str, bytes)):
        raise DataError(f"{where}: RLE 'counts' must be a string or a list of ints, got {_describe(counts)}")
    rle = {"size": [height, width], "counts": counts}
    try:
        total = int(mask_utils.area(rle))
    except Exception as err:  # pycocotools raises plain errors on undecodable strings
        raise DataError(f"{where}: unreadable RLE counts ({err})") from None
    if total > height * width:
        raise DataError(f"{where}: RLE covers {total} pixels, more than its {height}x{width} frame")
    return rle
