"""Starting the app server: offline by default (no analytics, no version check, fonts served by Gradio
itself), bound to 127.0.0.1 unless told otherwise, one queue whose run event segments at most
`concurrency` jobs at once, uploads capped at the size limit, and every file in one temporary folder
that is deleted when the server stops."""
from __future__ import annotations

import importlib.util
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from openvidseg.app.models import ModelCache
from openvidseg.app.runtime import AppRuntime
from openvidseg.app.settings import DEFAULT_HOST, DEFAULT_PORT, AppSettings
from openvidseg.errors import InputError, OpenVidSegError


def require_gradio() -> None:
    """Fail with the install command when Gradio is missing (without importing it: see build_app)."""
    if importlib.util.find_spec("gradio") is None:
        raise OpenVidSegError("the web app needs Gradio, an optional extra: pip install 'openvidseg[app]'")


@dataclass
class AppServer:
    """A running app: its address, its page, its files; `close()` stops it and deletes the files."""

    url: str
    page: object
    runtime: AppRuntime

    def close(self) -> None:
        try:
            self.page.close()
        finally:
            self.runtime.close()


def build_app(settings: AppSettings, parent: str | Path | None = None, models: ModelCache | None = None):
    """(page, runtime): the queued Blocks (not launched) and the runtime holding its files and models.
    Gradio's settings are environment variables, set here before Gradio is first imported: telemetry
    off, its cache (uploads, served results) inside the runtime's folder."""
    require_gradio()
    runtime = AppRuntime(settings, parent, models)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no usage reports, no version check at start
    os.environ["GRADIO_TEMP_DIR"] = str(runtime.uploads)
    from openvidseg.app.page import build_page

    page = build_page(runtime)
    page.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    return page, runtime


def launch_app(settings: AppSettings, host: str | None = DEFAULT_HOST, port: int | None = DEFAULT_PORT, *,
               block: bool = True, parent: str | Path | None = None, models: ModelCache | None = None,
               quiet: bool = False) -> AppServer:
    """Serve the app on http://host:port (printing the address unless `quiet`). block: serve until Ctrl-C
    or SIGTERM, then clean up and return; else return at once with the running server (call its
    close()). host/port None: Gradio's defaults, read from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set
    on Hugging Face Spaces), else 127.0.0.1:7860. models: the models' cache (default: each menu entry
    built as `openvidseg segment` builds it)."""
    page, runtime = build_app(settings, parent, models)
    from openvidseg.app.page import CSS

    server = None
    stopping = _sigterm_as_ctrl_c() if block else nullcontext()
    try:
        with stopping:  # from before the server answers: a SIGTERM at any moment cleans up
            max_size = None if settings.max_upload_mb is None else int(settings.max_upload_mb * 2**20)
            try:
                _, url, _ = page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                                        show_error=False, max_file_size=max_size, allowed_paths=[str(runtime.root)],
                                        footer_links=["api"], css=CSS, ssr_mode=False)
            except OSError as err:
                raise InputError(f"cannot start the server: {err}; pass another --port (or --host)") from None
            server = AppServer(url, page, runtime)
            if not quiet:
                print(f"openvidseg app: serving on {url} (Ctrl-C stops it and deletes its files)", flush=True)
            if block:
                page.block_thread()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM before block_thread took over
        if not block:
            raise
    finally:
        if block or server is None:
            page.close()
            runtime.close()
    return server


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a service manager stopping the server) ends the server as Ctrl-C does, with the clean-up."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
