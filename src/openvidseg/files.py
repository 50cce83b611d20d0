"""Folders written so that a reader never sees half of one."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def build_folder_atomically(target: Path, build: Callable[[Path], Any]) -> Path:
    """Run `build(temporary)` on a temporary sibling of `target` and rename it into place, so `target` is
    either absent or whole. An empty `target` folder is replaced. When another process renames its copy
    into place first, that copy is kept (builders of one target write the same content); the temporary
    folder is removed in every case, also when `build` fails."""
    target = Path(target)
    temporary = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        build(temporary)
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        os.rename(temporary, target)
    except OSError:
        if not (target.is_dir() and any(target.iterdir())):
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target
