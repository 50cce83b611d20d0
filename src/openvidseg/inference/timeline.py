"""timeline.csv: one row per frame with the share of the frame's pixels each class covers, for plotting
"when is what on screen" or joining with other per-frame data.

Columns: `frame`, `time_s` (frame / fps), one column per class (named as in classes.json; a share from 0
to 1), and `no class`. Rows are written as frames come and the file is flushed every `FLUSH_EVERY` rows,
so it grows with the video and never holds more than a row in memory.
"""
from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from openvidseg.vocabulary import NO_CLASS

FLUSH_EVERY = 25
NO_CLASS_COLUMN = "no class"


class TimelineWriter:
    """Writes timeline.csv for K classes; `write(index, counts)` takes the frame's (256,) pixel count of each
    mask value (`np.bincount(labels.ravel(), minlength=256)`)."""

    def __init__(self, path: str | Path, class_names: Sequence[str], fps: float | None):
        self.file = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.file)
        self.num_classes = len(class_names)
        self.fps = fps
        self.rows = 0
        self.writer.writerow(["frame", "time_s", *class_names, NO_CLASS_COLUMN])

    def write(self, index: int, counts: np.ndarray) -> None:
        total = max(int(counts.sum()), 1)
        shares = [f"{c / total:.6f}" for c in counts[: self.num_classes]]
        time = f"{index / self.fps:.3f}" if self.fps else ""
        self.writer.writerow([index, time, *shares, f"{counts[NO_CLASS] / total:.6f}"])
        self.rows += 1
        if self.rows % FLUSH_EVERY == 0:
            self.file.flush()

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()
