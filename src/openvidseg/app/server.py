"""Starting the app server: offline by default (no analytics, no version check, fonts served by Gradio
itself), bound to 127.0.0.1 unless told otherwise, one queue whose run event segments at most
`concurrency` jobs at once, uploads capped at the size limit, and every file in one temporary folder
that is deleted when the server stops."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from openvidseg.app.runtime import AppRuntime
from openvidseg.app.settings import DEFAULT_HOST, DEFAULT_PORT, AppSettings
from openvidseg.errors import InputError, OpenVidSegError


def require_gradio():
    """Import Gradio with its telemetry off, or fail with the install command."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # no usage report, no version check at start
    try:
        import gradio
    except ImportError:
        raise OpenVidSegError("the web app needs Gradio, an optional extra: pip install 'openvidseg[app]'") from None
    return gradio


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


def build_app(settings: AppSettings, parent: str | Path | None = None):
    """(page, runtime): the queued Blocks (not launched) and the runtime holding its files and models."""
    require_gradio()
    runtime = AppRuntime(settings, parent)
    os.environ["GRADIO_TEMP_DIR"] = str(runtime.uploads)  # Gradio's cache (uploads, served results) lives in root
    from openvidseg.app.page import build_page

    page = build_page(runtime)
    page.queue(max_size=settings.queue_size, default_concurrency_limit=settings.concurrency)
    return page, runtime


def launch_app(settings: AppSettings, host: str | None = DEFAULT_HOST, port: int | None = DEFAULT_PORT, *,
               block: bool = True, parent: str | Path | None = None, quiet: bool = False) -> AppServer:
    """Serve the app on http://host:port. block: serve until Ctrl-C, then clean up and return; else
    return at once with the running server (call its close()). host/port None: Gradio's defaults,
    read from GRADIO_SERVER_NAME / GRADIO_SERVER_PORT (set on Hugging Face Spaces), else 127.0.0.1:7860."""
    page, runtime = build_app(settings, parent)
    from openvidseg.app.page import CSS

    server = None
    try:
        max_size = None if settings.max_upload_mb is None else int(settings.max_upload_mb * 2**20)
        try:
            _, url, _ = page.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=quiet,
                                    show_error=False, max_file_size=max_size, allowed_paths=[str(runtime.root)],
                                    footer_links=["api"], css=CSS, ssr_mode=False)
        except OSError as err:
            raise InputError(f"cannot serve on {host}:{port}: {err}; pass another --port (or --host)") from None
        server = AppServer(url, page, runtime)
        if block:
            page.block_thread()
    finally:
        if block or server is None:
            page.close()
            runtime.close()
    return server
