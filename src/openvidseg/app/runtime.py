"""Everything an app server holds apart from its page: the settings, one temporary folder for all its files
(uploads, the generated examples, one sub-folder per job), the loaded models. `close()` deletes the folder."""
from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from openvidseg.app.examples import Example, write_examples
from openvidseg.app.job import SegmentJob
from openvidseg.app.models import ModelCache
from openvidseg.app.request import JobRequest
from openvidseg.app.settings import AppSettings


class AppRuntime:
    """root: created with `tempfile.mkdtemp` (under `parent` when given); uploads go to root/uploads
    (Gradio's cache, see server.py), examples to root/examples, jobs to root/jobs/<id>."""

    def __init__(self, settings: AppSettings, parent: str | Path | None = None, models: ModelCache | None = None):
        self.settings = settings
        self.root = Path(tempfile.mkdtemp(prefix="openvidseg-app-", dir=parent))
        self.uploads = self.root / "uploads"
        self.jobs = self.root / "jobs"
        self.models = models or ModelCache(capacity=1)
        self._running: dict[str, SegmentJob] = {}
        self._lock = threading.Lock()
        self.examples: list[Example] = write_examples(self.root / "examples") if settings.examples else []

    def start(self, request: JobRequest, owner: str | None = None) -> SegmentJob:
        """A job for `request`, running, in a new folder of its own; `owner` (a browser session) can stop it."""
        job = SegmentJob(request, self.jobs / uuid.uuid4().hex, self.models, device=self.settings.device)
        if owner is not None:
            with self._lock:
                self._running[owner] = job
        return job

    def stop(self, owner: str) -> bool:
        """Stop `owner`'s running job (its results so far are kept); False when it has none."""
        with self._lock:
            job = self._running.get(owner)
        if job is not None:
            job.stop()
        return job is not None

    def finish(self, owner: str | None, job: SegmentJob) -> None:
        """Forget `owner`'s job and delete its folder (after its results were sent)."""
        with self._lock:
            if owner is not None and self._running.get(owner) is job:
                del self._running[owner]
        job.close()

    def close(self) -> None:
        """Delete every file the app wrote (uploads, results, examples)."""
        shutil.rmtree(self.root, ignore_errors=True)
