"""Termination signals handled like Ctrl-C: while a command runs, SIGTERM (schedulers, `timeout`, `docker
stop`) and SIGHUP (a closed terminal) raise `Terminated`, a KeyboardInterrupt, so outputs are closed and
marked incomplete exactly as after Ctrl-C. Signals someone chose to ignore (e.g. SIGHUP under `nohup`) stay
ignored."""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from openvidseg.errors import Terminated

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def stop_on_termination() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise `Terminated` (main thread only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s, handler in previous.items():
        if handler == signal.SIG_DFL:
            signal.signal(s, _raise_terminated)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
