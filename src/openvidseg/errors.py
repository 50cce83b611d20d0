"""Errors a user can act on. The command line prints them as one line (no traceback) and exits non-zero.

Every message names the problem and the fix. Code deep inside the package raises these instead of
letting a library error surface far from its cause.

Exit codes tell scripts which kind of failure it was: `EXIT_USAGE` (2, as argparse) when the command as
written cannot run (a bad argument, config key or class list: fix the command), `EXIT_FAILED` (1) when it
ran but an input, the weights or the run failed (fix or replace the input; other inputs may be done).
"""
from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2


class OpenVidSegError(Exception):
    """Base class of every error meant for the user rather than for a developer."""

    exit_code = EXIT_FAILED


class ConfigError(OpenVidSegError):
    """An unknown config key, a wrong value type, or a preset that cannot be found."""

    exit_code = EXIT_USAGE


class WeightsError(OpenVidSegError):
    """Weights that cannot be found, read, or that do not fit the model they are loaded into."""


class WeightsNotFoundError(WeightsError):
    """Weights that are neither cached locally nor downloadable (e.g. offline)."""


class DataError(OpenVidSegError):
    """A dataset, video or frame that is missing, unreadable or inconsistent."""


class OutputWriteError(DataError):
    """An output that cannot be written: a full disk, a folder removed or made read-only."""


def os_reason(err: BaseException) -> str:
    """An OS error as '[Errno 28] No space left on device' (for messages that name the file themselves)."""
    return f"[Errno {err.errno}] {err.strerror}" if isinstance(err, OSError) and err.strerror else str(err)


class InputError(OpenVidSegError):
    """A bad argument: an empty or duplicate class name, an unknown model, an output that exists, ..."""

    exit_code = EXIT_USAGE


class TrainingError(OpenVidSegError):
    """A training run that cannot start or go on: nothing to train, a loss that became NaN/inf, a
    checkpoint that does not fit the run."""


class NothingToTrainError(TrainingError):
    """A model without trainable parameters given to `train`: the command cannot run as written."""

    exit_code = EXIT_USAGE


class Terminated(KeyboardInterrupt):
    """A termination signal (SIGTERM from a scheduler, `timeout` or `docker stop`; SIGHUP) turned into a
    clean stop: everything handles it as Ctrl-C. `signum` is the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class HubError(OpenVidSegError):
    """A push to the Hugging Face hub that failed: no login, no write access, no network."""
