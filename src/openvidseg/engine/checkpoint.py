"""Training checkpoints that lose nothing, written atomically.

    <run>/checkpoints/iter_0000020/model.safetensors   model weights (frozen CLIP left out) ...
                                  /model.json          ... and how to rebuild the model (`load_model`)
                                  /training_state.pt   optimizer, schedule, scaler, RNG of every process,
                                                       data position; loads with torch.load(weights_only=True)
    <run>/checkpoints/latest -> iter_0000020           the newest (a symlink; a text file naming it where
                                                       symlinks are not allowed)

A checkpoint is written into a hidden temporary folder and renamed into place, so a crash (or a kill)
while writing leaves the previous checkpoints as they were and never a partial one; only the newest
`keep` are kept.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from torch import nn

from openvidseg.errors import TrainingError
from openvidseg.models.checkpoint import info_path, save_model

CHECKPOINTS_DIR = "checkpoints"
MODEL_NAME = "model.safetensors"
STATE_NAME = "training_state.pt"
LATEST_NAME = "latest"
STATE_FORMAT = "openvidseg-train-state/1"
_NAME = re.compile(r"^iter_(\d+)$")


def checkpoint_name(step: int) -> str:
    """Folder name of the checkpoint taken after `step` optimiser steps."""
    return f"iter_{step:07d}"


class CheckpointManager:
    """Saves, lists and rotates the checkpoints under `folder` (= <run>/checkpoints); `keep` newest
    are kept (0 = all). Only one process of a run should save."""

    def __init__(self, folder: str | Path, keep: int = 3):
        self.folder = Path(folder)
        self.keep = keep

    def checkpoints(self) -> list[tuple[int, Path]]:
        """Complete checkpoints as (step, folder), oldest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.iterdir():
            match = _NAME.match(path.name)
            if match and path.is_dir() and not path.is_symlink() and (path / STATE_NAME).is_file():
                found.append((int(match[1]), path))
        return sorted(found)

    def latest(self) -> Path | None:
        """The newest complete checkpoint folder, or None."""
        found = self.checkpoints()
        return found[-1][1] if found else None

    def save(self, step: int, model: nn.Module, state: dict[str, Any], info: dict[str, Any] | None = None) -> Path:
        """Write the checkpoint of `step`: `model`'s weights (`save_model`, with `info` added to its JSON) and
        `state` (tensors, lists, numbers and strings only); point `latest` at it and drop old ones."""
        name = checkpoint_name(step)
        final = self.folder / name
        temporary = self.folder / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir(parents=True)
        try:
            save_model(model, temporary / MODEL_NAME, extra=info)
            torch.save({"format": STATE_FORMAT, "step": step, **state}, temporary / STATE_NAME)
            if final.exists():  # left by an earlier attempt that was not resumed from
                shutil.rmtree(final)
            os.replace(temporary, final)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self._point_latest(name)
        self._rotate()
        return final

    def _point_latest(self, name: str) -> None:
        link = self.folder / LATEST_NAME
        temporary = self.folder / f".{LATEST_NAME}.tmp-{os.getpid()}"
        temporary.unlink(missing_ok=True)
        try:
            temporary.symlink_to(name, target_is_directory=True)
        except OSError:  # no symlinks here (some Windows setups): a text file naming the folder
            temporary.write_text(name + "\n")
        os.replace(temporary, link)

    def _rotate(self) -> None:
        if self.keep <= 0:
            return
        for _, path in self.checkpoints()[: -self.keep]:
            shutil.rmtree(path, ignore_errors=True)


def resolve_latest(folder: str | Path) -> Path | None:
    """Where <folder>/latest points (symlink or text file), or None when there is no pointer."""
    link = Path(folder) / LATEST_NAME
    if link.is_symlink() or link.is_dir():
        return link.resolve()
    if link.is_file():
        return Path(folder) / link.read_text().strip()
    return None


def load_training_state(checkpoint: str | Path) -> dict[str, Any]:
    """The training state of a checkpoint folder, read with `torch.load(weights_only=True)`."""
    path = Path(checkpoint) / STATE_NAME
    if not path.is_file():
        raise TrainingError(f"{checkpoint} is not a training checkpoint (no {STATE_NAME}): resume from a folder "
                            f"written by `openvidseg train` (<output_dir>/{CHECKPOINTS_DIR}/iter_*)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated file, pickled objects
        raise TrainingError(f"cannot read {path}: {type(err).__name__}: {err}") from err
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise TrainingError(f"{path} is not an openvidseg training state (format {state.get('format')!r}, "
                            f"expected {STATE_FORMAT!r})" if isinstance(state, dict) else f"{path} holds no mapping")
    return state


def write_model(model: nn.Module, path: str | Path, info: dict[str, Any] | None = None) -> Path:
    """Write `path` (.safetensors) and its JSON through temporary files renamed into place."""
    path = Path(path)
    temporary = path.parent / f".{path.stem}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        written = save_model(model, temporary / path.name, extra=info)
        os.replace(written, path)
        os.replace(info_path(written), info_path(path))
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return path
