"""The datadist tests are collected, and the torch-free ones run, without the train extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
# Block the train extra in a fresh interpreter (an import of a None entry raises ImportError),
# then collect this folder as pytest would on an install without it.
_CODE = """
import sys
for name in ("torch", "transformers", "tokenizers", "accelerate"):
    sys.modules[name] = None
import pytest
raise SystemExit(pytest.main(["-q", "-p", "no:cacheprovider", "--collect-only",
                              "--ignore", sys.argv[2], sys.argv[1]]))
"""


def test_folder_collects_without_torch():
    proc = subprocess.run([sys.executable, "-c", _CODE, str(HERE.parent), str(HERE)],
                          capture_output=True, text=True, timeout=300,
                          cwd=HERE.parents[2], check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "error" not in proc.stdout.lower().splitlines()[-1], proc.stdout[-2000:]
    assert "test_datadist_summary.py" in proc.stdout
