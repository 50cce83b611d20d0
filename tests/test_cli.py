"""The command line: `info`, help, one-line errors, and the README/CI contract."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openvidseg.cli import main

REPO = Path(__file__).resolve().parent.parent


def test_info_lists_versions_device_and_models(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for word in ("openvidseg", "torch", "transformers", "device", "cpu", "models", "presets"):
        assert word in out


def test_console_script_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "openvidseg", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("openvidseg ")


def test_user_errors_print_one_line_without_traceback(capsys):
    assert main(["info", "--device", "tpu:7"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "unknown device 'tpu:7'" in err and "Traceback" not in err


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    command = next(line.split("=", 1)[1].strip().strip("'\"") for line in ci.splitlines() if line.startswith("TEST_COMMAND="))
    assert command in readme
