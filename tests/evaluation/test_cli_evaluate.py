"""``rmpredict evaluate`` end to end on the baselines."""

from __future__ import annotations

import json

import pytest

from rmpredict.cli._main import main
from rmpredict.models._base import as_results_frame


def test_evaluate_writes_metrics_json(tmp_path, capsys):
    out = tmp_path / "ev"
    rc = main(["evaluate", "--predictors", "ridge,ols,mean", "--output", str(out),
               "--seed", "3"])
    assert rc == 0
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["protocol"] == "leave-one-publisher-out"
    assert list(doc["results"]) == ["ridge", "ols", "mean"]
    assert set(doc["results"]["ols"]) == {"regression", "bradley_terry"}
    assert doc["results"]["ols"]["regression"]["n"] == 34
    assert (out / "report.md").exists() and (out / "calibration.png").exists()
    captured = capsys.readouterr()
    assert "ols" in captured.out and "MAE" in captured.out


def test_evaluate_user_results_table(tmp_path):
    ref = as_results_frame(None)
    small = ref[ref["publisher"].isin(["Alibaba", "Google", "Meta"])]
    path = tmp_path / "results.csv"
    small.to_csv(path, index=False)
    rc = main(["evaluate", "--data", str(path), "--predictors", "mean",
               "--output", str(tmp_path / "o")])
    assert rc == 0
    doc = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert len(doc["folds"]) == 3
    assert sum(r["n"] for r in doc["results"]["mean"].values()) == len(small)


@pytest.mark.parametrize("argv, match", [
    (["--predictors", "mean,lasso"], "lasso"),
    (["--predictors", "mean", "--ci-prob", "2"], "ci_prob"),
    (["--predictors", "mean", "--data", "no/such/file.csv"], "not found"),
])
def test_evaluate_errors_are_one_line(tmp_path, capsys, argv, match):
    rc = main(["evaluate", "--output", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and match in err
    assert not (tmp_path / "x").exists()


def test_sampler_options_are_checked(tmp_path, capsys):
    # --draws only matters for bayes; a baselines-only run accepts and ignores it
    rc = main(["evaluate", "--predictors", "mean", "--draws", "10",
               "--output", str(tmp_path / "y")])
    assert rc == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse usage errors exit directly
        main(["evaluate", "--predictors", "mean", "--draws", "0"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "positive integer" in err
