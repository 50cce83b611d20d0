"""The two temporal schemes: how the queries of a new frame (or clip) continue the tracks so far. Both are
stateful objects beside the model (which holds no per-video state) with bounded memory; `align(queries)` gives
the permutation that puts the new queries in track order, and the caller keeps the aligned embeddings flowing
back in through the same call.

- `TopKEnhancedMatcher` (CLIP-VIS, online, per frame): a memory of the last `memory` frames' aligned query
  embeddings; the new queries are Hungarian-matched to each memory frame (cost 1 - cosine), the `top_k` frames
  with the lowest matched cost are kept, their cost matrices are averaged with weights growing with recency
  (i + 1 for the i-th oldest memory frame), and one more Hungarian matching on the average decides.
- `ClipLinker` (OVFormer, semi-online, per clip): the new clip's queries are Hungarian-matched to the previous
  clip's aligned queries (cost 1 - cosine).
- `NoTracking`: no matching at all (queries keep their order), a baseline.
"""
from __future__ import annotations

from collections import deque

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

    def align(self, queries: torch.Tensor) -> torch.Tensor:
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

    def align(self, queries: torch.Tensor) -> torch.Tensor:
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


class NoTracking:
    """No temporal matching: every frame (or clip) keeps its queries in their own order, so a track is a query
    slot (the per-frame baseline of the instance demo). No state."""

    def reset(self) -> None:
        pass

    def align(self, queries: torch.Tensor) -> torch.Tensor:
        return torch.arange(queries.shape[0])

    def nbytes(self) -> int:
        return 0

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        pass


def build_tracker(tracking: str, memory: int = 9, top_k: int = 5) -> TopKEnhancedMatcher | ClipLinker | NoTracking:
    """The tracker a model's `tracking` names: "topk_matching", "clip_linking" or "none"."""
    if tracking == "topk_matching":
        return TopKEnhancedMatcher(memory, top_k)
    if tracking == "clip_linking":
        return ClipLinker()
    if tracking == "none":
        return NoTracking()
    raise ValueError(f"unknown tracking '{tracking}': use topk_matching, clip_linking or none")
