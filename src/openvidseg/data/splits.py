"""Seen/unseen class splits and evaluation protocols, applied to labels on the fly through lookup
tables (LUTs): the user's masks are never rewritten, and one copy of a dataset serves every split.

Label spaces:
- dataset ids: what the mask files hold (VSPW: 0 = others, 1..124 classes, 255 ignore);
- training indices: 0..S-1 over the seen classes in id order; unseen classes and others -> 255;
- protocol indices: positions in the evaluation vocabulary (see `EvalProtocol`).
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openvidseg.data.classes import (
    AVSBENCH_CLASSES, IGNORE_INDEX, OV2VSS_NUM_SEEN, OV_AVSS_NOVEL_IDS, VSPW_CLASSES, class_names_in_form, clean_class_name,
)
from openvidseg.errors import ConfigError

PROTOCOLS = ("gzsl", "seen", "unseen")
BACKGROUND = "background"


def _lut(mapping: dict[int, int]) -> np.ndarray:
    """A (256,) uint8 table: dataset id -> index, everything unmapped -> 255."""
    table = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for src, dst in mapping.items():
        table[src] = dst
    return table


@dataclass(frozen=True)
class ClassSplit:
    """A partition of a dataset's classes (ids 1..N; position in `class_names` = id - 1) into seen and unseen."""

    name: str
    class_names: tuple[str, ...]  # raw names
    seen: tuple[int, ...]  # dataset ids, ascending
    unseen: tuple[int, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def names(self, ids: tuple[int, ...] | None = None, form: str = "clean") -> tuple[str, ...]:
        """Names of `ids` (default: all classes, in id order) in 'clean' or 'raw' form."""
        ids = tuple(range(1, self.num_classes + 1)) if ids is None else ids
        return class_names_in_form(tuple(self.class_names[i - 1] for i in ids), form)

    def train_lut(self) -> np.ndarray:
        """(256,) uint8: dataset id -> training index among the seen classes; unseen/others/ignore -> 255."""
        return _lut({cid: i for i, cid in enumerate(self.seen)})

    def protocol(self, name: str, background: bool = True) -> EvalProtocol:
        """The evaluation protocol `name` (gzsl | seen | unseen) over this split."""
        if name == "gzsl":
            ids, bg = tuple(range(1, self.num_classes + 1)), False
        elif name in ("seen", "unseen"):
            ids, bg = (self.seen if name == "seen" else self.unseen), background
        else:
            raise ConfigError(f"unknown evaluation protocol '{name}': use one of {', '.join(PROTOCOLS)}")
        if not ids:
            raise ConfigError(f"split '{self.name}' has no {name} classes to evaluate")
        return EvalProtocol(name=name, split=self, class_ids=ids, background=bg)


@dataclass(frozen=True)
class EvalProtocol:
    """What the model is asked and how it is scored.

    gzsl: the vocabulary is every class; all labelled pixels are scored; mIoU is reported over all,
    seen and unseen classes, and hIoU = 2 s u / (s + u).
    seen / unseen: the vocabulary is that group (+ a trailing "background" entry when `background`),
    and only pixels of that group are scored; predicting background (or any class outside the group)
    counts as a miss.
    """

    name: str
    split: ClassSplit
    class_ids: tuple[int, ...]  # dataset ids, in vocabulary order
    background: bool

    @property
    def num_classes(self) -> int:
        """K scored classes (the background entry is not scored)."""
        return len(self.class_ids)

    def vocabulary(self, form: str = "clean") -> tuple[str, ...]:
        """The class names the model is given, in index order (background last when present)."""
        return self.split.names(self.class_ids, form) + ((BACKGROUND,) if self.background else ())

    def gt_lut(self) -> np.ndarray:
        """(256,) uint8: dataset id in a mask -> scored index 0..K-1, or 255 for pixels not scored."""
        return _lut({cid: i for i, cid in enumerate(self.class_ids)})

    def prediction_lut(self) -> np.ndarray:
        """(256,) uint8: dataset id in a prediction PNG -> scored index, or 255 (a miss) for ids outside it."""
        return self.gt_lut()

    def groups(self) -> dict[str, list[int]]:
        """Scored indices of the seen and unseen classes (for seen / unseen / harmonic means)."""
        seen = set(self.split.seen)
        return {
            "seen": [i for i, cid in enumerate(self.class_ids) if cid in seen],
            "unseen": [i for i, cid in enumerate(self.class_ids) if cid not in seen],
        }


def ov2vss_split() -> ClassSplit:
    """The OV2VSS split of VSPW: seen = ids 1..80, unseen = ids 81..124 (44 classes)."""
    ids = range(1, len(VSPW_CLASSES) + 1)
    return ClassSplit("ov2vss", VSPW_CLASSES, tuple(i for i in ids if i <= OV2VSS_NUM_SEEN),
                      tuple(i for i in ids if i > OV2VSS_NUM_SEEN))


def ov_avss_split() -> ClassSplit:
    """OV-AVSS's split of AVSBench-semantic's 70 classes: 40 base (seen) and 30 novel (unseen) classes."""
    ids = range(1, len(AVSBENCH_CLASSES) + 1)
    return ClassSplit("ov_avss", AVSBENCH_CLASSES, tuple(i for i in ids if i not in OV_AVSS_NOVEL_IDS),
                      tuple(i for i in ids if i in OV_AVSS_NOVEL_IDS))


# named splits: name -> (the classes they are defined over, those classes in words, the split's builder)
NAMED_SPLITS = {
    "ov2vss": (VSPW_CLASSES, "VSPW's 124", ov2vss_split),
    "ov_avss": (AVSBENCH_CLASSES, "AVSBench-semantic's 70", ov_avss_split),
}


def all_seen_split(class_names: tuple[str, ...], name: str = "all") -> ClassSplit:
    """Every class seen (closed-set training and evaluation, e.g. Cityscapes' 19 classes)."""
    return ClassSplit(name, tuple(class_names), tuple(range(1, len(class_names) + 1)), ())


def split_from_seen_names(seen_names: list[str], class_names: tuple[str, ...], name: str) -> ClassSplit:
    """A split from a list of seen class names (raw or clean form); every other class is unseen."""
    lookup = {n: i + 1 for i, n in enumerate(class_names)}
    lookup.update({clean_class_name(n): i + 1 for i, n in enumerate(class_names)})
    seen: set[int] = set()
    for entry in seen_names:
        if not isinstance(entry, str) or entry not in lookup:
            close = difflib.get_close_matches(str(entry), list(lookup), n=3)
            hint = f" (close: {', '.join(close)})" if close else ""
            raise ConfigError(f"split '{name}': '{entry}' is not a class of this dataset{hint}")
        if lookup[entry] in seen:
            raise ConfigError(f"split '{name}': class '{entry}' is listed twice")
        seen.add(lookup[entry])
    ids = range(1, len(class_names) + 1)
    return ClassSplit(name, tuple(class_names), tuple(i for i in ids if i in seen), tuple(i for i in ids if i not in seen))


def load_split(spec: str, class_names: tuple[str, ...] = VSPW_CLASSES) -> ClassSplit:
    """'ov2vss' (VSPW only), 'ov_avss' (AVSBench only), 'all', or the path of a JSON file holding a list of
    seen class names."""
    if spec in NAMED_SPLITS:
        classes, described, build = NAMED_SPLITS[spec]
        if tuple(class_names) != classes:
            raise ConfigError(f"split '{spec}' is defined for {described} classes only; use 'all' or a JSON split")
        return build()
    if spec == "all":
        return all_seen_split(class_names)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"unknown split '{spec}': use {', '.join(repr(n) for n in NAMED_SPLITS)}, 'all', or the "
                          "path of a JSON list of seen class names")
    try:
        seen = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"split file {path} is not valid JSON: {err}") from err
    if not isinstance(seen, list) or not seen:
        raise ConfigError(f"split file {path} must hold a non-empty JSON list of seen class names")
    return split_from_seen_names(seen, class_names, name=path.stem)
