"""Per-track statistics of a tracked video, kept as running sums: memory is O(tracks), whatever the length."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openvidseg.viz.instances import MAX_TRACK_ID


@dataclass(frozen=True)
class TrackInfo:
    """What is known of a track: its class (vocabulary index) and score, over the frames seen so far."""

    label: int
    score: float


class TrackStatistics:
    """Frames present, first and last frame and pixel count of each track id (1..255), updated frame by frame.

    `update(index, ids)` takes an (H, W) uint8 map of track ids (0 = none)."""

    def __init__(self):
        self.pixels = np.zeros(MAX_TRACK_ID + 1, dtype=np.int64)  # count of each id value, 0 = no track
        self.frames_present = np.zeros(MAX_TRACK_ID + 1, dtype=np.int64)
        self.first = np.full(MAX_TRACK_ID + 1, -1, dtype=np.int64)
        self.last = np.full(MAX_TRACK_ID + 1, -1, dtype=np.int64)
        self.frames = 0

    def update(self, index: int, ids: np.ndarray) -> None:
        """Add frame `index`'s (H, W) uint8 track-id map."""
        counts = np.bincount(np.asarray(ids, dtype=np.uint8).ravel(), minlength=MAX_TRACK_ID + 1)
        self.pixels += counts
        present = counts > 0
        present[0] = False
        self.frames_present += present
        self.first[present & (self.first < 0)] = index
        self.last[present] = index
        self.frames += 1

    def to_json(self, tracks: Mapping[int, TrackInfo], class_names: Sequence[str], colors: np.ndarray,
                fps: float | None) -> dict[str, Any]:
        """{"tracks": [per track seen: id, class, class_index, score, color, frames, first_frame, last_frame,
        first_time_s, last_time_s, pixel_share], "classes": [per class: index, name, tracks (count)],
        "no_track_share": ...}; `tracks` gives each id's class and score."""
        def seconds(frame: int) -> float | None:
            return round(frame / fps, 3) if fps and frame >= 0 else None

        total = max(int(self.pixels.sum()), 1)
        rows, per_class = [], np.zeros(len(class_names), dtype=np.int64)
        for track_id in np.flatnonzero(self.frames_present).tolist():
            info = tracks[track_id]
            per_class[info.label] += 1
            first, last = int(self.first[track_id]), int(self.last[track_id])
            rows.append({
                "id": track_id, "class": class_names[info.label], "class_index": info.label,
                "score": round(float(info.score), 4), "color": [int(c) for c in colors[track_id - 1]],
                "frames": int(self.frames_present[track_id]), "first_frame": first, "last_frame": last,
                "first_time_s": seconds(first), "last_time_s": seconds(last),
                "pixel_share": float(self.pixels[track_id]) / total,
            })
        classes = [{"index": k, "name": name, "tracks": int(per_class[k])} for k, name in enumerate(class_names)]
        return {"tracks": rows, "classes": classes, "no_track_share": float(self.pixels[0]) / total}
