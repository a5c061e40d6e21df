"""``rmpredict`` itself: --help, --version, usage errors, and a light start-up."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rmpredict import __version__

HEAVY = ("torch", "transformers", "pymc", "pytensor")


def test_help(run_cli):
    proc = run_cli("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("usage: rmpredict")
    for command in ("data", "validate"):
        assert command in proc.stdout


def test_version(run_cli):
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"rmpredict {__version__}"


def test_no_command_prints_help_and_exits_2(run_cli):
    proc = run_cli()
    assert proc.returncode == 2
    assert "usage: rmpredict" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, prefix, contains", [
    (["--bogus"], "rmpredict: error:", "unrecognized arguments: --bogus"),
    (["nope-command"], "rmpredict: error:", "invalid choice: 'nope-command'"),
    (["data", "list", "--bogus"], "rmpredict: error:", "unrecognized arguments: --bogus"),
    (["data", "frobnicate"], "rmpredict data: error:", "invalid choice: 'frobnicate'"),
    (["data"], "rmpredict data: error:", "required"),
    (["validate"], "rmpredict validate: error:", "the following arguments are required: file"),
    (["validate", "x.csv", "--kind", "both"], "rmpredict validate: error:", "invalid choice"),
])
def test_usage_errors_are_one_line(run_cli, one_line_error, args, prefix, contains):
    one_line_error(run_cli(*args), prefix=prefix, contains=contains)


def test_building_the_parser_stays_light():
    code = ("import sys, json; from rmpredict.cli._main import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(proc.stdout) == []
