"""A synthetic dataset generated once into a folder (`data.dataset: synthetic`), safe when several
processes (DDP ranks, parallel runs) ask for it at the same time: it is written into a temporary
sibling folder and renamed into place, so a reader sees either nothing or the whole dataset.

The generator's parameters are recorded in ROOT/synthetic.json; asking for the same folder with other
parameters is an error instead of silently training on data other than the config describes.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from openvidseg.errors import DataError
from openvidseg.files import build_folder_atomically

PARAMETERS_NAME = "synthetic.json"
CLASS_TABLE_NAME = "label_num_dic_final.json"  # every VSPW-layout set we write has it; folders appear whole (renamed)


def ensure_synthetic_vspw(
    root: str | Path,
    *,
    class_names: Sequence[str],
    splits: Mapping[str, int],
    num_frames: int,
    size: Sequence[int],
    seed: int = 0,
    num_stuff: int = 2,
    seen_classes: Sequence[str] | None = None,
) -> Path:
    """Return `root`, generating the VSPW-layout synthetic set there first when it is absent
    (`splits`: split name -> number of videos; `size`: (H, W) of the frames)."""
    from openvidseg.data.synthetic import write_synthetic_vspw

    root = Path(root).expanduser()
    parameters = {"class_names": list(class_names), "splits": {k: int(v) for k, v in splits.items()},
                  "num_frames": int(num_frames), "size": [int(s) for s in size], "seed": int(seed),
                  "num_stuff": int(num_stuff), "seen_classes": list(seen_classes) if seen_classes is not None else None}
    if _is_dataset(root):
        _check_parameters(root, parameters)
        return root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"{root} exists but holds no dataset (no {CLASS_TABLE_NAME}): remove it or point data.root "
                        "elsewhere so the synthetic set can be generated there")

    def build(folder: Path) -> None:
        write_synthetic_vspw(folder, class_names=tuple(class_names), num_videos=sum(parameters["splits"].values()),
                             num_frames=num_frames, size=tuple(parameters["size"]), seed=seed,
                             splits=parameters["splits"], num_stuff=num_stuff, seen_classes=seen_classes)
        (folder / PARAMETERS_NAME).write_text(json.dumps(parameters, indent=1) + "\n")

    build_folder_atomically(root, build)  # another process may finish first: theirs is the same data
    _check_parameters(root, parameters)
    return root


def _is_dataset(root: Path) -> bool:
    return (root / CLASS_TABLE_NAME).is_file()


def _check_parameters(root: Path, wanted: dict) -> None:
    """A folder generated with other parameters is an error; a dataset not generated here is used as it is."""
    path = root / PARAMETERS_NAME
    if not path.is_file():
        return
    found = json.loads(path.read_text())
    changed = sorted(k for k in wanted if found.get(k) != wanted[k])
    if changed:
        raise DataError(f"{root} holds a synthetic set generated with other settings ({', '.join(changed)} differ from "
                        "data.synthetic): delete the folder to regenerate it, or set data.root to another folder")
