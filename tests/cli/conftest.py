"""Run the ``rmpredict`` command line in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def run_cli(tmp_path):
    """``run_cli(*args)`` runs ``python -m rmpredict *args`` in ``tmp_path``.

    Returns the CompletedProcess (text stdout/stderr). Runs from a temporary folder so the
    command cannot depend on the repository being the working directory.
    """

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": ""}
        return subprocess.run([sys.executable, "-m", "rmpredict", *map(str, args)],
                              capture_output=True, text=True, timeout=120,
                              cwd=cwd or tmp_path, env=env, check=False)

    return run


def _assert_one_line_error(proc: subprocess.CompletedProcess, *, prefix: str, contains: str):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(prefix), lines[0]
    assert contains in lines[0], lines[0]
    assert proc.stdout == ""


@pytest.fixture
def one_line_error():
    """Check the CLI convention for an input error: exit 2, one line on stderr, no traceback."""
    return _assert_one_line_error
