"""A package whose release cannot be found fails the release tests instead of skipping them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()

_PLUGIN = '''
from pathlib import Path


def pytest_configure(config):
    import rmpredict.release._registry as registry

    registry.bundled_registry_dir = lambda: Path({empty!r})  # a broken package-data path
'''


def test_missing_release_fails_the_release_tests(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "broken_release_path.py").write_text(_PLUGIN.format(empty=str(empty)))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
         "broken_release_path", str(HERE.parent / "test_release.py"), "-k",
         "a_release_ships_with_the_package"],
        capture_output=True, text=True, timeout=300, cwd=HERE.parents[2], check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)})
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 failed" in proc.stdout and "no release found" in proc.stdout
