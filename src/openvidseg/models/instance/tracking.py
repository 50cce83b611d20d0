"""The two temporal schemes, and two baselines without one: how the queries of a new frame (or clip) continue
the tracks so far. All are stateful objects beside the model (which holds no per-video state) with bounded
memory; `align(queries)` gives the permutation that puts the new queries in track order, and the caller keeps
the aligned embeddings flowing back in through the same call.

- `TopKEnhancedMatcher` (CLIP-VIS, online, per frame): a memory of the last `memory` frames' aligned query
  embeddings; the new queries are Hungarian-matched to each memory frame (cost 1 - cosine), the `top_k` frames
  with the lowest matched cost are kept, their cost matrices are averaged with weights growing with recency
  (i + 1 for the i-th oldest memory frame), and one more Hungarian matching on the average decides; while the
  memory holds fewer than `top_k` frames, the assignment to the best-matching memory frame decides (as CLIP-VIS's
  released inference does).
- `ClipLinker` (OVFormer, semi-online, per clip): the new clip's queries are Hungarian-matched to the previous
  clip's aligned queries (cost 1 - cosine).
- `MaskLinker`: the per-frame baseline, no temporal matching of queries: each frame's (or clip's) detections
  (object probability > 0.5, non-empty mask) are linked to the tracks alive in the previous frame by class and
  greedy mask IoU (the usual per-frame-then-link heuristic); a detection left over starts a new track.
- `NoTracking`: no matching at all (queries keep their order, so a track is a query slot).

Every tracker's `align(queries, detections=None)` returns the permutation; only `MaskLinker` reads the
`UnitDetections` (the predictor passes them to a tracker whose `needs_detections` is true).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from openvidseg.models.instance.matcher import assign, permutation_from_assignment


def cosine_cost(tracks: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """(Q, C) track embeddings, (Q', C) new query embeddings -> (Q, Q') 1 - cosine similarity."""
    return 1.0 - F.normalize(tracks.float(), dim=-1) @ F.normalize(queries.float(), dim=-1).T


def assignment_permutation(cost: torch.Tensor) -> torch.Tensor:
    """(Q, Q) cost of continuing track j with query i -> (Q,) int64: perm[j] = the query that continues track j."""
    rows, cols = assign(cost)
    return torch.from_numpy(permutation_from_assignment(rows, cols, cost.shape[0]))


class TopKEnhancedMatcher:
    """CLIP-VIS's temporal top-K-enhanced matching over a memory of `memory` frames (see the module docstring).
    State: at most `memory` (Q, C) tensors."""

    def __init__(self, memory: int = 9, top_k: int = 5):
        if memory < 1 or not 1 <= top_k <= memory:
            raise ValueError(f"need memory >= 1 and 1 <= top_k <= memory, got memory={memory}, top_k={top_k}")
        self.memory_size, self.top_k = memory, top_k
        self.reset()

    def reset(self) -> None:
        self.memory: deque[torch.Tensor] = deque(maxlen=self.memory_size)

    def align(self, queries: torch.Tensor, detections: UnitDetections | None = None) -> torch.Tensor:
        """(Q, C) query embeddings of the new frame -> (Q,) permutation into track order (identity on the first
        frame); the aligned embeddings join the memory."""
        if not self.memory:
            perm = torch.arange(queries.shape[0])
        else:
            costs = [cosine_cost(frame, queries) for frame in self.memory]  # oldest first
            matched = []
            for cost in costs:
                rows, cols = assign(cost)
                matched.append(float(cost[rows, cols].mean()))
            if len(costs) < self.top_k:  # fewer frames than K in memory: the best-matching frame alone decides
                perm = assignment_permutation(costs[min(range(len(costs)), key=matched.__getitem__)])
            else:
                keep = sorted(sorted(range(len(costs)), key=matched.__getitem__)[: self.top_k])
                weights = torch.tensor([i + 1.0 for i in keep])
                weighted = sum(w * costs[i] for w, i in zip(weights / weights.sum(), keep))
                perm = assignment_permutation(weighted)
        self.memory.append(queries.detach()[perm.to(queries.device)].float().cpu())
        return perm

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.memory)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The memory as {"memory": (M, Q, C)} (M = 0 before the first frame), to continue a video later."""
        return {"memory": torch.stack(list(self.memory)) if self.memory else torch.zeros(0)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.memory = deque(state["memory"].float().unbind(0), maxlen=self.memory_size)


class ClipLinker:
    """OVFormer's clip-to-clip linking by Hungarian matching on query embeddings. State: one (Q, C) tensor."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.previous: torch.Tensor | None = None

    def align(self, queries: torch.Tensor, detections: UnitDetections | None = None) -> torch.Tensor:
        """(Q, C) query embeddings of the new clip -> (Q,) permutation into track order (identity on the first)."""
        if self.previous is None:
            perm = torch.arange(queries.shape[0])
        else:
            perm = assignment_permutation(cosine_cost(self.previous, queries))
        self.previous = queries.detach()[perm.to(queries.device)].float().cpu()
        return perm

    def nbytes(self) -> int:
        return 0 if self.previous is None else self.previous.numel() * self.previous.element_size()

    def state_dict(self) -> dict[str, torch.Tensor]:
        """{"previous": (Q, C)}, or {} before the first clip, to continue a video later."""
        return {} if self.previous is None else {"previous": self.previous}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.previous = state["previous"].float() if "previous" in state else None


@dataclass
class UnitDetections:
    """What a decoded unit (a frame, or a clip of T frames) shows, in query order: masks (Q, T, h, w) bool, labels
    (Q,) int64 best class, alive (Q,) bool (the query is a detection: object probability > 0.5, mask not empty)."""

    masks: torch.Tensor
    labels: torch.Tensor
    alive: torch.Tensor


class MaskLinker:
    """The per-frame baseline (see the module docstring): a new unit's detections continue the tracks alive in the
    previous unit, greedily by mask IoU (first frame of the new unit against the last of the previous, pairs of
    one class with IoU >= `iou_threshold`, highest first). A detection left over takes a free track slot, one never
    used if there is one (else the one unused longest), so it starts a new identity; queries that are no
    detection fill the remaining slots. State: the previous unit's (Q, h, w) last-frame masks and (Q,) vectors."""

    needs_detections = True

    def __init__(self, iou_threshold: float = 0.3):
        self.iou_threshold = iou_threshold
        self.reset()

    def reset(self) -> None:
        self.masks: torch.Tensor | None = None  # (Q, h, w) bool, the previous unit's last frame, in track order
        self.labels = self.alive = self.last_seen = torch.zeros(0)
        self.units = 0

    def align(self, queries: torch.Tensor, detections: UnitDetections | None = None) -> torch.Tensor:
        """(Q, C) queries (unused) and the unit's `UnitDetections` -> (Q,) permutation into track order."""
        if detections is None:
            raise ValueError("MaskLinker links detections: pass the unit's UnitDetections")
        count = queries.shape[0]
        masks, labels = detections.masks.bool().cpu(), detections.labels.long().cpu()
        alive = detections.alive.bool().cpu() & masks.flatten(1).any(1)
        if self.masks is None:
            self.last_seen = torch.full((count,), -1, dtype=torch.long)
            perm = torch.arange(count)
        else:
            perm = self._link(masks[:, 0], labels, alive)
        self.masks, self.labels, self.alive = masks[perm, -1], labels[perm], alive[perm]
        self.last_seen = torch.where(self.alive, torch.tensor(self.units), self.last_seen)
        self.units += 1
        return perm

    def _link(self, first: torch.Tensor, labels: torch.Tensor, alive: torch.Tensor) -> torch.Tensor:
        previous = self.masks.flatten(1).float()
        current = first.flatten(1).float()
        inter = previous @ current.T
        union = previous.sum(1)[:, None] + current.sum(1)[None, :] - inter
        iou = torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))
        allowed = self.alive[:, None] & alive[None, :] & (self.labels[:, None] == labels[None, :])
        iou = torch.where(allowed & (iou >= self.iou_threshold), iou, torch.full_like(iou, -1.0))
        count = len(labels)
        perm = torch.full((count,), -1, dtype=torch.long)
        used = torch.zeros(count, dtype=torch.bool)
        for flat in iou.flatten().argsort(descending=True).tolist():
            track, query = divmod(flat, count)
            if iou[track, query] < 0:
                break
            if perm[track] < 0 and not used[query]:
                perm[track], used[query] = query, True
        free = sorted((perm < 0).nonzero().flatten().tolist(),
                      key=lambda j: (int(self.last_seen[j]) >= 0, int(self.last_seen[j])))
        left = sorted((~used).nonzero().flatten().tolist(), key=lambda q: not bool(alive[q]))  # detections first
        for track, query in zip(free, left):
            perm[track] = query
        return perm

    def nbytes(self) -> int:
        return 0 if self.masks is None else self.masks.numel() + 3 * 8 * len(self.labels)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The previous unit's masks and vectors, or {} before the first unit, to continue a video later."""
        if self.masks is None:
            return {}
        return {"masks": self.masks, "labels": self.labels, "alive": self.alive, "last_seen": self.last_seen,
                "units": torch.tensor([self.units])}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.reset()
        if "masks" in state:
            self.masks, self.labels = state["masks"].bool(), state["labels"].long()
            self.alive, self.last_seen = state["alive"].bool(), state["last_seen"].long()
            self.units = int(state["units"][0])


class NoTracking:
    """No temporal matching: every frame (or clip) keeps its queries in their own order, so a track is a query
    slot (the per-frame baseline of the instance demo). No state."""

    def reset(self) -> None:
        pass

    def align(self, queries: torch.Tensor, detections: UnitDetections | None = None) -> torch.Tensor:
        return torch.arange(queries.shape[0])

    def nbytes(self) -> int:
        return 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        pass


Tracker = TopKEnhancedMatcher | ClipLinker | MaskLinker | NoTracking


def build_tracker(tracking: str, memory: int = 9, top_k: int = 5) -> Tracker:
    """The tracker a model's `tracking` names: "topk_matching", "clip_linking", "mask_linking" or "none"."""
    if tracking == "topk_matching":
        return TopKEnhancedMatcher(memory, top_k)
    if tracking == "clip_linking":
        return ClipLinker()
    if tracking == "mask_linking":
        return MaskLinker()
    if tracking == "none":
        return NoTracking()
    raise ValueError(f"unknown tracking '{tracking}': use topk_matching, clip_linking, mask_linking or none")
