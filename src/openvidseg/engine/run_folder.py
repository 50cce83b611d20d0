"""A training run's folder (cfg.output_dir): what it holds, refusing to mix two runs in it, and the
record of the environment a run used.

    config.yaml         the resolved config          log.jsonl      train and eval records
    environment.json    versions, device, processes  tensorboard/   the same numbers for TensorBoard
    checkpoints/        iter_NNNNNNN/ + latest       eval/          periodic evaluation reports
    model.safetensors + model.json                   the final model (`openvidseg eval --checkpoint`)
"""
from __future__ import annotations

import importlib.metadata
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from openvidseg import __version__
from openvidseg.errors import InputError
from openvidseg.runtime import describe_device

RUN_FILES = ("config.yaml", "environment.json", "log.jsonl", "tensorboard", "checkpoints", "eval",
             "model.safetensors", "model.json")


def run_files(folder: str | Path) -> list[Path]:
    """The files and folders of a training run present in `folder`."""
    return [Path(folder) / name for name in RUN_FILES if (Path(folder) / name).exists()]


def check_run_folder(folder: str | Path, resume: bool, overwrite: bool) -> None:
    """Refuse a folder holding another run unless it is to be continued (`resume`) or replaced (`overwrite`)."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite contradict each other: continue the run in the folder or start over")
    found = run_files(folder)
    if found and not (resume or overwrite):
        names = ", ".join(p.name for p in found)
        raise InputError(f"{folder} already holds a training run ({names}): continue it with --resume "
                         "(train.resume=true), start over with --overwrite, or choose another output_dir=")


def clear_run(folder: str | Path) -> None:
    """Delete a run's files from `folder` (only those a run writes; anything else stays)."""
    for path in run_files(folder):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def git_commit(path: str | Path) -> str | None:
    """The commit of the git checkout holding `path` (with '+dirty' for local changes), or None."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment_info(device: torch.device, world_size: int) -> dict[str, Any]:
    """Versions, device, process count, command line and code revision of this run."""
    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "openvidseg": __version__, "git_commit": git_commit(Path(__file__).parent),
        "python": platform.python_version(), "platform": platform.platform(),
        "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        **{name: version(name) for name in ("transformers", "numpy", "safetensors", "tensorboard")},
        "device": describe_device(device), "world_size": world_size,
        "command": sys.argv,
    }


def write_environment(folder: str | Path, info: dict[str, Any], name: str = "environment.json") -> Path:
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path
