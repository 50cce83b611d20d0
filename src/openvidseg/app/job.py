"""One segmentation job of the web app: `write_outputs` (the same files as `openvidseg segment`) runs in a
thread of its own, in a folder of its own, while the page reads live snapshots (frames done, statistics
so far, class shares over time, the latest overlay frame) from `updates()`.

    job = SegmentJob(request, folder, models, device="cpu")
    try:
        for snapshot in job.updates(interval=1.0):   # the last one has .result
            show(snapshot)
    finally:
        job.close()   # stops the thread at its next frame and deletes the folder

A truncated or corrupt video, or `stop()`, ends with a result that keeps the frames segmented so far and
says why it stopped (`result.error`); any other failure is raised from `updates()`.
"""
from __future__ import annotations

import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg.app.models import ModelCache
from openvidseg.app.request import JobRequest, readable_errors
from openvidseg.app.timeline import ShareTimeline
from openvidseg.errors import DataError
from openvidseg.inference.output_folder import OutputFolder
from openvidseg.inference.segment import Segmenter
from openvidseg.inference.statistics import ClassStatistics
from openvidseg.viz import class_colors, overlay_frame

OUTPUT, MASKS_ZIP = "output", "masks.zip"


class JobStopped(Exception):
    """Raised inside the job's thread when the job is stopped or closed before it finished."""


STOPPED = "stopped on request"
WAITING, SEGMENTING, DONE = "waiting for the model", "segmenting", "done"  # a job's phases


@dataclass(frozen=True)
class JobResult:
    """The files of a finished job (inside its folder) and its summary; error: why it stopped early."""

    overlay: Path
    summary_file: Path
    masks_zip: Path
    summary: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What the page shows at one moment. phase: 'waiting for the model', 'segmenting' or 'done';
    statistics: as in summary.json ("classes", "no_class_share"); timeline: chart rows (see
    `ShareTimeline.rows`); preview: the latest (H, W, 3) overlay frame, None before the first."""

    phase: str
    frames: int
    total: int | None
    elapsed: float
    statistics: dict[str, Any]
    timeline: list[dict[str, Any]]
    time_labels: list[str]
    colors: dict[str, tuple[int, int, int]]
    preview: np.ndarray | None = None
    result: JobResult | None = None

    @property
    def frames_per_s(self) -> float | None:
        return self.frames / self.elapsed if self.elapsed > 0 and self.frames else None


class _SharedModelSegmenter(Segmenter):
    """A Segmenter whose predictors are made one at a time: jobs running at once share the model, and
    making a predictor fills the model's text-embedding cache."""

    lock = threading.Lock()

    def predictor(self, return_logits: bool = False):
        with self.lock:
            return super().predictor(return_logits)


@dataclass
class _Live:
    """State shared between the job's thread (writer) and `updates()` (reader), under `lock`."""

    statistics: ClassStatistics
    timeline: ShareTimeline
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = WAITING
    latest: tuple[np.ndarray, np.ndarray] | None = None
    started: float = field(default_factory=time.perf_counter)


