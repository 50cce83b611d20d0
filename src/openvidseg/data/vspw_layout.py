"""The VSPW_480p folder layout, as users download it:

    ROOT/{train,val,test}.txt            one video name per line
    ROOT/data/<video>/origin/<frame>.jpg RGB frames; names sort in time order
    ROOT/data/<video>/mask/<frame>.png   class ids, same names (test videos have none)
    ROOT/label_num_dic_final.json        optional {"others": 0, "wall": 1, ...}; absent = VSPW's 124 classes
"""
from __future__ import annotations

import json
from pathlib import Path

from openvidseg.data.classes import VSPW_CLASSES
from openvidseg.errors import DataError

FRAME_DIR, MASK_DIR = "origin", "mask"
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
CLASS_FILE = "label_num_dic_final.json"


def check_root(root: str | Path) -> Path:
    root = Path(root).expanduser()
    if not (root / "data").is_dir():
        raise DataError(f"{root} is not a VSPW-layout folder: expected {root / 'data'}/<video>/origin/*.jpg "
                        "(point data.root at the VSPW_480p folder)")
    return root


def split_videos(root: str | Path, split: str) -> list[str]:
    """Video names listed in ROOT/<split>.txt, in file order."""
    path = check_root(root) / f"{split}.txt"
    if not path.is_file():
        present = sorted(p.stem for p in path.parent.glob("*.txt"))
        raise DataError(f"split file {path} not found (present: {', '.join(present) or 'none'})")
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(f"split file {path} is empty: list one video name per line")
    return names


def video_frames(root: str | Path, video: str) -> list[str]:
    """Frame names (file stems) of a video, in time order."""
    folder = Path(root) / "data" / video / FRAME_DIR
    if not folder.is_dir():
        raise DataError(f"video '{video}' has no frame folder {folder}")
    names = sorted(p.stem for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES)
    if not names:
        raise DataError(f"video '{video}' has no frames in {folder}")
    return names


def frame_path(root: str | Path, video: str, frame: str) -> Path:
    folder = Path(root) / "data" / video / FRAME_DIR
    for suffix in FRAME_SUFFIXES:
        if (folder / f"{frame}{suffix}").is_file():
            return folder / f"{frame}{suffix}"
    return folder / f"{frame}.jpg"


def mask_path(root: str | Path, video: str, frame: str) -> Path:
    return Path(root) / "data" / video / MASK_DIR / f"{frame}.png"


def dataset_classes(root: str | Path) -> tuple[str, ...]:
    """The class names of a VSPW-layout dataset (id = position + 1): from ROOT/label_num_dic_final.json
    when present (e.g. generated datasets), else VSPW's 124 classes."""
    path = Path(root) / CLASS_FILE
    if not path.is_file():
        return VSPW_CLASSES
    try:
        table = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON: {err}") from err
    by_id = {int(v): str(k) for k, v in table.items() if int(v) != 0}
    if sorted(by_id) != list(range(1, len(by_id) + 1)):
        raise DataError(f"{path}: class ids must run 1..N without gaps (0 = others)")
    return tuple(by_id[i] for i in range(1, len(by_id) + 1))
