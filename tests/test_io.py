"""``rmpredict._io``: output paths are checked before work starts; writes are atomic."""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest

from rmpredict._io import atomic_path, check_writable, write_table_atomic
from rmpredict.exceptions import InvalidParameterError

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_writable_paths_pass_and_create_nothing(tmp_path):
    assert check_writable(tmp_path / "out.csv", "--output") == tmp_path / "out.csv"
    assert check_writable(tmp_path / "new" / "deeper" / "m.nc", "--output")
    assert check_writable(tmp_path / "dir", "--work", folder=True)
    assert list(tmp_path.iterdir()) == []  # the check leaves no file or folder behind


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "cands.csv").write_text("model\n")
    with pytest.raises(InvalidParameterError, match="is a file, not a folder") as info:
        check_writable(tmp_path / "cands.csv" / "out.csv", "--output")
    assert str(info.value).startswith(f"--output '{tmp_path / 'cands.csv' / 'out.csv'}'")
    with pytest.raises(InvalidParameterError, match="is a file, not a folder"):
        check_writable(tmp_path / "cands.csv" / "sub" / "out.csv", "--output")
    with pytest.raises(InvalidParameterError, match="is a file, not a folder"):
        check_writable(tmp_path / "cands.csv", "--work", folder=True)


def test_folder_given_as_a_file(tmp_path):
    with pytest.raises(InvalidParameterError, match="is a folder; give a file path"):
        check_writable(tmp_path, "--output")
    with pytest.raises(InvalidParameterError, match="empty path"):
        check_writable("", "--output")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_read_only_file_system():
    # /proc refuses new files even to root, so this holds for every user.
    with pytest.raises(InvalidParameterError, match="cannot write in '/proc'"):
        check_writable("/proc/rmpredict-test/m.nc", "--output")


@pytest.mark.skipif(ROOT, reason="root may write into a read-only folder")
def test_folder_without_write_permission(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(InvalidParameterError, match="cannot write in"):
            check_writable(locked / "m.nc", "--output")
    finally:
        locked.chmod(0o755)


def test_atomic_write_under_a_file_is_a_one_line_error(tmp_path):
    (tmp_path / "cands.csv").write_text("model\n")
    with pytest.raises(InvalidParameterError, match="a parent of it is a file"):
        write_table_atomic(tmp_path / "cands.csv" / "out.csv", pd.DataFrame({"a": [1]}))
    with pytest.raises(InvalidParameterError), atomic_path(tmp_path / "cands.csv" / "x"):
        pass
