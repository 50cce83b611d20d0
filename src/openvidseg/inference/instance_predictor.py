"""`InstancePredictor`: streaming video instance segmentation with an `InstanceSegmenter` (frames in, tracks out).

Frames are encoded as they arrive; every `model.frames_per_decode` frames (1 for CLIP-VIS, 5 for OVFormer) the
buffered frames are decoded together, the family's tracker puts the queries in track order, and the frames'
`FrameInstances` come back. `detections()` gives the video's best (track, class) pairs with their masks, and
`youtube_vis_results` turns them into the YouTube-VIS results format. Memory is bounded: the features of at most
one clip, the tracker's memory, (Q, K) running sums, and masks spooled to disk as RLE.

`predict_clip(frames)` is clip mode: every frame encoded in one batch and every clip decoded in one batch
(faster on a GPU), then the same tracking and scoring; it gives what streaming gives.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from openvidseg.data.rle import encode_masks
from openvidseg.inference.instance_tracks import FrameInstances, TrackAccumulator, VideoDetection
from openvidseg.inference.predictor import _Inference
from openvidseg.metrics.instance_scoring import result_entry
from openvidseg.metrics.track_matching import TrackPrediction
from openvidseg.models.base import FrameFeatures
from openvidseg.models.instance.model import InstanceSegmenter
from openvidseg.models.instance.scoring import build_scoring
from openvidseg.models.instance.structures import InstanceOutput
from openvidseg.models.instance.tracking import UnitDetections, build_tracker

MASK_CHUNK = 16  # tracks upsampled to the frame size at once (bounds the peak memory of large frames)


class InstancePredictor(_Inference):
    """Streaming instance inference. Call `step(frame)` per frame in order, `flush()` at the end of the video
    (decodes a last, shorter clip), then `detections()`; `reset()` between videos (or use `run`).

    frame: (H, W, 3) uint8 RGB array or (3, H, W) tensor. short_side: frames are resized to this short side for
    the model (None = as given); masks come back at the frame's size. max_detections: (track, class) pairs per
    video (the peers: 50 on LV-VIS). keep_classes: best classes whose per-frame evidence is kept per mask (for
    CLIP-VIS's per-frame mask dropping). spool_dir: where the temporary mask file goes (default: the system's)."""

    def __init__(self, model: InstanceSegmenter, class_names: Sequence[str], *, device=None, precision: str = "fp32",
                 short_side: int | None = None, max_detections: int = 50, keep_classes: int = 10,
                 spool_dir: str | Path | None = None):
        super().__init__(model, class_names, device=device, precision=precision, short_side=short_side)
        self.unit = model.frames_per_decode
        self.scoring = build_scoring(model.classifier_kind)
        self.tracker = build_tracker(model.tracking, model.memory_frames, model.top_k)
        self.max_detections, self.keep_classes, self.spool_dir = max_detections, keep_classes, spool_dir
        self.accumulator: TrackAccumulator | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the current video (buffered features, tracker memory, accumulated tracks)."""
        self.index = 0
        self.buffer: list[tuple[int, FrameFeatures, tuple[int, int]]] = []
        self.tracker.reset()
        if self.accumulator is not None:
            self.accumulator.close()
        self.accumulator = TrackAccumulator(self.model.num_queries, len(self.class_names), self.scoring,
                                            keep_classes=self.keep_classes, spool_dir=self.spool_dir)

    def set_vocabulary(self, class_names: Sequence[str]) -> None:
        """Use another vocabulary from the next video on (calls `reset` when a video is under way)."""
        super().set_vocabulary(class_names)
        self.seen = self.model.seen_classes(self.class_names)  # the training vocabulary's (clip_ensemble)
        if getattr(self, "accumulator", None) is not None:
            self.reset()

    @torch.inference_mode()
    def step(self, frame: np.ndarray | torch.Tensor) -> list[FrameInstances]:
        """Add the next frame; returns the frames decoded by this step (none while a clip is filling)."""
        image, size = self.prepare(frame)
        self.buffer.append((self.index, self.encode(image), size))
        self.index += 1
        return self._decode_buffer() if len(self.buffer) == self.unit else []

    @torch.inference_mode()
    def flush(self) -> list[FrameInstances]:
        """Decode the frames still buffered (a clip cut short by the end of the video)."""
        return self._decode_buffer() if self.buffer else []

    def detections(self) -> list[VideoDetection]:
        """The video's best (track, class) pairs so far, each with its per-frame masks (call `flush` first)."""
        return self.accumulator.detections(self.max_detections)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Where the video stands after a decoded unit (no frame buffered): the frame count, the tracker's
        memory and the accumulated scores (not the spooled masks), as flat tensors (safetensors-ready)."""
        if self.buffer:
            raise ValueError(f"{len(self.buffer)} frame(s) wait to be decoded: save the state after a unit is decoded")
        state = {"index": torch.tensor([self.index])}
        state.update({f"tracker.{k}": v for k, v in self.tracker.state_dict().items()})
        state.update({f"accumulator.{k}": v for k, v in self.accumulator.state_dict().items()})
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Continue a video where `state_dict` was taken: the next `step` is frame state["index"]."""
        self.reset()
        self.index = int(state["index"][0])
        for prefix, part in (("tracker.", self.tracker), ("accumulator.", self.accumulator)):
            part.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    def run(self, frames: Iterable[np.ndarray | torch.Tensor]) -> Iterator[FrameInstances]:
        """Predict a whole video lazily (resets first, flushes at the end); `detections()` afterwards."""
        self.reset()
        for frame in frames:
            yield from self.step(frame)
        yield from self.flush()

    @torch.inference_mode()
    def predict_clip(self, frames: Sequence[np.ndarray | torch.Tensor]) -> list[FrameInstances]:
        """Clip mode over a whole (short) video held in memory: one encoding batch, one decoding batch; resets
        first. Gives what `run` gives; `detections()` afterwards."""
        self.reset()
        prepared = [self.prepare(frame) for frame in frames]
        features = self.encode(torch.cat([image for image, _ in prepared]))
        units = [list(range(start, min(start + self.unit, len(frames)))) for start in range(0, len(frames), self.unit)]
        full = [u for u in units if len(u) == self.unit]
        outputs = self._decode(features[: len(full) * self.unit], self.unit) if full else None
        results = []
        for n, unit in enumerate(units):
            if len(unit) == self.unit:
                out = _select(outputs, n)
            else:  # a shorter last clip
                out = self._decode(features[unit[0] :], len(unit))
            results += self._track(out, [(t, prepared[t][1]) for t in unit])
        self.index = len(frames)
        return results

    # -- internals ---------------------------------------------------------------------------------------
    def _decode(self, features: FrameFeatures, frames: int) -> InstanceOutput:
        with self.autocast():
            return self.model.decode(features, frames, self.text, seen=self.seen)[-1]

    def _decode_buffer(self) -> list[FrameInstances]:
        frames = self.buffer
        self.buffer = []
        out = self._decode(FrameFeatures.cat([features for _, features, _ in frames]), len(frames))
        return self._track(out, [(index, size) for index, _, size in frames])

    def _track(self, out: InstanceOutput, frames: Sequence[tuple[int, tuple[int, int]]]) -> list[FrameInstances]:
        """One decoded clip (batch of 1) -> per-frame instances in track order; updates the accumulator."""
        iou = out.iou[0].cpu() if out.iou is not None else None
        evidence = self.scoring.evidence(out.class_logits[0].cpu(), iou)  # (Q, K), in query order
        detections = None
        if getattr(self.tracker, "needs_detections", False):
            detections = UnitDetections(out.masks[0] > 0, evidence.argmax(-1), out.object_probability[0] > 0.5)
        perm = self.tracker.align(out.queries[0], detections).to(out.masks.device)
        masks = out.masks[0, perm].float()  # (Q, T, h, w)
        objectness = out.object_probability[0, perm].cpu()
        evidence = evidence[perm.cpu()]
        self.accumulator.add_unit(evidence, objectness)
        results = []
        for t, (index, size) in enumerate(frames):
            logits = masks[:, t]
            binary = logits > 0
            visible = binary.flatten(1).any(1).nonzero().flatten()
            probs = logits.sigmoid()
            mask_scores = ((probs * binary).flatten(1).sum(1) / binary.flatten(1).sum(1).clamp_min(1)).cpu()
            rles = []
            for start in range(0, len(visible), MASK_CHUNK):
                chunk = logits[visible[start : start + MASK_CHUNK]]
                full = F.interpolate(chunk[:, None], size=size, mode="bilinear", align_corners=False)[:, 0] > 0
                rles += encode_masks(full.cpu().numpy())
            ids = visible.cpu()
            self.accumulator.add_frame(index, ids.tolist(), rles, mask_scores[ids], evidence[ids])
            scores = self.scoring.scores(evidence[ids], objectness[ids], mask_scores[ids])
            results.append(FrameInstances(index, tuple(size), ids.numpy(), rles, scores.numpy(),
                                          objectness[ids].numpy()))
        return results


def _select(out: InstanceOutput, n: int) -> InstanceOutput:
    """Clip n of a batched decoding, as a batch of one."""
    pick = lambda x: None if x is None else x[n : n + 1]  # noqa: E731
    return InstanceOutput(pick(out.queries), pick(out.masks), pick(out.objectness), pick(out.iou),
                          pick(out.class_logits), pick(out.background_logits))


def youtube_vis_results(video_id: int, detections: Sequence[VideoDetection],
                        category_ids: Sequence[int]) -> list[dict]:
    """Entries of a YouTube-VIS results.json for one video ({"video_id", "category_id" = category_ids[label],
    "score", "segmentations": one RLE or None per frame}), as `openvidseg score --task instance` reads them."""
    return [result_entry(video_id, track) for track in track_predictions(detections, category_ids)]


def track_predictions(detections: Sequence[VideoDetection], category_ids: Sequence[int]) -> list[TrackPrediction]:
    """Detections as the video AP metric's `TrackPrediction`s (label -> category_ids[label])."""
    return [TrackPrediction(int(category_ids[d.label]), d.score, d.segmentations) for d in detections]
