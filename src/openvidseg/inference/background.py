"""Video decoding and output writing on background threads, overlapping the model.

PyAV's codecs, PNG compression and NumPy release the GIL, so decoding the next frames and blending,
encoding and saving the last ones run while the model works on the current frame. Both helpers keep the
order of their items and hand errors back to the calling thread at the point where they belong.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()


class Prefetch:
    """Iterate `items` on a background thread, up to `depth` items ahead. An exception raised by the
    iterable is raised by `next` after the items before it. Call `close()` (or use `with`) to stop early."""

    def __init__(self, items: Iterable, depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iter(items),), name="openvidseg-decode", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
        except BaseException as err:  # handed to the consumer, raised there in order
            self._put((_END, err))
            return
        self._put((_END, None))

    def __iter__(self) -> Prefetch:
        return self

    def __next__(self):
        item, error = self._queue.get()
        if item is _END:
            self._queue.put((_END, error))  # later calls see the end (or the error) again
            if error is not None:
                raise error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop reading ahead and wait for the thread (the iterable is not used after this returns)."""
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class OrderedWorker:
    """Run submitted calls one after another on a background thread (`enabled=False`: at once, in the
    caller). The first exception of a call is raised by the next `submit` or by `close`; calls queued
    after a failed one are dropped. At most `depth` calls wait, so a slow writer holds the producer back."""

    def __init__(self, enabled: bool = True, depth: int = 4):
        self.enabled = enabled
        self._error: BaseException | None = None
        if enabled:
            self._queue: queue.Queue = queue.Queue(maxsize=depth)
            self._thread = threading.Thread(target=self._run, name="openvidseg-write", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            call = self._queue.get()
            if call is None:
                return
            if self._error is None:
                function, args = call
                try:
                    function(*args)
                except BaseException as err:
                    self._error = err

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        """Queue `function(*args)` (or run it now when disabled)."""
        if not self.enabled:
            function(*args)
            return
        self._raise_pending()
        self._queue.put((function, args))

    def close(self, raise_error: bool = True) -> None:
        """Wait for the queued calls (safe to call twice); raise the first failure unless `raise_error` is False."""
        if self.enabled and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if raise_error:
            self._raise_pending()
