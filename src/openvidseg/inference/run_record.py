"""The record every `segment` output keeps of its run, whatever the task: summary.json written unfinished when
the run starts, rewritten every few seconds while it goes on, and final when it ends; disk space reserved for
that final write; and the end of a run turned into the outcome (the summary returned, or the failure raised
with what was written and how to continue). See inference/outputs.py for the rules."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from openvidseg.errors import DataError, OutputWriteError, os_reason
from openvidseg.inference.output_folder import OutputFolder
from openvidseg.inference.outputs import RESUME_HINT, SUMMARY_INTERVAL_S, UNFINISHED, _describe, _write

Summary = Callable[[bool, "str | None", float], dict[str, Any]]  # (complete, error, elapsed seconds) -> summary


class RunRecord:
    """summary(complete, error, elapsed_s) builds the summary of the run so far; `frames()` counts the frames
    written (for the error line)."""

    def __init__(self, folder: OutputFolder, summary: Summary, frames: Callable[[], int]):
        self.folder, self.summary, self.frames = folder, summary, frames
        self.started = self.saved = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def begin(self) -> None:
        """Write the unfinished summary and reserve room for the final one (it grows a little: timings, counts),
        even when the disk fills up."""
        _write(self.folder.write_json, self.folder.summary, self.summary(False, UNFINISHED, 0.0))
        _write(self.folder.reserve_space, 2 * self.folder.summary.stat().st_size + 65536)

    def due(self) -> bool:
        """Whether the summary should be rewritten (every SUMMARY_INTERVAL_S), so that even a killed process
        leaves a true record."""
        return time.perf_counter() - self.saved > SUMMARY_INTERVAL_S

    def save(self) -> None:
        _write(self.folder.write_json, self.folder.summary, self.summary(False, UNFINISHED, self.elapsed()))
        self.saved = time.perf_counter()

    def end(self, failure: BaseException | None, closers: Sequence[tuple[Callable[[], None], str]] = ()) -> dict:
        """Close what the run wrote (closers: (close, what it writes)), write the final summary, and return it, or
        raise the first failure: a `DataError` (bad input, full disk) with the frames written and, for a failed
        write, the --resume hint; anything else (Ctrl-C) as it was."""
        for close, what in closers:
            try:
                close()
            except (OSError, OutputWriteError) as err:  # a full disk: --resume rebuilds the output
                failure = failure or (err if isinstance(err, OutputWriteError) else
                                      OutputWriteError(f"cannot write {what}: {os_reason(err)}"))
        self.folder.release_space()
        final = self.summary(failure is None, _describe(failure), self.elapsed())
        try:
            self.folder.write_json(self.folder.summary, final)
        except OSError as err:
            failure = failure or OutputWriteError(f"cannot write {self.folder.summary}: {os_reason(err)}")
        if isinstance(failure, DataError):
            hint = f"; {RESUME_HINT}" if isinstance(failure, OutputWriteError) else ""
            raise type(failure)(f"{failure}{hint} ({self.frames()} frames written to {self.folder.path}, marked "
                                "incomplete)") from None
        if failure is not None:
            raise failure
        return final
