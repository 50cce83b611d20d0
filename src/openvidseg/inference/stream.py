"""A video's frames through a predictor, in order: warming up before a resume point, and several frames
per model call for per-frame models (`batch_size`; the class maps are those of one frame at a time)."""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from openvidseg.inference.predictor import FramePrediction, VideoPredictor


def can_batch(predictor) -> bool:
    """Whether frames can be encoded together: a plain predictor of a model that reads no other frame, one
    view per frame (not the sliding test mode)."""
    return (isinstance(predictor, VideoPredictor) and not predictor.history_length and getattr(predictor, "views", None)
            is None and not predictor.model.uses_random_frame and predictor.smoothing == 0)


def predict_frames(predictor, frames: Iterable[tuple[int, np.ndarray]], *, start: int = 0,
                   batch_size: int = 1) -> Iterator[tuple[int, np.ndarray, FramePrediction | None]]:
    """(index, (H, W, 3) uint8 frame) pairs from frame 0 -> (index, frame, prediction). Frames before
    `start` only warm the predictor up (prediction None; see `VideoPredictor.warm_up`); from `start` on,
    `batch_size` frames of equal size share one `encode_frames` call when `can_batch(predictor)`."""
    predictor.reset()
    frames = iter(frames)
    for index, frame in frames:
        if index < start:
            predictor.warm_up(frame if predictor.needs_frame(index, start) else None, start)
            yield index, frame, None
            continue
        if batch_size <= 1 or not can_batch(predictor):
            yield index, frame, predictor.step(frame)
            continue
        batch = [(index, frame), *itertools.islice(frames, batch_size - 1)]
        for (i, f), prediction in zip(batch, _step_batch(predictor, [f for _, f in batch])):
            yield i, f, prediction


@torch.inference_mode()
def _step_batch(predictor: VideoPredictor, frames: list[np.ndarray]) -> list[FramePrediction]:
    """Predict consecutive frames of a per-frame model with one encoder call (frames of equal size)."""
    prepared = [predictor.prepare(frame) for frame in frames]
    if len({tuple(image.shape) for image, _ in prepared}) > 1:
        return [predictor.step(frame) for frame in frames]
    features = predictor.encode(torch.cat([image for image, _ in prepared]))
    predictions = []
    for offset, (_, size) in enumerate(prepared):
        out = predictor.decode(features[offset], [], None, size)
        predictions.append(predictor.result(predictor.index, out.logits, out.logits, size))
        predictor.index += 1
    return predictions
