"""Checking what a user sent before a job starts: the class names, the video (present, readable, within
the size and length limits) and the options. Every problem is an `InputError`/`DataError` whose message
reads well in the page (it names the uploaded file, never the server's temporary path)."""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openvidseg.app.settings import AppSettings, ModelChoice
from openvidseg.errors import InputError, OpenVidSegError
from openvidseg.vocabulary import build_vocabulary

NO_CLASSES = 'no classes: type class names separated by commas (e.g. "person, dog, ball") or load a class file'
NO_VIDEO = "no video: upload a video file or pick one of the examples"
DEFAULT_FPS = 25.0


@dataclass(frozen=True)
class JobRequest:
    """A checked request. max_frames: frames to segment at most (the length limit, for a video whose
    container does not say its length; None otherwise); total: the frame count when known."""

    video: Path
    name: str
    classes: tuple[str, ...]
    choice: ModelChoice
    alpha: float = 0.5
    min_confidence: float = 0.0
    max_frames: int | None = None
    total: int | None = None
    fps: float = DEFAULT_FPS


def prepare_request(settings: AppSettings, video: str | Path | None, classes: str | None, *,
                    model: str | None = None, background: bool = False, alpha: float = 0.5,
                    min_confidence: float = 0.0, name: str | None = None) -> JobRequest:
    """Check everything a job needs, opening the video once (then closed). name: the file name to show
    (default: the upload's own)."""
    if not (classes or "").strip():
        raise InputError(NO_CLASSES)
    names = build_vocabulary(classes, background=background)
    choice = settings.choice(model)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"overlay opacity {alpha}: use a value from 0 to 1")
    if not 0.0 <= min_confidence < 1.0:
        raise InputError(f"minimum confidence {min_confidence}: use a probability from 0 (off) up to below 1")
    if video is None or not str(video).strip():
        raise InputError(NO_VIDEO)
    path = Path(video)
    name = name or path.name
    if not path.is_file():
        raise InputError(f"{name} was not received: upload it again")
    size_mb = path.stat().st_size / 2**20
    if settings.max_upload_mb is not None and size_mb > settings.max_upload_mb:
        raise InputError(f"{name} is {size_mb:.1f} MB; this app accepts videos up to {settings.max_upload_mb:g} MB: "
                         "upload a shorter or smaller video")
    with readable_errors(path, name):
        from openvidseg.data.video import VideoFileFrames

        with VideoFileFrames(path) as frames:
            fps = frames.fps or DEFAULT_FPS
            total = frames.num_frames
    max_frames = None
    if settings.max_seconds is not None:
        if total is not None and total / fps > settings.max_seconds:
            raise InputError(f"{name} is {total / fps:.1f} s long; this app segments videos up to "
                             f"{settings.max_seconds:g} s: trim it, or run `openvidseg segment` on it")
        if total is None:  # unknown length: stop at the limit
            max_frames = max(1, math.floor(settings.max_seconds * fps))
    return JobRequest(path, name, names, choice, alpha, min_confidence, max_frames, total, fps)


@contextmanager
def readable_errors(path: str | Path, name: str) -> Iterator[None]:
    """An `OpenVidSegError` raised inside names the upload `name` instead of its server path `path`."""
    try:
        yield
    except OpenVidSegError as err:
        if str(path) not in str(err):
            raise
        raise type(err)(str(err).replace(str(path), name)) from None
