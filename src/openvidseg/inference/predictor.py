"""Inference over videos, separate from the nn.Module (which holds no per-video state).

`VideoPredictor` streams: feed frames one at a time, get a class map per frame back. Each frame's
features are computed once and kept in a ring buffer only as long as the largest reference offset; the
long-range (RFE) frame is a memory frame refreshed every `memory_interval` frames and, as in training,
taken from outside the clip window once the video is long enough; memory does not grow with video
length. References are causal: frame t uses max(0, t + offset).

`ClipPredictor` is clip mode (evaluation): random access to a video's frames, every frame a target with
explicitly given references and long-range frame, features cached per frame (or recomputed for every
target, as the public code does, with `recompute=True`).
"""
from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from openvidseg.inference.class_map import upsampled_class_map
from openvidseg.inference.frames import frame_tensor, resize_images, short_side_size
from openvidseg.inference.views import TEST_MODES, SlidingViews
from openvidseg.models.base import FrameFeatures, SegmentationOutput, VideoSegmenter
from openvidseg.runtime import resolve_device, resolve_dtype


@dataclass
class FramePrediction:
    """index: frame number; labels: (H, W) int64 class indices into the vocabulary (CPU);
    logits: (K, H, W) float scores (CPU), when asked for."""

    index: int
    labels: torch.Tensor
    logits: torch.Tensor | None = None


