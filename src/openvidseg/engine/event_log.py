"""Where a run's numbers go: one JSON object per line in <run>/log.jsonl, and the same numbers as
TensorBoard scalars in <run>/tensorboard/ (when the tensorboard package is installed; without it, one
warning and the JSON log alone). Records look like

    {"type": "train", "iteration": 50, "loss": 1.23, "loss_ce": 1.1, "lr/head": 3e-5, "it/s": 4.1, ...}
    {"type": "eval", "iteration": 5000, "mIoU": 41.2, "hIoU": 30.5, ...}
"""
from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOG_NAME = "log.jsonl"
TENSORBOARD_DIR = "tensorboard"


def read_log(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """The records of a log.jsonl (only those of `kind`, e.g. "train", when given)."""
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in records if kind is None or r.get("type") == kind]


def truncate_log(path: str | Path, after: int) -> None:
    """Drop the records of iterations after `after` (a resumed run writes them again)."""
    path = Path(path)
    if path.is_file():
        kept = [r for r in read_log(path) if r.get("iteration", 0) <= after]
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))


class EventLog:
    """Writes records to log.jsonl and TensorBoard under `folder`; `enabled=False` (processes other than
    the main one) makes every call a no-op. `purge_after`: on resume, TensorBoard forgets the old
    run's events after this step."""

    def __init__(self, folder: str | Path, enabled: bool = True, tensorboard: bool = True, purge_after: int | None = None):
        self.folder = Path(folder)
        self.enabled = enabled
        self._file = None
        self._tensorboard = None
        if not enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._file = (self.folder / LOG_NAME).open("a")
        if tensorboard:
            self._tensorboard = _tensorboard_writer(self.folder / TENSORBOARD_DIR, purge_after)

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record (it must hold "type" and "iteration"); numbers also go to TensorBoard as
        "<type>/<name>"."""
        if not self.enabled or self._file is None:
            return
        self._file.write(json.dumps(dict(record)) + "\n")
        self._file.flush()  # a killed run keeps every record written so far
        if self._tensorboard is not None:
            step, kind = int(record["iteration"]), record["type"]
            for name, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "iteration" \
                        and math.isfinite(value):
                    self._tensorboard.add_scalar(f"{kind}/{name}", value, step)
            self._tensorboard.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None


_warned = False


def _tensorboard_writer(folder: Path, purge_after: int | None):
    global _warned
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises it when the tensorboard package is missing
        if not _warned:
            warnings.warn("tensorboard is not installed: training numbers go to log.jsonl only "
                          "(pip install 'openvidseg[train]' for TensorBoard logs)", stacklevel=3)
            _warned = True
        return None
    return SummaryWriter(str(folder), purge_step=None if purge_after is None else purge_after + 1)
