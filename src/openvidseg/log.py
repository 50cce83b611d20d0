"""Messages for people go through the `openvidseg` logger (`logging.getLogger("openvidseg")`, and its
children `openvidseg.<module>`), never through print(), so a program or notebook using the package
decides what it sees: nothing below WARNING unless it configures logging, e.g.

    logging.basicConfig(level=logging.INFO)            # or
    logging.getLogger("openvidseg").setLevel(logging.WARNING)

The command line installs `ConsoleHandler` (`configure_console`): INFO and above on standard error as
plain lines ("warning: ..." for warnings), written through tqdm so that they never break a progress bar.
"""
from __future__ import annotations

import logging
import sys

LOGGER_NAME = "openvidseg"


class ConsoleHandler(logging.Handler):
    """Plain lines on standard error, printed above any active tqdm progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm

            message = self.format(record)
            if record.levelno >= logging.WARNING and not message.startswith(("warning", "error")):
                message = f"{record.levelname.lower()}: {message}"
            tqdm.write(message, file=sys.stderr)
        except Exception:  # never let a message stop the work (the logging module's own rule)
            self.handleError(record)


def configure_console(quiet: bool = False) -> logging.Logger:
    """Show the package's messages on standard error (INFO and above; only warnings and errors when
    `quiet`), replacing a handler an earlier call installed. Returns the package logger."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in [h for h in logger.handlers if isinstance(h, ConsoleHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(ConsoleHandler())
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False  # the console handler prints them; a root handler would print them twice
    return logger
