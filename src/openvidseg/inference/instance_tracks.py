"""What the instance predictor gives and how it builds video-level detections with bounded memory.

Per frame, `FrameInstances` (the tracks visible in it). Per video, `VideoDetection`s: the best (track, class)
pairs by the family's video score, each with its masks over the frames. `TrackAccumulator` keeps running sums
per track ((Q, K) evidence, objectness and mask scores) in memory and spools each frame's masks, as COCO RLE, to a
temporary file that is read back once at the end, so memory does not grow with the length of the video.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from openvidseg.data.rle import decode_rles
from openvidseg.models.instance.scoring import ClipVisScoring, OvformerScoring


@dataclass
class FrameInstances:
    """The tracks visible in one frame. index: frame number; size: the frame's (H, W); track_ids (N,) int64; rles:
    N COCO RLE masks at the frame's size; scores (N, K) per-class scores from this frame alone (the video score
    formula on one frame); objectness (N,) object probabilities."""

    index: int
    size: tuple[int, int]
    track_ids: np.ndarray
    rles: list[dict]
    scores: np.ndarray
    objectness: np.ndarray

    def masks(self) -> np.ndarray:
        """(N, H, W) bool masks."""
        return decode_rles(self.rles, *self.size)


@dataclass
class VideoDetection:
    """A track named with one class: track_id, label (vocabulary index), score, and segmentations: one COCO RLE
    per frame of the video, None where the track is absent (or its mask dropped)."""

    track_id: int
    label: int
    score: float
    segmentations: list[dict | None]


class TrackAccumulator:
    """Running per-track sums over a video's decoded units (a frame or a clip) and a spool of per-frame masks.

    Memory: (Q, K) float evidence sums, a few (Q,) vectors, and the `keep_classes` best classes' evidence per
    spooled mask (on disk). `scoring` is the family's (`models.instance.scoring`)."""

    def __init__(self, num_tracks: int, num_classes: int, scoring: ClipVisScoring | OvformerScoring, *,
                 keep_classes: int = 10, spool_dir: str | Path | None = None):
        self.scoring = scoring
        self.keep_classes = min(keep_classes, num_classes)
        self.evidence = torch.zeros(num_tracks, num_classes)
        self.objectness = torch.zeros(num_tracks)
        self.mask_score = torch.zeros(num_tracks)
        self.mask_frames = torch.zeros(num_tracks)
        self.units = 0
        self.num_frames = 0
        self.spool = tempfile.TemporaryFile("w+", encoding="utf-8", dir=spool_dir)

    def add_unit(self, evidence: torch.Tensor, objectness: torch.Tensor) -> None:
        """One decoded unit's (Q, K) evidence and (Q,) object probabilities, in track order."""
        self.evidence += evidence.float().cpu()
        self.objectness += objectness.float().cpu()
        self.units += 1

    def add_frame(self, index: int, track_ids: Sequence[int], rles: Sequence[dict], mask_scores: torch.Tensor,
                  evidence: torch.Tensor) -> None:
        """Frame `index`'s non-empty masks: track ids (N,), N RLEs, (N,) mask scores, (N, K) evidence of their unit."""
        self.num_frames = max(self.num_frames, index + 1)
        if not len(track_ids):
            return
        ids = torch.as_tensor(list(track_ids), dtype=torch.long)
        self.mask_score.index_add_(0, ids, mask_scores.float().cpu())
        self.mask_frames.index_add_(0, ids, torch.ones(len(ids)))
        top = evidence.float().cpu().topk(self.keep_classes, dim=-1)
        for n, track in enumerate(ids.tolist()):
            record = {"t": index, "q": track, "rle": rles[n], "c": top.indices[n].tolist(),
                      "e": [round(v, 6) for v in top.values[n].tolist()]}
            self.spool.write(json.dumps(record, separators=(",", ":")) + "\n")

    def video_scores(self) -> torch.Tensor:
        """(Q, K) scores of every (track, class) pair over the video so far (0 for tracks never visible)."""
        units = max(self.units, 1)
        mask_mean = self.mask_score / self.mask_frames.clamp_min(1)
        scores = self.scoring.scores(self.evidence / units, self.objectness / units, mask_mean)
        return scores * (self.mask_frames > 0).float()[:, None]

    def detections(self, max_detections: int = 50) -> list[VideoDetection]:
        """The `max_detections` best (track, class) pairs with their per-frame masks (reads the spool back)."""
        scores = self.video_scores()
        count = min(max_detections, int((scores > 0).sum()))
        best = scores.flatten().topk(count)
        num_classes = scores.shape[1]
        picks = [(int(i) // num_classes, int(i) % num_classes, float(s)) for s, i in zip(best.values, best.indices)]
        by_track: dict[int, list[int]] = {}
        for n, (track, _, _) in enumerate(picks):
            by_track.setdefault(track, []).append(n)
        segmentations: list[list[dict | None]] = [[None] * self.num_frames for _ in picks]
        mean_evidence = self.evidence / max(self.units, 1)
        self.spool.seek(0)
        for line in self.spool:
            record = json.loads(line)
            for n in by_track.get(record["q"], ()):
                track, label, _ = picks[n]
                if self._kept(record, label, float(mean_evidence[track, label])):
                    segmentations[n][record["t"]] = record["rle"]
        self.spool.seek(0, 2)
        return [VideoDetection(track, label, score, segs) for (track, label, score), segs in zip(picks, segmentations)]

    def _kept(self, record: dict, label: int, mean_evidence: float) -> bool:
        """Whether a frame's mask stays in a detection of class `label`: its evidence for the class is at least
        drop_ratio x the video mean. Classes outside the spooled best few are bounded by the smallest kept value."""
        ratio = self.scoring.drop_ratio
        if ratio <= 0:
            return True
        value = record["e"][record["c"].index(label)] if label in record["c"] else min(record["e"])
        return value >= ratio * mean_evidence

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The running sums (not the spooled masks), to continue a video's scores later."""
        return {"evidence": self.evidence, "objectness": self.objectness, "mask_score": self.mask_score,
                "mask_frames": self.mask_frames, "counts": torch.tensor([self.units, self.num_frames])}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore the running sums of `state_dict`; the masks spooled before it are not restored, so `detections`
        gives masks only for the frames added since (callers that resume keep their own masks)."""
        for name in ("evidence", "objectness", "mask_score", "mask_frames"):
            if state[name].shape != getattr(self, name).shape:
                raise ValueError(f"saved {name} has shape {tuple(state[name].shape)}, expected "
                                 f"{tuple(getattr(self, name).shape)}")
            setattr(self, name, state[name].float().clone())
        self.units, self.num_frames = (int(v) for v in state["counts"])

    def close(self) -> None:
        self.spool.close()
