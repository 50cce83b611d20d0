"""Video instance annotations, one structure for every layout: YouTube-VIS 2019/2021, OVIS and LV-VIS
(one JSON layout), BURST, and COCO/LVIS image JSON (an image is a video of one frame).

    InstanceAnnotations
      videos:     VideoInfo(id, name, file_names (T,), height, width)      frame paths relative to the image root
      categories: InstanceCategory(id, name, partition, frequency)       sorted by id
      tracks:     InstanceTrack(id, video_id, category_id, segmentations (T,), iscrowd, areas)
                  segmentations[t]: compressed RLE {"size": [H, W], "counts": str} or None where the object
                  is absent (YouTube-VIS writes null there); the same object keeps its track id in every frame.

Category ids are the dataset's own (YouTube-VIS 1..40, LV-VIS 1..1196, LVIS/BURST: LVIS ids); classes
are addressed by position in `categories` (sorted by id), so a `ClassSplit` over `class_names` (its ids
= position + 1) gives seen/unseen (base/novel) partitions with the same tools as the semantic datasets.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from openvidseg.data.rle import RLE, decode_rle, rle_areas
from openvidseg.data.splits import ClassSplit, all_seen_split, load_split
from openvidseg.errors import ConfigError

LV_VIS_BASE_PARTITIONS = (0, 1)  # LV-VIS categories: partition 0-1 = base (641), 2-3 = novel (555)
LVIS_NOVEL_FREQUENCY = "r"  # open-vocabulary LVIS: rare = novel, common + frequent = base
SPLIT_SPECS = ("partition", "frequency", "all")


@dataclass(frozen=True)
class InstanceCategory:
    """A category: dataset id, name, and LV-VIS's `partition` / LVIS's `frequency` when the file has them."""

    id: int
    name: str
    partition: int | None = None
    frequency: str | None = None


@dataclass(frozen=True)
class VideoInfo:
    """A video: id, name (its frame folder), frame files relative to the image root (T,), frame size."""

    id: int
    name: str
    file_names: tuple[str, ...]
    height: int
    width: int

    @property
    def length(self) -> int:
        return len(self.file_names)


@dataclass(frozen=True)
class InstanceTrack:
    """One object through one video: a compressed RLE per frame, None where absent.

    `areas` (T,) are the dataset's per-frame areas when the file gives them (None where absent), else
    computed from the masks; `iscrowd` tracks are never matched by the metric nor trained on.
    """

    id: int
    video_id: int
    category_id: int
    segmentations: tuple[RLE | None, ...]
    iscrowd: bool = False
    areas: tuple[float | None, ...] | None = None

    @property
    def present(self) -> np.ndarray:
        """(T,) bool: frames with a mask."""
        return np.array([s is not None for s in self.segmentations], dtype=bool)

    def mask(self, frame: int, height: int, width: int) -> np.ndarray:
        """(H, W) bool mask in `frame` (all False where absent)."""
        rle = self.segmentations[frame]
        return np.zeros((height, width), dtype=bool) if rle is None else decode_rle(rle)

    def frame_areas(self) -> list[float | None]:
        """Per-frame areas: the dataset's `areas` when given, else counted from the masks (None where absent)."""
        if self.areas is not None:
            return list(self.areas)
        present = [s for s in self.segmentations if s is not None]
        counts = iter(rle_areas(present).tolist())
        return [None if s is None else float(next(counts)) for s in self.segmentations]

    def mean_area(self) -> float:
        """Mean area over the frames where the object has a non-empty mask (0 when it has none), as the
        YouTube-VIS evaluation sizes objects (small < 128^2 <= medium <= 256^2 < large)."""
        areas = [a for a in self.frame_areas() if a]
        return float(np.mean(areas)) if areas else 0.0


@dataclass
class InstanceAnnotations:
    """Videos, categories and tracks of one annotation file (see the module docstring)."""

    videos: list[VideoInfo]
    categories: list[InstanceCategory]
    tracks: list[InstanceTrack]
    source: Path | None = None
    layout: str = "ytvis"  # ytvis | burst | coco
    _by_video: dict[int, list[InstanceTrack]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.categories = sorted(self.categories, key=lambda c: c.id)
        by_video: dict[int, list[InstanceTrack]] = defaultdict(list)
        for track in self.tracks:
            by_video[track.video_id].append(track)
        self._by_video = dict(by_video)

    @cached_property
    def video_by_id(self) -> dict[int, VideoInfo]:
        return {v.id: v for v in self.videos}

    @cached_property
    def category_index(self) -> dict[int, int]:
        """Category id -> position in `categories` (sorted by id)."""
        return {c.id: i for i, c in enumerate(self.categories)}

    @property
    def category_ids(self) -> tuple[int, ...]:
        return tuple(c.id for c in self.categories)

    @property
    def class_names(self) -> tuple[str, ...]:
        """Category names in category order (raw, as the file writes them)."""
        return tuple(c.name for c in self.categories)

    def tracks_of(self, video_id: int) -> list[InstanceTrack]:
        """The tracks of one video, in file order."""
        return self._by_video.get(video_id, [])

    def class_split(self, spec: str | ClassSplit = "all") -> ClassSplit:
        """Seen/unseen (base/novel) classes: 'partition' (LV-VIS: partition 0-1 base), 'frequency' (LVIS:
        rare novel), 'all', a JSON file listing the seen names, or a ClassSplit. Its ids are positions + 1."""
        names = self.class_names
        if isinstance(spec, ClassSplit):
            if tuple(spec.class_names) != names:
                raise ConfigError(f"split '{spec.name}' is defined over other classes than {self.source}")
            return spec
        if spec in ("partition", "frequency"):
            attribute = [c.partition if spec == "partition" else c.frequency for c in self.categories]
            if any(a is None for a in attribute):
                raise ConfigError(f"split '{spec}' needs a '{spec}' field on every category, which {self.source} "
                                  "lacks: use 'all' or a JSON list of seen (base) class names")
            novel = [a not in LV_VIS_BASE_PARTITIONS if spec == "partition" else a == LVIS_NOVEL_FREQUENCY
                     for a in attribute]
            ids = range(1, len(names) + 1)
            return ClassSplit(spec, names, tuple(i for i in ids if not novel[i - 1]), tuple(i for i in ids if novel[i - 1]))
        if spec == "all":
            return all_seen_split(names)
        return load_split(spec, names)

    def default_split(self) -> str:
        """'partition' when every category has one (LV-VIS), else 'all'."""
        return "partition" if self.categories and all(c.partition is not None for c in self.categories) else "all"


def split_category_ids(split: ClassSplit, categories: Sequence[InstanceCategory]) -> dict[str, list[int]]:
    """{"base": [...], "novel": [...]} category ids of a split's seen and unseen classes."""
    return {"base": [categories[i - 1].id for i in split.seen], "novel": [categories[i - 1].id for i in split.unseen]}
