"""Test helpers for video AP: generated videos with noisy predicted tracks, and the independent oracle (each
video's frames tiled side by side into one image, scored by pycocotools' COCOeval `segm`)."""
from __future__ import annotations

import contextlib
import io

import numpy as np

from openvidseg.data.instances import InstanceCategory, InstanceTrack
from openvidseg.data.rle import encode_masks


def generated_set(seed: int, num_videos: int = 6, num_frames: int = 5, size: tuple[int, int] = (24, 32),
                  num_categories: int = 4, tracks: tuple[int, int] = (1, 4)):
    """(categories, {video id: (gt masks (G, T, H, W), gt category ids (G,))}, predictions [(video id,
    category id, score, masks (T, H, W))]). Predictions are jittered copies of ground-truth tracks (some
    with the wrong category), spurious tracks, empty frames, and scores rounded to 0.1 so ties happen
    within and across videos. Videos get ids 3, 5, 7, ... (not positions)."""
    rng = np.random.default_rng(seed)
    height, width = size
    categories = [InstanceCategory(10 + k, f"class {k}") for k in range(num_categories)]
    videos, predictions = {}, []
    yy, xx = np.mgrid[0:height, 0:width]
    for v in range(num_videos):
        vid = 3 + 2 * v
        count = int(rng.integers(tracks[0], tracks[1] + 1))
        gt = np.zeros((count, num_frames, height, width), dtype=bool)
        classes = rng.integers(0, num_categories, count) + 10
        for n in range(count):
            cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(3, 8)
            vy, vx = rng.uniform(-2, 2, 2)
            for t in range(num_frames):
                if rng.random() < 0.15 and t > 0:
                    continue  # absent in this frame
                gt[n, t] = (yy - cy - vy * t) ** 2 + (xx - cx - vx * t) ** 2 <= r * r
            if not gt[n].any():
                gt[n, 0, int(cy) % height, int(cx) % width] = True
        videos[vid] = (gt, classes)
        for n in range(count):
            for _ in range(int(rng.integers(0, 3))):
                pred = gt[n].copy()
                shift = rng.integers(-2, 3, 2)
                pred = np.roll(pred, tuple(shift), axis=(1, 2))
                pred &= rng.random(pred.shape) > 0.1
                cid = int(classes[n]) if rng.random() < 0.8 else int(rng.integers(0, num_categories) + 10)
                predictions.append((vid, cid, round(float(rng.random()), 1), pred))
        for _ in range(int(rng.integers(0, 4))):
            spurious = rng.random((num_frames, height, width)) < 0.05
            spurious[int(rng.integers(num_frames))] = False  # an empty frame
            predictions.append((vid, int(rng.integers(0, num_categories) + 10), round(float(rng.random()), 1), spurious))
    return categories, videos, predictions


def gt_tracks(videos) -> dict[int, list[InstanceTrack]]:
    """The generated ground truth as InstanceTracks (ids from 1, RLE per frame, None where absent)."""
    out, next_id = {}, 1
    for vid, (masks, classes) in videos.items():
        out[vid] = []
        for n in range(len(masks)):
            rles = encode_masks(masks[n])
            segs = tuple(rle if masks[n, t].any() else None for t, rle in enumerate(rles))
            out[vid].append(InstanceTrack(next_id, vid, int(classes[n]), segs))
            next_id += 1
    return out


def tile(masks: np.ndarray) -> np.ndarray:
    """(T, H, W) -> (H, T * W): the frames side by side."""
    return np.concatenate(list(masks), axis=1)


def coco_oracle(categories, videos, predictions) -> dict[str, float]:
    """COCOeval(segm) over one tiled image per video: AP, AP50, AP75, AR1, AR10, AR100 (fractions)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations = [], []
    for vid, (masks, classes) in videos.items():
        images.append({"id": vid, "height": masks.shape[2], "width": masks.shape[1] * masks.shape[3]})
        for n in range(len(masks)):
            rle = encode_masks(tile(masks[n])[None])[0]
            annotations.append({"id": len(annotations) + 1, "image_id": vid, "category_id": int(classes[n]),
                                "segmentation": rle, "area": float(masks[n].sum()), "iscrowd": 0,
                                "bbox": [0.0, 0.0, 1.0, 1.0]})
    results = [{"image_id": vid, "category_id": cid, "score": score, "segmentation": encode_masks(tile(m)[None])[0]}
               for vid, cid, score, m in predictions]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": annotations,
                      "categories": [{"id": c.id, "name": c.name} for c in categories]}
        gt.createIndex()
        dt = gt.loadRes(results)
        evaluation = COCOeval(gt, dt, "segm")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    stats = evaluation.stats
    return {"AP": stats[0], "AP50": stats[1], "AP75": stats[2], "AR1": stats[6], "AR10": stats[7], "AR100": stats[8]}
