"""The AVSBench-semantic folder layout, as users download it:

    ROOT/metadata.csv                      vid,uid,s_min,s_sec,a_obj,split,label (one row per video)
    ROOT/label2idx.json                    {"background": 0, "accordion": 1, ..., "woman": 70} (absent: these 70)
    ROOT/<label>/<uid>/frames/<k>.jpg      k = 0..4 (v1s, v1m: 5 s clips) or 0..9 (v2: 10 s clips), 1 fps
    ROOT/<label>/<uid>/labels_rgb/<k>.png  colour masks: class id j drawn in the PASCAL VOC colour of j
    ROOT/<label>/<uid>/audio.wav           the clip's sound

`label` is the subset: v1s (AVSBench-object single-source; its training videos label frame 0 only), v1m
(multi-source) and v2 (the semantic set's new videos); `split` is train / val / test; `a_obj` names the
video's sounding classes joined by "_". Colours outside the palette read as 255 (not scored).
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from openvidseg.data.classes import AVSBENCH_BACKGROUND, AVSBENCH_CLASSES, IGNORE_INDEX
from openvidseg.errors import DataError

METADATA_FILE, LABEL_FILE = "metadata.csv", "label2idx.json"
FRAME_DIR, MASK_DIR, AUDIO_FILE = "frames", "labels_rgb", "audio.wav"
SUBSETS = ("v1s", "v1m", "v2")
SUBSET_FRAMES = {"v1s": 5, "v1m": 5, "v2": 10}
METADATA_COLUMNS = ("uid", "a_obj", "split", "label")
FPS = 1.0  # AVSBench extracts one frame per second


def voc_palette(count: int = 256) -> np.ndarray:
    """(count, 3) uint8 PASCAL VOC colours: bit b of id j's three-bit groups goes to the top bits of R, G, B."""
    palette = np.zeros((count, 3), dtype=np.uint8)
    for j in range(count):
        value, shift = j, 7
        while value:
            for channel in range(3):
                palette[j, channel] |= ((value >> channel) & 1) << shift
            value >>= 3
            shift -= 1
    return palette


def colour_to_id(rgb: np.ndarray, num_ids: int) -> np.ndarray:
    """(H, W, 3) uint8 colours -> (H, W) uint8 ids 0..num_ids-1 (255 for a colour that is none of theirs)."""
    palette = voc_palette(num_ids)
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    known = (palette[:, 0].astype(np.int32) << 16) | (palette[:, 1].astype(np.int32) << 8) | palette[:, 2]
    order = np.argsort(known)
    position = np.clip(np.searchsorted(known[order], codes), 0, len(known) - 1)
    ids = order[position]
    return np.where(known[ids] == codes, ids, IGNORE_INDEX).astype(np.uint8)


def read_colour_mask(path: str | Path, num_ids: int) -> np.ndarray:
    """A labels_rgb PNG -> (H, W) uint8 ids 0..num_ids-1 (0 background; 255 for colours outside the palette).
    Single-channel and palette PNGs are read as ids directly (a VOC-palette PNG's indices are its ids)."""
    try:
        with Image.open(path) as img:
            if img.mode in ("L", "P", "I", "I;16"):
                return np.asarray(img).astype(np.uint8)
            rgb = np.asarray(img.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"missing mask: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise DataError(f"unreadable mask {path}: {err}") from None
    return colour_to_id(rgb, num_ids)


def write_colour_mask(path: str | Path, ids: np.ndarray) -> None:
    """Write (H, W) uint8 ids as an AVSBench colour mask (RGB PNG)."""
    Image.fromarray(voc_palette(256)[ids]).save(path)


@dataclass(frozen=True)
class AVSVideo:
    """One video of the layout: `uid`, `subset` (v1s | v1m | v2), `split`, `objects` (its sounding class names)."""

    root: Path
    uid: str
    subset: str
    split: str
    objects: tuple[str, ...]

    @property
    def folder(self) -> Path:
        return self.root / self.subset / self.uid

    @property
    def num_frames(self) -> int:
        return SUBSET_FRAMES[self.subset]

    def frame_path(self, index: int) -> Path:
        return self.folder / FRAME_DIR / f"{index}.jpg"

    def mask_path(self, index: int) -> Path:
        return self.folder / MASK_DIR / f"{index}.png"

    @property
    def audio_path(self) -> Path:
        return self.folder / AUDIO_FILE

    @property
    def labelled_frames(self) -> tuple[int, ...]:
        """Frames that have a mask: frame 0 only for v1s training videos, all of them otherwise."""
        return (0,) if self.subset == "v1s" and self.split == "train" else tuple(range(self.num_frames))


def check_root(root: str | Path) -> Path:
    root = Path(root).expanduser()
    if not (root / METADATA_FILE).is_file():
        raise DataError(f"{root} is not an AVSBench-semantic folder: expected {root / METADATA_FILE} beside the "
                        "v1s/ v1m/ v2/ folders (point data.root at the AVSBench_semantic folder)")
    return root


def read_metadata(root: str | Path) -> list[AVSVideo]:
    """Every video listed in ROOT/metadata.csv, in file order."""
    root = check_root(root)
    path = root / METADATA_FILE
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path} lacks the columns {', '.join(missing)} (expected vid,uid,s_min,s_sec,a_obj,split,label)")
        videos = []
        for line, row in enumerate(reader, start=2):
            if row["label"] not in SUBSETS:
                raise DataError(f"{path}, line {line}: subset '{row['label']}' is none of {', '.join(SUBSETS)}")
            objects = tuple(o for o in (row["a_obj"] or "").split("_") if o)
            videos.append(AVSVideo(root, row["uid"], row["label"], row["split"], objects))
    return videos


def dataset_classes(root: str | Path) -> tuple[str, ...]:
    """The class names (id = position + 1; id 0 is background): from ROOT/label2idx.json when present (a
    generated dataset has its own), else AVSBench-semantic's 70."""
    path = Path(root) / LABEL_FILE
    if not path.is_file():
        return AVSBENCH_CLASSES
    try:
        table = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(table, dict) or table.get(AVSBENCH_BACKGROUND) != 0:
        raise DataError(f"{path} must map names to ids with \"{AVSBENCH_BACKGROUND}\": 0")
    by_id = {int(v): str(k) for k, v in table.items() if k != AVSBENCH_BACKGROUND}
    if sorted(by_id) != list(range(1, len(by_id) + 1)) or len(by_id) > 254:
        raise DataError(f"{path}: class ids must run 1..N (N < 255) without gaps or repeats (0 = background)")
    return tuple(by_id[i] for i in range(1, len(by_id) + 1))
