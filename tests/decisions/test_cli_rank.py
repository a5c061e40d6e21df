"""``rmpredict rank`` / ``suggest`` formatting and writing, with a stub predictor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.cli import _rank
from rmpredict.cli._main import main
from rmpredict.decisions import rank_candidates


class _Stub:
    def __init__(self, result):
        self.result = result
        self.calls = []

    def predict(self, candidates, *, method="all", ci_prob=0.9):
        self.calls.append((candidates, method, ci_prob))
        return self.result


@pytest.fixture
def setup(make_result, monkeypatch, tmp_path):
    result = make_result(n=5, methods=("regression", "bradley_terry"))
    models = list(dict.fromkeys(result.index["model"]))
    cands = tmp_path / "cands.csv"
    pd.DataFrame({"model": models, "params_b": [1.0, 2.0, 4.0, 7.0, 8.0],
                  "mmlu_pro": 0.3}).to_csv(cands, index=False)
    stub = _Stub(result)
    seen = {}

    def load(model_path):
        seen["model_path"] = model_path
        return stub

    monkeypatch.setattr(_rank, "_load_predictor", load)
    return result, cands, stub, seen, tmp_path


def test_rank_prints_and_writes(setup, capsys):
    result, cands, stub, seen, tmp = setup
    out_csv, out_png = tmp / "out" / "rank.csv", tmp / "rank.png"
    code = main(["rank", "--candidates", str(cands), "--default", "org/model-2", "--k", "2",
                 "--output", str(out_csv), "--plot", str(out_png), "--ci-prob", "0.8"])
    assert code == 0
    assert seen["model_path"] is None
    assert stub.calls[0][1:] == ("all", 0.8)
    text = capsys.readouterr().out
    assert "== method regression (5 candidates) ==" in text
    assert "P(top 2)" in text and "P(>default)" in text
    written = pd.read_csv(out_csv)
    assert (written["model_id"] == "synthetic").all() and written["rmpredict_version"].notna().all()
    expected = rank_candidates(result, k=2, default="org/model-2").to_frame()
    pd.testing.assert_frame_equal(written[expected.columns], expected, check_dtype=False)
    for _, block in written.groupby("method"):
        assert block["p_best"].sum() == pytest.approx(1.0)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp.glob(".*.tmp"))


def test_rank_size_groups_and_model_flag(setup, capsys):
    _, cands, _, seen, _ = setup
    assert main(["rank", "--candidates", str(cands), "--size-groups", "--model", "m.nc"]) == 0
    assert seen["model_path"] == "m.nc"
    text = capsys.readouterr().out
    assert "size group <3B (2 candidates)" in text
    assert "size group >=6B (2 candidates)" in text


def test_rank_errors_are_one_line(setup, capsys):
    _, cands, _, _, tmp = setup
    assert main(["rank", "--candidates", str(cands), "--default", "nope/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not among the candidates" in err
    assert main(["rank", "--candidates", str(cands), "--plot", str(tmp / "p.xyz")]) == 2
    assert "unknown image format" in capsys.readouterr().err
    assert not (tmp / "p.xyz").exists()


def test_suggest(setup, capsys):
    result, cands, stub, _, tmp = setup
    out = tmp / "suggest.csv"
    assert main(["suggest", "--candidates", str(cands), "--budget", "2", "--method",
                 "regression", "--output", str(out), "--noise-sd", "1.0"]) == 0
    assert stub.calls[0][1] == "regression"
    text = capsys.readouterr().out
    assert "method regression: train" in text and "noise sd 1.0 pt" in text
    frame = pd.read_csv(out)
    assert frame["chosen"].sum() == 2
    assert np.all(frame["kg"] >= 0)
    assert frame["rmpredict_version"].notna().all()
    assert main(["suggest", "--candidates", str(cands), "--budget", "0"]) == 2


def test_load_predictor_dispatch(monkeypatch):
    """--model loads a saved HierarchicalRMPredictor; no --model loads the newest release."""
    import sys
    import types

    import rmpredict.models

    class Fake:
        @classmethod
        def load(cls, path):
            return ("saved", path)

    monkeypatch.setattr(rmpredict.models, "HierarchicalRMPredictor", Fake, raising=False)
    release = types.ModuleType("rmpredict.release")
    release.load_release = lambda: ("release", None)
    monkeypatch.setitem(sys.modules, "rmpredict.release", release)
    assert _rank._load_predictor("fit.nc") == ("saved", "fit.nc")
    assert _rank._load_predictor(None) == ("release", None)
