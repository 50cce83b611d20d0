"""Streaming audio-visual segmentation: a video and its sound in, per frame the sounding objects' classes out.

Frames are read `clip_frames` at a time (5 for OV-AVSS) with each frame's audio window, segmented jointly
and released: memory holds one clip, whatever the video's length. Each frame's result is an (H, W) uint8
map of class indices (255 = nothing sounding there) and the sounding objects' classes and scores.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from openvidseg.data.audio import FrameAudio
from openvidseg.data.frame_source import FrameSource
from openvidseg.vocabulary import NO_CLASS


@dataclass
class SoundingFrame:
    """One frame's result: `labels` (H, W) uint8 class indices (NO_CLASS where nothing sounds), the sounding
    objects painted in it as (class index, score), best first, and the (H, W, 3) frame itself."""

    index: int
    labels: np.ndarray
    objects: list[tuple[int, float]]
    frame: np.ndarray


def _resize_short_side(frames: torch.Tensor, short_side: int | None) -> torch.Tensor:
    """(T, 3, H, W) uint8 -> float (T, 3, h, w) with min(h, w) = short_side (unchanged when None)."""
    frames = frames.float()
    if short_side is None or min(frames.shape[-2:]) == short_side:
        return frames
    scale = short_side / min(frames.shape[-2:])
    size = (max(1, round(frames.shape[-2] * scale)), max(1, round(frames.shape[-1] * scale)))
    return F.interpolate(frames, size=size, mode="bilinear", align_corners=False)


class AudioVisualPredictor:
    """Segments the sounding objects of videos with an audio-visual model (`AudioVisualSegmenter`).

    class_names: the vocabulary; short_side: the frames' short side for the model (None: as they are);
    top_k / threshold: how many proposals may be painted, and the score they need (None: the model's, OV-AVSS's
    10 and 0.3 unless configured otherwise).
    """

    def __init__(self, model, class_names: Sequence[str], *, short_side: int | None = None, top_k: int | None = None,
                 threshold: float | None = None, device: str | torch.device | None = None) -> None:
        self.model = model.eval()
        self.class_names = tuple(class_names)
        self.short_side = short_side
        self.top_k = model.top_k if top_k is None else top_k
        self.threshold = model.threshold if threshold is None else threshold
        self.device = torch.device(device) if device is not None else model.device

    @torch.no_grad()
    def segment_clip(self, frames: Sequence[np.ndarray], audio: np.ndarray) -> list[tuple[np.ndarray, list]]:
        """T frames (H, W, 3) uint8 and their audio windows (T, L) -> per frame (labels (H, W) uint8, objects)."""
        height, width = frames[0].shape[:2]
        pixels = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).to(self.device)
        objects = self.model.sounding_objects(_resize_short_side(pixels, self.short_side),
                                              torch.from_numpy(np.asarray(audio)).to(self.device), self.class_names,
                                              top_k=self.top_k, threshold=self.threshold)
        masks = objects.masks
        if masks.shape[-2:] != (height, width):
            masks = F.interpolate(masks.float(), size=(height, width), mode="bilinear", align_corners=False) > 0.5
        out = []
        for t in range(len(frames)):
            labels = np.full((height, width), NO_CLASS, dtype=np.uint8)
            present = []
            for mask, cls, score in zip(masks[:, t].cpu().numpy(), objects.classes.tolist(), objects.scores.tolist()):
                free = mask & (labels == NO_CLASS)  # the best score is painted first
                if free.any():
                    labels[free] = cls
                    present.append((int(cls), float(score)))
            out.append((labels, present))
        return out

    def predict(self, source: FrameSource, audio: FrameAudio, max_frames: int | None = None) -> Iterator[SoundingFrame]:
        """Every frame of `source` (its first `max_frames`), a clip of `model.clip_frames` frames at a time."""
        clip: list[tuple[int, np.ndarray]] = []
        for index, frame in source:
            if max_frames is not None and index >= max_frames:
                break
            clip.append((index, frame))
            if len(clip) == self.model.clip_frames:
                yield from self._flush(clip, audio)
                clip = []
        if clip:
            yield from self._flush(clip, audio)

    def _flush(self, clip: list[tuple[int, np.ndarray]], audio: FrameAudio) -> Iterator[SoundingFrame]:
        indices = [i for i, _ in clip]
        results = self.segment_clip([f for _, f in clip], audio.windows(indices))
        for (index, frame), (labels, present) in zip(clip, results):
            yield SoundingFrame(index, labels, present, frame)
