"""The app's loaded models: each menu entry is built once (on first use) and shared by every job that uses
it; at most `capacity` stay loaded (the least recently used one is dropped first)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from openvidseg.app.settings import ModelChoice
from openvidseg.models.base import VideoSegmenter


def build_choice(choice: ModelChoice) -> VideoSegmenter:
    """The model of a menu entry, as `openvidseg segment` builds it."""
    from openvidseg.inference.segment import build_segment_model

    return build_segment_model(choice.model, choice.checkpoint, choice.clip)


class ModelCache:
    """Thread-safe: two jobs asking for the same entry at once build it once."""

    def __init__(self, capacity: int = 1, build: Callable[[ModelChoice], VideoSegmenter] = build_choice):
        self.capacity = capacity
        self.build = build
        self._models: OrderedDict[ModelChoice, VideoSegmenter] = OrderedDict()
        self._lock = threading.Lock()  # held while building: loading two models at once would only add memory
        self.builds = 0

    def get(self, choice: ModelChoice) -> VideoSegmenter:
        """The loaded model for `choice`, built now if needed (raises what building raises)."""
        with self._lock:
            model = self._models.get(choice)
            if model is None:
                while len(self._models) >= self.capacity:  # before building: two models never need to fit
                    self._models.popitem(last=False)  # (a job still using one keeps its own reference)
                model = self.build(choice)
                self.builds += 1
                self._models[choice] = model
            self._models.move_to_end(choice)
            return model

    def loaded(self, choice: ModelChoice) -> bool:
        with self._lock:
            return choice in self._models
