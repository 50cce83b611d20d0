"""What an app server is started with: the models offered in the page, the device, the upload limits and
the queue. Plain data: the command line (`openvidseg app`) and the Space entry (app.py) both build one."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from openvidseg.errors import InputError

DEFAULT_MODEL = "dense_clip_vitb16"
DEFAULT_HOST = "127.0.0.1"  # this machine only
DEFAULT_PORT = 7860


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the page's model menu: a registered model name and/or a checkpoint, and a CLIP source."""

    label: str
    model: str | None = None
    checkpoint: str | None = None
    clip: str | None = None


@dataclass(frozen=True)
class AppSettings:
    """models: the menu (the first is selected); max_upload_mb / max_seconds: the largest file and the
    longest video accepted (None = no limit); concurrency: jobs segmented at once (they share each loaded
    model); queue_size: jobs waiting at most (None = no limit); keep_minutes: uploads and results older
    than this are deleted while the server runs (everything is deleted when it stops)."""

    models: tuple[ModelChoice, ...] = field(default_factory=lambda: (ModelChoice(DEFAULT_MODEL, DEFAULT_MODEL),))
    device: str = "auto"
    max_upload_mb: float | None = 200.0
    max_seconds: float | None = 120.0
    concurrency: int = 1
    queue_size: int | None = 16
    keep_minutes: float = 60.0
    examples: bool = True

    def __post_init__(self) -> None:
        if not self.models:
            raise InputError("the app needs at least one model: pass --model NAME or --checkpoint PATH")
        for name, value in (("--max-upload-mb", self.max_upload_mb), ("--max-seconds", self.max_seconds)):
            if value is not None and value <= 0:
                raise InputError(f"{name} {value}: use a positive number (or leave it unset for the default)")
        if self.concurrency < 1:
            raise InputError(f"--concurrency {self.concurrency}: use a number of jobs >= 1")
        if self.queue_size is not None and self.queue_size < 1:
            raise InputError(f"--queue-size {self.queue_size}: use a number of waiting jobs >= 1")
        if self.keep_minutes <= 0:
            raise InputError(f"--keep-minutes {self.keep_minutes}: use a positive number of minutes")

    def choice(self, label: str | None) -> ModelChoice:
        """The menu entry called `label` (None = the first)."""
        if label is None:
            return self.models[0]
        for choice in self.models:
            if choice.label == label:
                return choice
        raise InputError(f"unknown model {label!r}: choose one of {', '.join(c.label for c in self.models)}")


def model_choices(models: Sequence[str] = (), checkpoint: str | Path | None = None,
                  clip: str | None = None) -> tuple[ModelChoice, ...]:
    """The menu from the command line: a checkpoint first (run with its own model, or the first of
    `models` when given), then each named model; `clip` applies to all. Nothing given: dense_clip_vitb16."""
    names = list(dict.fromkeys(models))
    choices = []
    if checkpoint is not None:
        own = names.pop(0) if names else None
        label = f"{Path(checkpoint).name} (checkpoint{f', {own}' if own else ''})"
        choices.append(ModelChoice(label, own, str(checkpoint), clip))
    choices += [ModelChoice(name if clip is None else f"{name} (CLIP {clip})", name, None, clip) for name in names]
    if not choices:
        label = DEFAULT_MODEL if clip is None else f"{DEFAULT_MODEL} (CLIP {clip})"
        choices.append(ModelChoice(label, DEFAULT_MODEL, None, clip))
    return tuple(choices)


ENV_PREFIX = "OPENVIDSEG_APP_"


def settings_from_env(environ: Mapping[str, str]) -> AppSettings:
    """Settings from environment variables, for app.py (a Hugging Face Space is configured this way):
    OPENVIDSEG_APP_MODELS (comma-separated), _CHECKPOINT, _CLIP, _DEVICE, _MAX_UPLOAD_MB, _MAX_SECONDS,
    _CONCURRENCY, _QUEUE_SIZE, _KEEP_MINUTES, _EXAMPLES (0 = none). Unset ones take the defaults."""
    def get(name: str) -> str | None:
        value = environ.get(ENV_PREFIX + name, "").strip()
        return value or None

    def number(name: str, kind=float):
        value = get(name)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            raise InputError(f"{ENV_PREFIX}{name}={value!r} is not a number") from None

    models = [m.strip() for m in (get("MODELS") or "").split(",") if m.strip()]
    options: dict = {"models": model_choices(models, get("CHECKPOINT"), get("CLIP"))}
    for key, name, kind in (("max_upload_mb", "MAX_UPLOAD_MB", float), ("max_seconds", "MAX_SECONDS", float),
                            ("concurrency", "CONCURRENCY", int), ("queue_size", "QUEUE_SIZE", int),
                            ("keep_minutes", "KEEP_MINUTES", float)):
        value = number(name, kind)
        if value is not None:
            options[key] = value
    if get("DEVICE"):
        options["device"] = get("DEVICE")
    if get("EXAMPLES") is not None:
        options["examples"] = get("EXAMPLES") not in ("0", "false", "False", "no")
    return AppSettings(**options)
