"""Segmenting and tracking object instances with a vocabulary: `TrackSegmenter` (the instance counterpart of
`Segmenter`, what `load_segmenter(..., task="instance")` gives) and `TrackSelector` (which tracks each frame
shows). `segment_video(..., task="instance")` streams a video through them:

    frames = segment_video("clip.mp4", "person, dog", task="instance", checkpoint="clip_vis.safetensors")
    for index, tracked in frames:
        ...  # tracked.ids: (H, W) uint8 track ids (0 = none); tracked.tracks: id, class index, score, mask

Frames stream through `InstancePredictor` (bounded memory), and every decision is causal, so outputs can be
written as the video goes: a track (one of the model's queries, kept in order by its temporal matching) is
shown in a frame where its mask is not empty and its video score so far (the family's formula over the frames
seen) reaches `min_score`. It keeps the id it got when first shown (1, 2, ... in order of appearance); its
class is its best-scoring class so far, so a label may still change while evidence comes in (the final class
is the one at the end). Where masks overlap, the higher-scoring track takes the pixel; a track left without a
pixel is not shown in that frame.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openvidseg.data.rle import decode_rles, encode_masks
from openvidseg.errors import InputError
from openvidseg.inference.instance_predictor import InstancePredictor
from openvidseg.inference.instance_tracks import FrameInstances
from openvidseg.inference.segment import Segmenter, refuse_untrained
from openvidseg.inference.track_statistics import TrackInfo
from openvidseg.models.instance.model import InstanceSegmenter
from openvidseg.viz.instances import MAX_TRACK_ID

TASK = "instance"
DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class ShownTrack:
    """A track shown in a frame: id (1..255), label (vocabulary index), score (its video score so far) and rle
    (COCO RLE of the pixels it holds in the frame)."""

    id: int
    label: int
    score: float
    rle: dict


@dataclass
class TrackedFrame:
    """One frame's tracks: index (frame number), ids ((H, W) uint8 track ids, 0 = none) and tracks (those shown)."""

    index: int
    ids: np.ndarray
    tracks: list[ShownTrack]


class TrackSelector:
    """Which of the predictor's tracks a frame shows, with their ids, classes and non-overlapping masks (see the
    module docstring). State: the id of each query (0 = never shown) and the next id."""

    def __init__(self, num_queries: int, min_score: float):
        self.min_score = min_score
        self.ids = np.zeros(num_queries, dtype=np.int64)
        self.next_id = 1

    def select(self, frame: FrameInstances, scores: torch.Tensor) -> TrackedFrame:
        """A frame's visible tracks and the (Q, K) video scores so far -> the frame's `TrackedFrame`."""
        best, labels = scores.max(dim=1)
        height, width = frame.size
        candidates = [(float(best[q]), n, int(q)) for n, q in enumerate(frame.track_ids.tolist())
                      if float(best[q]) >= self.min_score and float(best[q]) > 0]
        for _, _, query in sorted(candidates, key=lambda c: (-c[0], c[2])):  # new ids: higher score first
            if self.ids[query] == 0 and self.next_id <= MAX_TRACK_ID:
                self.ids[query], self.next_id = self.next_id, self.next_id + 1
        candidates = [c for c in candidates if self.ids[c[2]] > 0]
        ids = np.zeros((height, width), dtype=np.uint8)
        if not candidates:
            return TrackedFrame(frame.index, ids, [])
        masks = decode_rles([frame.rles[n] for _, n, _ in candidates], height, width)
        for m in sorted(range(len(candidates)), key=lambda m: (candidates[m][0], -candidates[m][2])):
            ids[masks[m]] = self.ids[candidates[m][2]]  # ascending score: the higher score paints last
        shown = [c for c in candidates if (ids == self.ids[c[2]]).any()]
        rles = encode_masks(np.stack([ids == self.ids[q] for _, _, q in shown])) if shown else []
        tracks = [ShownTrack(int(self.ids[q]), int(labels[q]), score, rle) for (score, _, q), rle in zip(shown, rles)]
        return TrackedFrame(frame.index, ids, sorted(tracks, key=lambda t: t.id))

    def tracks(self, scores: torch.Tensor) -> dict[int, TrackInfo]:
        """{track id: its class and score} of every track shown so far, from the (Q, K) video scores."""
        best, labels = scores.max(dim=1)
        return {int(self.ids[q]): TrackInfo(int(labels[q]), float(best[q])) for q in np.flatnonzero(self.ids)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"ids": torch.from_numpy(self.ids.copy()), "next_id": torch.tensor([self.next_id])}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.ids = state["ids"].numpy().astype(np.int64).copy()
        self.next_id = int(state["next_id"][0])


class TrackSegmenter(Segmenter):
    """A `Segmenter` for instance models: the same checks of the model, vocabulary and settings, and a predictor
    that tracks (`predictor`, `selector`; `segment` yields `TrackedFrame`s). min_score: the video score a track
    needs to be shown."""

    def __init__(self, model, class_names: Sequence[str], *, device: str | torch.device | None = None,
                 precision: str = "fp32", size: int | None = None, min_score: float = DEFAULT_MIN_SCORE,
                 checkpoint: str | Path | None = None, allow_untrained: bool = False):
        if not isinstance(model, InstanceSegmenter):
            raise InputError(f"model {getattr(model, 'variant_name', type(model).__name__)} is not an instance "
                             "model: pick one of the instance models (`openvidseg info` lists each model's task)")
        if not allow_untrained:
            refuse_untrained(model, default=None)
        super().__init__(model, class_names, device=device, precision=precision, size=size, checkpoint=checkpoint,
                         allow_untrained=True)
        if not 0.0 <= min_score < 1.0:
            raise InputError(f"minimum score {min_score}: use a value from 0 (every track) up to below 1")
        if model.num_queries > MAX_TRACK_ID:
            raise InputError(f"model has {model.num_queries} queries, but track ids are stored in 8-bit PNGs: build "
                             f"it with num_queries <= {MAX_TRACK_ID}")
        self.min_score = min_score

    def settings(self) -> dict[str, Any]:
        settings = {k: v for k, v in super().settings().items() if k not in ("memory_interval", "min_confidence", "speed",
                                                                        "keyframe_interval")}
        return {**settings, "task": TASK, "min_score": self.min_score}

    def predictor(self) -> InstancePredictor:
        """A fresh streaming instance predictor for one video."""
        return InstancePredictor(self.model, self.class_names, device=self.device, precision=self.precision,
                                 short_side=self.size)

    def selector(self) -> TrackSelector:
        return TrackSelector(self.model.num_queries, self.min_score)

    def segment(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, TrackedFrame]]:
        """(index, (H, W, 3) uint8 frame) pairs in order -> (index, TrackedFrame), lazily (a clip-decoding model
        yields its frames a clip at a time)."""
        predictor, selector = self.predictor(), self.selector()
        try:
            for _, frame in frames:
                for decoded in predictor.step(frame):
                    yield decoded.index, selector.select(decoded, predictor.accumulator.video_scores())
            for decoded in predictor.flush():
                yield decoded.index, selector.select(decoded, predictor.accumulator.video_scores())
        finally:
            predictor.reset()