class SegmentJob:
    """Segment `request` into `folder` (created; deleted by `close`) with a model from `models`."""

    def __init__(self, request: JobRequest, folder: str | Path, models: ModelCache, *, device: str = "auto"):
        self.request = request
        self.folder = Path(folder)
        self.models = models
        self.device = device
        self.colors = class_colors(len(request.classes))
        self._live = _Live(ClassStatistics(len(request.classes)), ShareTimeline())
        self._stop = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._closed = self._finished = False
        self.result: JobResult | None = None
        self.error: BaseException | None = None
        self.folder.mkdir(parents=True, exist_ok=False)
        self._thread = threading.Thread(target=self._run, name=f"openvidseg-job-{self.folder.name}", daemon=True)
        self._thread.start()

    @property
    def output(self) -> OutputFolder:
        return OutputFolder(self.folder / OUTPUT)

    def _on_frame(self, index: int, frame: np.ndarray, labels: np.ndarray) -> None:
        """Called by write_outputs after frame `index` is written: count it, then stop if asked to."""
        live = self._live
        with live.lock:
            live.statistics.update(index, labels)
            live.timeline.update(labels)
            live.latest = (frame, labels)
        if self._stop.is_set():
            raise JobStopped(STOPPED)

    def _run(self) -> None:
        from openvidseg.data.video import VideoFileFrames
        from openvidseg.inference.outputs import write_outputs

        request = self.request
        try:
            model = self.models.get(request.choice)
            if self._stop.is_set():
                raise JobStopped(STOPPED)
            segmenter = _SharedModelSegmenter(model, request.classes, device=self.device,
                                              min_confidence=request.min_confidence,
                                              checkpoint=request.choice.checkpoint)
            with self._live.lock:
                self._live.phase, self._live.started = SEGMENTING, time.perf_counter()
            stopped_by = None
            with readable_errors(request.video, request.name), VideoFileFrames(request.video) as frames:
                try:
                    write_outputs(segmenter, frames, self.output.path, alpha=request.alpha,
                                  max_frames=request.max_frames, input_label=request.name, on_frame=self._on_frame)
                except DataError:  # truncated or corrupt: the frames before the error are kept
                    saved = self.output.read_summary() or {}
                    stopped_by = str(saved.get("error", "the video could not be read to its end"))
                    stopped_by = stopped_by.replace(str(request.video), request.name)
            self.result = self._finish(stopped_by)
        except JobStopped:  # stopped: what was written is the result; closed: nothing is
            if not self._closed and self.output.summary.is_file():
                self.result = self._finish(STOPPED)
        except BaseException as err:  # raised to the reader by updates()
            self.error = err
        finally:
            with self._lock:
                self._finished = True
                closed = self._closed
            if closed:
                self._remove()
            self._done.set()

    def _finish(self, error: str | None) -> JobResult:
        """Zip the masks with classes.json and summary.json; the result."""
        out = self.output
        archive = self.folder / MASKS_ZIP
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:  # PNGs are compressed already
            for path in sorted(out.masks.glob("*.png")):
                zipped.write(path, f"masks/{path.name}")
            for path in (out.classes, out.summary):
                zipped.write(path, path.name)
        with self._live.lock:
            self._live.phase = DONE
        return JobResult(out.overlay, out.summary, archive, out.read_summary() or {}, error)

    def snapshot(self) -> Snapshot:
        """The job as it is now (the statistics and shares of the frames segmented so far)."""
        live, names = self._live, self.request.classes
        with live.lock:
            statistics = live.statistics.to_json(names, self.colors, self.request.fps)
            timeline = live.timeline.rows(names, self.request.fps)
            labels = live.timeline.labels(self.request.fps)
            frames, phase, latest = live.statistics.frames, live.phase, live.latest
            elapsed = time.perf_counter() - live.started if phase != WAITING else 0.0
        preview = None
        if latest is not None:
            preview = overlay_frame(latest[0], latest[1], names, self.colors, self.request.alpha)
        total = self.request.total if self.request.max_frames is None else self.request.max_frames
        colors = {name: tuple(int(c) for c in rgb) for name, rgb in zip(names, self.colors)}
        return Snapshot(phase, frames, total, elapsed, statistics, timeline, labels, colors, preview, self.result)

    def updates(self, interval: float = 1.0) -> Iterator[Snapshot]:
        """A snapshot now and every `interval` seconds while the job runs; the last one carries the result.
        Re-raises the job's error, if it failed."""
        yield self.snapshot()
        while not self._done.wait(interval):
            yield self.snapshot()
        if self.error is not None:
            raise self.error
        yield self.snapshot()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job's thread has finished."""
        return self._done.wait(timeout)

    def stop(self) -> None:
        """End the job at its next frame, keeping what was written as its result (error: STOPPED)."""
        self._stop.set()

    def close(self) -> None:
        """Stop the job at its next frame (a model still loading finishes first) and delete its folder
        (at once when the thread has finished, else when it does)."""
        self._stop.set()
        with self._lock:
            self._closed = True
            finished = self._finished
        if finished:
            self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
