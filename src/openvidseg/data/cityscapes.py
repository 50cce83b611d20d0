"""Cityscapes video snippets for zero-shot evaluation, with the same access shape as VSPW's videos.

    ROOT/leftImg8bit_sequence/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png   30-frame snippets
    ROOT/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png             the 20th frame's label

Each gtFine label defines one snippet: frames <frame> - 19 .. <frame> + 10 of its sequence, so the
labelled frame is index 19 and reference frames come from the same snippet before it. Labels are
mapped from the 34 labelIds to dataset ids 1..19 = train id + 1 (class `CITYSCAPES_CLASSES[id - 1]`,
others -> 255), the same convention as VSPW's masks (classes from 1; 0 would be "others", unused
here), so evaluation protocols apply to both datasets alike.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from openvidseg.data.classes import CITYSCAPES_CLASSES, CITYSCAPES_LABEL_TO_TRAIN_ID, IGNORE_INDEX
from openvidseg.data.frame_source import ImageFrames
from openvidseg.data.io import check_mask, read_mask
from openvidseg.data.splits import ClassSplit, all_seen_split
from openvidseg.errors import DataError

SEQUENCE_DIR, LABEL_DIR = "leftImg8bit_sequence", "gtFine"
LABEL_SUFFIX, FRAME_SUFFIX = "_gtFine_labelIds.png", "_leftImg8bit.png"
FRAMES_BEFORE, FRAMES_AFTER = 19, 10  # the labelled frame is the 20th of a 30-frame snippet
NUM_LABEL_IDS = 34  # labelIds 0..33
_NAME = re.compile(r"^(?P<city>.+)_(?P<seq>\d+)_(?P<frame>\d+)$")


def label_id_lut() -> np.ndarray:
    """(256,) uint8: Cityscapes labelId -> dataset id 1..19 (train id + 1), everything else -> 255."""
    table = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for label_id, train_id in CITYSCAPES_LABEL_TO_TRAIN_ID.items():
        table[label_id] = train_id + 1
    return table


def valid_label_ids() -> np.ndarray:
    """(256,) bool: the values a labelIds PNG may hold (0..33 and 255)."""
    table = np.zeros(256, dtype=bool)
    table[:NUM_LABEL_IDS] = True
    table[IGNORE_INDEX] = True
    return table


def parse_label_name(path: Path) -> tuple[str, str, int]:
    """'<city>_<seq>_<frame>_gtFine_labelIds.png' -> (city, seq, frame number)."""
    stem = path.name[: -len(LABEL_SUFFIX)] if path.name.endswith(LABEL_SUFFIX) else path.stem
    match = _NAME.match(stem)
    if match is None:
        raise DataError(f"{path} is not named <city>_<seq>_<frame>{LABEL_SUFFIX}")
    return match["city"], match["seq"], int(match["frame"])


class CityscapesSnippet(ImageFrames):
    """One snippet: `frame_names`, `len()`, `frame(i)` -> (H, W, 3) uint8, `labelled` = [index of the
    labelled frame] (19 for a complete snippet), `mask(i)` -> (H, W) uint8 dataset ids (1..19, 255 ignore) for a
    labelled frame; `mask(i)` of any other frame raises DataError (Cityscapes labels one frame per snippet)."""

    def __init__(self, frame_paths: list[Path], label_path: Path, labelled_index: int, name: str):
        super().__init__(frame_paths, name=name, fps=17.0)  # Cityscapes sequences are recorded at 17 Hz
        self.frame_names = [p.name[: -len(FRAME_SUFFIX)] for p in frame_paths]
        self.label_path = label_path
        self.labelled = [labelled_index]
        self._lut = label_id_lut()
        self._valid = valid_label_ids()

    def mask(self, index: int) -> np.ndarray:
        """(H, W) uint8 dataset ids (train id + 1) of frame `index` (must be in `labelled`)."""
        if index not in self.labelled:
            raise DataError(f"frame {index} of Cityscapes snippet '{self.name}' has no label: only frame "
                            f"{self.labelled[0]} ({self.label_path.name}) is labelled; iterate over `.labelled`")
        label_ids = read_mask(self.label_path)
        check_mask(label_ids, self.label_path, self._valid, frame_size=self.size, frame_path=self.paths[index])
        return self._lut[label_ids]


class CityscapesSequences:
    """The labelled snippets of one Cityscapes split, as `.videos` (CityscapesSnippet records).

    `class_names` = the 19 Cityscapes classes (dataset id = index + 1); `split` = every class seen.
    Frames of a snippet missing on disk are skipped (a check reports them); a missing labelled frame
    raises DataError.
    """

    def __init__(self, root: str | Path, split: str = "val"):
        self.root = Path(root).expanduser()
        label_dir, sequence_dir = self.root / LABEL_DIR / split, self.root / SEQUENCE_DIR / split
        for folder in (label_dir, sequence_dir):
            if not folder.is_dir():
                raise DataError(f"{folder} not found: point the root at the folder holding {LABEL_DIR}/ and "
                                f"{SEQUENCE_DIR}/ (Cityscapes' gtFine and leftImg8bit_sequence packages)")
        self.video_split = split
        self.class_names: tuple[str, ...] = CITYSCAPES_CLASSES
        self.split: ClassSplit = all_seen_split(CITYSCAPES_CLASSES, name="cityscapes")
        labels = sorted(label_dir.glob(f"*/*{LABEL_SUFFIX}"))
        if not labels:
            raise DataError(f"no *{LABEL_SUFFIX} files under {label_dir}")
        listing: dict[str, set[str]] = {}
        self.videos = [self._snippet(path, sequence_dir, listing) for path in labels]

    @staticmethod
    def _snippet(label_path: Path, sequence_dir: Path, listing: dict[str, set[str]]) -> CityscapesSnippet:
        city, seq, frame = parse_label_name(label_path)
        if city not in listing:
            folder = sequence_dir / city
            listing[city] = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        wanted = range(frame - FRAMES_BEFORE, frame + FRAMES_AFTER + 1)
        names = [f"{city}_{seq}_{n:06d}{FRAME_SUFFIX}" for n in wanted]
        labelled_name = names[FRAMES_BEFORE]
        if labelled_name not in listing[city]:
            raise DataError(f"labelled frame {sequence_dir / city / labelled_name} is missing (its label is "
                            f"{label_path}): install leftImg8bit_sequence for this split")
        present = [n for n in names if n in listing[city]]
        paths = [sequence_dir / city / n for n in present]
        return CityscapesSnippet(paths, label_path, present.index(labelled_name), name=f"{city}_{seq}_{frame:06d}")
