"""Class shares over time for the app's chart: per-bin pixel counts of every mask value, in at most
`max_bins` bins of whole frames, so memory stays O(max_bins) whatever the video's length.

Bins start one frame wide. When a frame would open bin `max_bins + 1`, neighbouring bins merge in
pairs and the bin width doubles, so a finished video of T frames has between max_bins / 2 and
max_bins bins (fewer when T < max_bins) of equal width, the last one possibly part-filled.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from openvidseg.vocabulary import NO_CLASS

NO_CLASS_LABEL = "no class"


class ShareTimeline:
    """Pixel counts per mask value (0..255) in time bins; `update` takes one (H, W) uint8 class map per frame."""

    def __init__(self, max_bins: int = 40):
        if max_bins < 2 or max_bins % 2:
            raise ValueError(f"max_bins must be an even number >= 2, got {max_bins}")
        self.max_bins = max_bins
        self.width = 1  # frames per bin
        self.frames = 0
        self.bins: list[np.ndarray] = []  # (256,) int64 counts per bin

    def update(self, labels: np.ndarray) -> None:
        """Add the next frame's (H, W) class map."""
        counts = np.bincount(np.asarray(labels, dtype=np.uint8).ravel(), minlength=256)
        if self.frames // self.width == self.max_bins:
            self.bins = [self.bins[i] + self.bins[i + 1] for i in range(0, self.max_bins, 2)]
            self.width *= 2
        index = self.frames // self.width
        if index == len(self.bins):
            self.bins.append(np.zeros(256, dtype=np.int64))
        self.bins[index] += counts
        self.frames += 1

    def shares(self) -> np.ndarray:
        """(bins, 256) share of each mask value among the pixels of each bin (rows sum to 1)."""
        if not self.bins:
            return np.zeros((0, 256))
        counts = np.stack(self.bins).astype(np.float64)
        return counts / counts.sum(axis=1, keepdims=True)

    def rows(self, class_names: Sequence[str], fps: float) -> list[dict[str, Any]]:
        """One row per (bin, class) for a stacked bar chart: {"time": bin start as 'M:SS.s', "class":
        name, "share": percent}; the "no class" share is a row of its own when any bin has some."""
        shares = self.shares()
        columns = list(enumerate(class_names))
        if shares.size and shares[:, NO_CLASS].any():
            columns.append((NO_CLASS, NO_CLASS_LABEL))
        rows = []
        for label, share in zip(self.labels(fps), shares):
            rows.extend({"time": label, "class": name, "share": round(100 * float(share[k]), 2)} for k, name in columns)
        return rows

    def labels(self, fps: float) -> list[str]:
        """The bins' start times in order (the chart's x axis), with as many decimals as keep them apart."""
        step = self.width / fps
        decimals = 1 if step >= 0.1 else 2 if step >= 0.01 else 3
        return [clock(b * step, decimals) for b in range(len(self.bins))]


def clock(seconds: float, decimals: int = 1) -> str:
    """(12.34, 1) -> '0:12.3'; (75, 1) -> '1:15.0'; (0.04, 2) -> '0:00.04'."""
    minutes, rest = divmod(round(seconds, decimals), 60)
    return f"{int(minutes)}:{rest:0{3 + decimals}.{decimals}f}"