class _Inference:
    """What both predictors share: device, precision, vocabulary, frame preparation, class maps.

    test_mode: 'whole' (the model sees each frame as it is) or 'slide' (CAT-Seg's test mode: square windows
    over the frame plus the whole frame, each a batch entry, logits merged; see `inference.views`), with
    windows overlapping by `window_overlap`."""

    def __init__(self, model: VideoSegmenter, class_names: Sequence[str], *, device: str | torch.device | None = None,
                 precision: str = "fp32", short_side: int | None = None, return_logits: bool = False,
                 test_mode: str = "whole", window_overlap: float = 1 / 3):
        if test_mode not in TEST_MODES:
            raise ValueError(f"unknown test mode '{test_mode}': use {' or '.join(TEST_MODES)}")
        self.device = resolve_device(device) if device is not None else model.device
        self.model = model.to(self.device).eval()
        self.dtype = resolve_dtype(precision)
        self.short_side = short_side
        self.return_logits = return_logits
        self.views = SlidingViews(window_overlap) if test_mode == "slide" else None
        # class maps straight from the model's own output grid when no full-size logits are needed
        self.low_res = getattr(model, "native_output", False) and not return_logits and self.views is None
        self.set_vocabulary(class_names)

    def set_vocabulary(self, class_names: Sequence[str]) -> None:
        """Use another vocabulary (any number of classes) from the next frame on; the model is not rebuilt."""
        self.class_names = tuple(class_names)
        with torch.inference_mode():
            self.text = self.model.text_embeddings(self.class_names)

    def autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def prepare(self, frame: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(1, 3, h, w) working-resolution input (or its (V, 3, s, s) views in slide mode) and the frame's
        original (H, W)."""
        image = frame_tensor(frame, self.device)
        size = tuple(image.shape[-2:])
        image = resize_images(image, short_side_size(*size, self.short_side))
        return (image if self.views is None else self.views.split(image)), size

    def encode(self, image: torch.Tensor) -> FrameFeatures:
        with self.autocast():
            return self.model.encode_frames(image)

    def context(self, features: FrameFeatures) -> torch.Tensor | None:
        with self.autocast():
            return self.model.random_context(features)

    def decode(self, target, refs, context, size) -> SegmentationOutput:
        """(1, K, H, W) logits at the frame's size (views merged in slide mode), or at the model's own output
        grid when only the class map is needed (`result` then upsamples only the classes that can win)."""
        if self.views is None:
            with self.autocast():
                return self.model.decode(target, refs, context, self.text, None if self.low_res else size)
        height, width = short_side_size(*size, self.short_side)
        with self.autocast():
            views = self.model.decode(target, refs, context, self.text, (min(height, width),) * 2).logits
        merged = self.views.merge(views.float(), height, width)
        return SegmentationOutput(resize_images(merged, size) if (height, width) != tuple(size) else merged)

    def result(self, index: int, scores: torch.Tensor, logits: torch.Tensor, size: tuple[int, int]) -> FramePrediction:
        """Class map at the frame's (H, W) from (1, K, h, w) scores; raw logits kept when asked for."""
        labels = upsampled_class_map(scores, size)
        return FramePrediction(index, labels, logits[0].float().cpu() if self.return_logits else None)


class VideoPredictor(_Inference):
    """Streaming inference with bounded memory. Call `step(frame)` per frame in order (or iterate
    `run(frames)`), and `reset()` between videos. To continue a video at frame r, pass frames 0..r-1 to
    `warm_up` first (only those `needs_frame` names are encoded).

    frame: (H, W, 3) uint8 RGB array or (3, H, W) tensor. short_side: frames are resized to this short
    side for the model (None = as given); class maps come back at the frame's own size.
    memory_interval: N, the long-range frame's refresh interval: frame t is decoded with the newest of
    frames 0, N, 2N, ... that is older than its oldest reference (see `memory_index_for`).
    temporal_smoothing: exponential smoothing of class probabilities across frames (None = the model's default).
    """

    def __init__(self, model: VideoSegmenter, class_names: Sequence[str], *, device=None, precision: str = "fp32",
                 short_side: int | None = None, memory_interval: int = 30, return_logits: bool = False,
                 temporal_smoothing: float | None = None, test_mode: str = "whole", window_overlap: float = 1 / 3):
        super().__init__(model, class_names, device=device, precision=precision, short_side=short_side,
                         return_logits=return_logits, test_mode=test_mode, window_overlap=window_overlap)
        offsets = model.ref_offsets
        if any(o >= 0 for o in offsets):
            raise ValueError(f"streaming needs past references (negative offsets), got {offsets}")
        self.offsets = offsets
        self.history_length = max((-o for o in offsets), default=0)
        # training draws the long-range frame from outside the clip window [t + min(offsets), t]: the
        # causal equivalent is a frame at least `memory_gap` frames old
        self.memory_gap = self.history_length + 1
        self.memory_interval = max(1, memory_interval)
        self.smoothing = model.temporal_smoothing if temporal_smoothing is None else temporal_smoothing
        self.low_res = self.low_res and self.smoothing == 0  # smoothing averages full-size probabilities
        self.reset()

    def reset(self) -> None:
        """Forget the current video (buffered features, memory frame, smoothing state)."""
        self.index = 0
        self.history: OrderedDict[int, FrameFeatures] = OrderedDict()
        # region contexts of refresh frames (0, N, 2N, ...) from the one in use to the newest
        self.contexts: OrderedDict[int, torch.Tensor] = OrderedDict()
        self.memory_index: int | None = None  # the long-range frame of the last decoded frame
        self.smoothed: torch.Tensor | None = None

    def set_vocabulary(self, class_names: Sequence[str]) -> None:
        super().set_vocabulary(class_names)
        self.smoothed = None

    def buffered_frames(self) -> list[int]:
        """Indices of the frames whose features are held (for tests and memory accounting)."""
        return list(self.history)

    def reference_indices(self, t: int) -> list[int]:
        return [max(0, t + o) for o in self.offsets]

    @torch.inference_mode()
    def step(self, frame: np.ndarray | torch.Tensor) -> FramePrediction:
        t = self.index
        image, size = self.prepare(frame)
        features = self.encode(image)
        refs = [self.history[i] if i != t else features for i in self.reference_indices(t)]
        out = self.decode(features, refs, self.long_range_context(t, features), size)
        self.remember(t, features)
        self.index += 1
        scores = out.logits  # argmax of logits = argmax of probabilities: softmax only when smoothing
        if self.smoothing > 0:
            scores = scores.float().softmax(dim=1)
            if self.smoothed is not None and self.smoothed.shape == scores.shape:
                scores = self.smoothing * self.smoothed + (1 - self.smoothing) * scores
            self.smoothed = scores
        return self.result(t, scores, out.logits, size)

    def memory_index_for(self, t: int) -> int:
        """The long-range frame frame t is decoded with: the newest refresh frame (0, N, 2N, ...) at least
        `memory_gap` (largest reference offset + 1) frames older than t, i.e. outside t's clip window, as
        training draws it; frame 0 while there is none (for t = 0 that is the target itself)."""
        if t < self.memory_gap:
            return 0
        return ((t - self.memory_gap) // self.memory_interval) * self.memory_interval

    def long_range_context(self, t: int, features: FrameFeatures) -> torch.Tensor | None:
        """The region context frame t is decoded with (None for models without RFE); a refresh frame's
        context is computed when the frame arrives and kept until a newer one takes over."""
        if not self.model.uses_random_frame:
            return None
        if t % self.memory_interval == 0:
            self.contexts[t] = self.context(features)
        self.memory_index = self.memory_index_for(t)
        while next(iter(self.contexts)) < self.memory_index:
            self.contexts.popitem(last=False)
        return self.contexts[self.memory_index]

    def remember(self, t: int, features: FrameFeatures) -> None:
        """Keep frame t's features while later frames use it as a reference."""
        if self.history_length:
            self.history[t] = features
            while len(self.history) > self.history_length:
                self.history.popitem(last=False)

    def needs_frame(self, t: int, resume_at: int) -> bool:
        """Whether frame t (< resume_at) affects the predictions from frame `resume_at` on: a reference
        frame, the long-range frame, or any frame when probabilities are smoothed over time."""
        if self.smoothing > 0:
            return True
        in_history = self.history_length > 0 and t >= resume_at - self.history_length
        return in_history or (self.model.uses_random_frame and t == self.memory_index_for(resume_at))

    @torch.inference_mode()
    def warm_up(self, frame: np.ndarray | torch.Tensor | None, resume_at: int) -> None:
        """Move past frame `self.index` without predicting it, keeping only what frames from `resume_at`
        on use, so that their predictions equal those of an uninterrupted stream (to continue a video
        part-way). Frames for which `needs_frame` is False are not encoded and may be None."""
        t = self.index
        if not self.needs_frame(t, resume_at):
            self.index += 1
            return
        if frame is None:
            raise ValueError(f"frame {t} is needed to continue at frame {resume_at}")
        if self.smoothing > 0:  # the smoothed state depends on every frame: step in full
            self.step(frame)
            return
        features = self.encode(self.prepare(frame)[0])
        if t >= resume_at - self.history_length:
            self.remember(t, features)
        # refresh frames from the one frame `resume_at` uses on (any newer one is inside the history)
        if self.model.uses_random_frame and t % self.memory_interval == 0 and t >= self.memory_index_for(resume_at):
            self.contexts[t] = self.context(features)
        self.index += 1

    def run(self, frames: Iterable[np.ndarray | torch.Tensor]) -> Iterator[FramePrediction]:
        """Predict a whole video lazily (resets first)."""
        self.reset()
        for frame in frames:
            yield self.step(frame)


class ClipPredictor(_Inference):
    """Clip-mode inference with random access to frames through `frame_at(index)`. Per-frame features are
    cached (LRU of `cache_size` frames) unless `recompute` re-encodes every reference for every target."""

    def __init__(self, model: VideoSegmenter, class_names: Sequence[str], *, device=None, precision: str = "fp32",
                 short_side: int | None = None, return_logits: bool = False, cache_size: int = 16,
                 recompute: bool = False, test_mode: str = "whole", window_overlap: float = 1 / 3):
        super().__init__(model, class_names, device=device, precision=precision, short_side=short_side,
                         return_logits=return_logits, test_mode=test_mode, window_overlap=window_overlap)
        self.cache_size = 0 if recompute else cache_size
        self.reset()

    def reset(self) -> None:
        """Forget cached features (call between videos)."""
        self.features: OrderedDict[int, FrameFeatures] = OrderedDict()
        self.contexts: OrderedDict[int, torch.Tensor | None] = OrderedDict()

    def _features(self, frame_at: Callable[[int], np.ndarray], index: int,
                  image: torch.Tensor | None = None) -> FrameFeatures:
        """Frame `index`'s features, from the cache or encoded (from `image` when already prepared)."""
        if index in self.features:
            self.features.move_to_end(index)
            return self.features[index]
        features = self.encode(self.prepare(frame_at(index))[0] if image is None else image)
        if self.cache_size:
            self.features[index] = features
            while len(self.features) > self.cache_size:
                self.features.popitem(last=False)
        return features

    @torch.inference_mode()
    def predict(self, frame_at: Callable[[int], np.ndarray], t: int, ref_indices: Sequence[int],
                random_index: int | None) -> FramePrediction:
        """Frame t decoded with the given references (oldest first) and long-range frame."""
        image, size = self.prepare(frame_at(t))
        target = self._features(frame_at, t, image)
        refs = [self._features(frame_at, i) for i in ref_indices]
        context = None
        if self.model.uses_random_frame and random_index is not None:
            if random_index in self.contexts:
                context = self.contexts[random_index]
            else:
                context = self.context(self._features(frame_at, random_index))
                if self.cache_size:
                    self.contexts[random_index] = context
                    while len(self.contexts) > 2:
                        self.contexts.popitem(last=False)
        out = self.decode(target, refs, context, size)
        return self.result(t, out.logits.float(), out.logits, size)
