"""``rmpredict data list|show|verify`` through a subprocess."""

from __future__ import annotations

import json

import pandas as pd

from rmpredict import __version__
from rmpredict.datasets import list_tables, load_reference, load_table


def test_data_list(run_cli):
    proc = run_cli("data", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["table", "file", "rows"]
    for row in list_tables().itertuples():
        assert any(line.split()[:3] == [row.table, row.file, str(row.rows)] for line in lines)
    assert "reference" in proc.stdout


def test_data_show_head(run_cli):
    proc = run_cli("data", "show", "rm_results", "--head", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 4  # header + 3 rows
    rm = load_table("rm_results")
    assert lines[0].split()[:3] == list(rm.columns[:3])
    for line, model in zip(lines[1:], rm["model"].head(3)):
        assert line.split()[0] == model


def test_data_show_reference_to_file(run_cli, tmp_path):
    out = tmp_path / "ref.csv"
    proc = run_cli("data", "show", "reference", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote 66 rows to {out}" in proc.stderr
    # A plain CSV: pandas.read_csv with no options reads it back (no '#' line) ...
    written = pd.read_csv(out)
    pd.testing.assert_frame_equal(written, load_reference(), check_dtype=False)
    assert not list(tmp_path.glob(".ref.csv*.tmp"))  # no temporary file left behind
    # ... and the provenance is in a sidecar JSON next to it.
    sidecar = json.loads((tmp_path / "ref.csv.provenance.json").read_text(encoding="utf-8"))
    assert sidecar["rmpredict_version"] == __version__
    assert sidecar["command"] == "rmpredict data show reference" and sidecar["rows"] == 66
    assert set(sidecar["source_files"]) == {"rm_results.csv", "models.csv",
                                            "leaderboard_v2.csv.gz", "leaderboard_v1.csv.gz"}


def test_data_show_table_to_parquet_with_sidecar(run_cli, tmp_path):
    out = tmp_path / "v2.parquet"
    proc = run_cli("data", "show", "leaderboard_v2", "--head", "5", "--output", out)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_parquet(out)) == 5
    sidecar = json.loads((tmp_path / "v2.parquet.provenance.json").read_text(encoding="utf-8"))
    assert sidecar["table"] == "leaderboard_v2" and list(sidecar["source_files"]) == [
        "leaderboard_v2.csv.gz"]


def test_data_verify(run_cli):
    proc = run_cli("data", "verify")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(list_tables())
    assert all(line.startswith("ok  ") and "sha256 " in line for line in lines)


def test_data_show_unknown_table(run_cli, one_line_error):
    one_line_error(run_cli("data", "show", "nope"), prefix="rmpredict data: error:",
                   contains="unknown table 'nope'; use one of rm_results, models")
    assert "'reference'" in run_cli("data", "show", "nope").stderr


def test_data_show_negative_head(run_cli, one_line_error):
    one_line_error(run_cli("data", "show", "models", "--head", "-1"),
                   prefix="rmpredict data: error:", contains="--head must be >= 0")
