"""What every command that writes files shares: never overwrite without being told to."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openvidseg.errors import InputError


def refuse_existing(paths: Sequence[Path], overwrite: bool) -> None:
    """Raise if any of `paths` exists and `overwrite` is off, naming them and the fix."""
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        raise InputError(f"{', '.join(map(str, existing))} already exists: choose another path or pass --overwrite")
