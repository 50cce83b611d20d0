"""Per-class statistics of a segmented video, kept as running sums: memory is O(K), whatever the length."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openvidseg.vocabulary import NO_CLASS


class ClassStatistics:
    """Pixel counts, frames present, first and last appearance of each of K classes, updated frame by frame.

    `update(index, labels)` takes an (H, W) uint8 class map (values < K, or 255 for no class).
    """

    def __init__(self, num_classes: int):
        self.num_classes = num_classes
        self.pixels = np.zeros(256, dtype=np.int64)  # count of each mask value
        self.frames_present = np.zeros(num_classes, dtype=np.int64)
        self.first = np.full(num_classes, -1, dtype=np.int64)
        self.last = np.full(num_classes, -1, dtype=np.int64)
        self.frames = 0

    def update(self, index: int, labels: np.ndarray) -> np.ndarray:
        """Add frame `index`'s (H, W) class map; returns its (256,) pixel count of each mask value. Raises
        ValueError on values that are neither a class nor 255."""
        counts = np.bincount(np.asarray(labels, dtype=np.uint8).ravel(), minlength=256)
        invalid = np.flatnonzero(counts[self.num_classes : NO_CLASS])
        if invalid.size:
            raise ValueError(f"frame {index}: class map holds value {invalid[0] + self.num_classes}, "
                             f"but there are {self.num_classes} classes")
        self.pixels += counts
        present = counts[: self.num_classes] > 0
        self.frames_present += present
        self.first[present & (self.first < 0)] = index
        self.last[present] = index
        self.frames += 1
        return counts

    @property
    def total_pixels(self) -> int:
        return int(self.pixels.sum())

    def share(self, value: int) -> float:
        """Share of all pixels seen so far holding mask value `value` (0 when nothing was seen)."""
        total = self.total_pixels
        return float(self.pixels[value]) / total if total else 0.0

    def to_json(self, class_names: Sequence[str], colors: np.ndarray, fps: float | None) -> dict[str, Any]:
        """{"classes": [per class: index, name, color, pixel_share, frames, first_frame, last_frame,
        first_time_s, last_time_s], "no_class_share": ...}; frame indices are None for absent classes."""
        def seconds(frame: int) -> float | None:
            return round(frame / fps, 3) if fps and frame >= 0 else None

        classes = []
        for k, name in enumerate(class_names):
            first, last = int(self.first[k]), int(self.last[k])
            classes.append({
                "index": k, "name": name, "color": [int(c) for c in colors[k]],
                "pixel_share": self.share(k), "frames": int(self.frames_present[k]),
                "first_frame": first if first >= 0 else None, "last_frame": last if last >= 0 else None,
                "first_time_s": seconds(first), "last_time_s": seconds(last),
            })
        return {"classes": classes, "no_class_share": self.share(NO_CLASS)}
