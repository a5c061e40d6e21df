"""``rmpredict fit`` and ``rmpredict predict`` end to end through subprocesses (small config)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rmpredict", *args], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


# ~4 min on 2 cores: a real stacked fit through the CLI (inner folds + three structures).
@pytest.mark.slow
def test_fit_then_predict(tmp_path):
    model = tmp_path / "m.nc"
    out = _cli("fit", "--draws", "100", "--tune", "100", "--chains", "2", "--seed", "3",
               "--output", str(model))
    assert out.returncode == 0, out.stderr
    assert model.exists() and "Diagnostics" in out.stdout and "sha256" in out.stdout
    # 100 draws cannot reach ESS >= 400: the warning is loud, on stderr.
    assert "warning: MCMC diagnostics failed" in out.stderr
    cands = tmp_path / "c.csv"
    pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-2b-it"]}).to_csv(
        cands, index=False)
    pred = tmp_path / "p.csv"
    out = _cli("predict", "--candidates", str(cands), "--model", str(model), "--method",
               "regression", "--ci-prob", "0.8", "--output", str(pred))
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(pred)
    assert list(frame.columns[:8]) == ["model", "method", "target", "mean", "sd", "lower",
                                       "upper", "ci_prob"]
    assert len(frame) == 2 * 5 and set(frame["method"]) == {"regression"}
    assert (frame["ci_prob"] == 0.8).all()
    assert frame["rmpredict_version"].notna().all() and frame["model_id"].nunique() == 1
    # the same inputs and seed give the same numbers
    again = tmp_path / "p2.csv"
    _cli("predict", "--candidates", str(cands), "--model", str(model), "--method",
         "regression", "--ci-prob", "0.8", "--output", str(again))
    pd.testing.assert_frame_equal(frame, pd.read_csv(again))


def test_predict_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"model": ["x/unknown"], "mmlu_pro": [43.0]}).to_csv(bad, index=False)
    out = _cli("predict", "--candidates", str(bad), "--model", str(tmp_path / "none.nc"))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert "model file not found" in out.stderr
    junk = tmp_path / "junk.nc"
    junk.write_text("junk")
    out = _cli("predict", "--candidates", str(bad), "--model", str(junk))
    assert out.returncode == 2 and "not a usable rmpredict model" in out.stderr
