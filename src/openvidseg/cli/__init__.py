"""The `openvidseg` command. Each sub-command lives in its own module with `add_arguments(parser)` and
`run(args) -> int`; modules import heavy libraries inside `run` so `--help` stays fast.

User errors (`OpenVidSegError`) print as one line and exit non-zero: 2 for a usage error (a bad argument,
config key or class list: the command as written cannot run), 1 when an input, the weights or the run
failed; set OPENVIDSEG_DEBUG=1 for tracebacks. Ctrl-C, SIGTERM and SIGHUP stop a command cleanly (exit
128 + the signal's number: 130 after Ctrl-C). Library messages (the `openvidseg` logger) print on standard
error; `--quiet`, where a command has it, keeps only warnings and errors.
"""
from __future__ import annotations

import argparse
import contextvars
import importlib
import os
import re
import signal
import sys

from openvidseg import __version__

# sub-command -> module; the order is the order shown by --help
COMMANDS = {
    "segment": "openvidseg.cli.segment",
    "info": "openvidseg.cli.info",
    "data": "openvidseg.cli.data",
    "score": "openvidseg.cli.score",
    "train": "openvidseg.cli.train",
    "eval": "openvidseg.cli.eval",
    "demo": "openvidseg.cli.demo",
    "app": "openvidseg.cli.app",
}


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring (which may span lines), for the command list of --help."""
    paragraph = " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())
    return re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openvidseg",
        description="Open-vocabulary video segmentation: label every pixel of every frame with any class names.",
    )
    parser.add_argument("--version", action="version", version=f"openvidseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(name, help=first_sentence(module.__doc__ or ""), description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from openvidseg.cli.signals import stop_on_termination
    from openvidseg.errors import OpenVidSegError
    from openvidseg.log import configure_console

    configure_console(quiet=getattr(args, "quiet", False))
    try:
        with stop_on_termination():  # SIGTERM/SIGHUP stop a command as Ctrl-C does
            # each command runs in its own context, so what it sets (e.g. how hints name options) ends with it
            return int(contextvars.copy_context().run(args.run, args) or 0)
    except OpenVidSegError as err:
        if os.environ.get("OPENVIDSEG_DEBUG"):
            raise
        print(f"openvidseg {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt as err:
        signum = getattr(err, "signum", signal.SIGINT)
        print(f"openvidseg {args.command}: {'interrupted' if signum == signal.SIGINT else 'terminated'}",
              file=sys.stderr)
        return 128 + signum  # 130 after Ctrl-C, 143 after SIGTERM, as shells report them
