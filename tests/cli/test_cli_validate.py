"""``rmpredict validate FILE`` through a subprocess: exit 0 when valid, 2 with the report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "candidates.csv"

BAD_TABLES = {
    "no_model": ("mmlu_pro\n0.3\n", "no 'model' column"),
    "duplicate": ("model,mmlu_pro\na/x,0.3\na/x,0.4\n", "duplicate model at row 1"),
    "non_numeric": ("model,ifeval\na/x,high\n", "non-numeric value(s) 'high'"),
    "outside": ("model,bbh\na/x,-0.2\n", "outside [0, 1]"),
    "percent": ("model,MMLU-PRO\na/x,35.5\n", "looks like percent"),
    "negative_size": ("model,params_b,mmlu_pro\na/x,-7,0.3\n", "non-positive value(s) -7"),
    "stage": ("model,mmlu_pro,post_training\na/x,0.3,chat\n", "unknown stage(s) 'chat'"),
    "no_feature": ("model,post_training\nmy-org/private,instruct\n", "no usable feature"),
    "results_score": ("model,method,chat,chat_hard,safety,reasoning,score\n"
                      "a/x,regression,0.9,0.6,0.8,0.7,0.9\n", "differs from the mean"),
}


def test_valid_candidates(run_cli, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("model,MMLU-PRO,params_b\nmy-org/a,0.31,7\nmy-org/b,0.2,1.5\n",
                    encoding="utf-8")
    proc = run_cli("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{path}: valid candidates table, 2 row(s)")
    assert proc.stderr == ""


def test_valid_results_auto_kind(run_cli, tmp_path):
    path = tmp_path / "r.jsonl"
    pd.DataFrame({"model": ["a/x"], "method": ["regression"], "chat": [0.9], "chat_hard": [0.6],
                  "safety": [0.8], "reasoning": [0.7]}).to_json(path, orient="records",
                                                                 lines=True)
    proc = run_cli("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert "valid results table, 1 row(s)" in proc.stdout


def test_example_file_with_filled_values(run_cli):
    proc = run_cli("validate", EXAMPLE)
    assert proc.returncode == 0, proc.stderr
    n = len(pd.read_csv(EXAMPLE))
    assert f"valid candidates table, {n} row(s)" in proc.stdout
    assert f"filled {_n_filled()} value(s) from the bundled tables:" in proc.stdout
    assert "leaderboard_v2" in proc.stdout
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr


def _n_filled() -> int:
    from rmpredict.datasets import read_candidates

    return len(read_candidates(EXAMPLE).filled)


def test_no_fill_flag(run_cli):
    proc = run_cli("validate", EXAMPLE, "--no-fill")
    assert proc.returncode == 2
    assert "no usable feature" in proc.stderr


@pytest.mark.parametrize("name", sorted(BAD_TABLES))
def test_bad_tables_exit_2_with_report(run_cli, tmp_path, name):
    text, expected = BAD_TABLES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    proc = run_cli("validate", path)
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"rmpredict validate: error: 1 problem(s) in {path}:"
    assert len(lines) == 2 and lines[1].startswith("  - ") and expected in lines[1], lines


def test_full_report_lists_every_problem(run_cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("model,MMLU-PRO,ifeval,params_b,post_training\n"
                    "a/x,35,0.3,7,instruct\na/x,40,high,-1,chat\n", encoding="utf-8")
    proc = run_cli("validate", path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f"rmpredict validate: error: 5 problem(s) in {path}:"
    assert len(lines) == 6
    assert "divide the column by 100" in proc.stderr


def test_missing_file_is_one_line(run_cli, one_line_error):
    one_line_error(run_cli("validate", "missing.csv"), prefix="rmpredict validate: error:",
                   contains="file not found: 'missing.csv'; check the path")


def test_unknown_format_is_one_line(run_cli, one_line_error, tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_text("x", encoding="utf-8")
    one_line_error(run_cli("validate", path), prefix="rmpredict validate: error:",
                   contains="unknown table format '.xlsx'")
