"""``rmpredict rank`` / ``suggest``: printing, trust flags, methods, outputs written together."""

from __future__ import annotations

import io
import os
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from rmpredict.cli import _rank
from rmpredict.cli._main import main
from rmpredict.decisions import NoSkillWarning, attach_trust, rank_candidates


@pytest.fixture
def setup(stub_predictor, monkeypatch, tmp_path):
    predictor, result = stub_predictor(methods=("regression", "bradley_terry"))
    models = list(dict.fromkeys(result.index["model"]))
    cands = tmp_path / "cands.csv"
    pd.DataFrame({"model": models, "params_b": [1.0, 2.0, 4.0, 7.0, 8.0],
                  "mmlu_pro": 0.3}).to_csv(cands, index=False)
    seen = {}

    def load(model_path):
        seen["model_path"] = model_path
        return predictor

    monkeypatch.setattr(_rank, "_load_predictor", load)
    return result, cands, predictor, seen, tmp_path


def _run(argv):
    """main(argv) with NoSkillWarning shown, as the command line shows it (on stderr).

    Inside ``main`` warnings are printed as ``rmpredict CMD: warning: ...`` lines; the test
    configuration would turn them into errors first, so they are let through here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("always", NoSkillWarning)
        return main(argv)


def test_rank_prints_and_writes(setup, capsys):
    result, cands, stub, seen, tmp = setup
    out_csv, out_png = tmp / "out" / "rank.csv", tmp / "rank.png"
    code = _run(["rank", "--candidates", str(cands), "--default", "org/model-2", "--k", "2",
                 "--output", str(out_csv), "--plot", str(out_png), "--ci-prob", "0.8"])
    assert code == 0
    assert seen["model_path"] is None
    assert stub.calls[0][1:] == ("all", 0.8)
    text = capsys.readouterr().out
    assert "== method regression (5 candidates) ==" in text
    assert "P(top 2)" in text and "P(>default)" in text
    written = pd.read_csv(out_csv)
    assert (written["model_id"] == "synthetic").all() and written["rmpredict_version"].notna().all()
    assert (written["release"] == "stub@1").all() and (written["model_sha256"] == "ab" * 32).all()
    with pytest.warns(NoSkillWarning):
        expected = rank_candidates(result, k=2, default="org/model-2", predictor=stub,
                                   candidates=pd.read_csv(cands)).to_frame()
    numeric = [c for c in expected.columns if pd.api.types.is_float_dtype(expected[c])]
    pd.testing.assert_frame_equal(written[numeric], expected[numeric], check_dtype=False)
    assert written["model"].tolist() == expected["model"].tolist()
    assert written["skill"].tolist() == expected["skill"].tolist()
    for _, block in written.groupby("method"):
        assert block["p_best"].sum() == pytest.approx(1.0)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp.glob(".*.tmp")) and not list((tmp / "out").glob(".*.tmp"))


def test_rank_leads_with_the_skilled_block_and_flags_rows(setup, capsys):
    _, cands, _, _, _ = setup
    assert _run(["rank", "--candidates", str(cands)]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert text.index("== method regression") < text.index("== method bradley_terry")
    assert "Trust: held-out skill demonstrated for regression; not for bradley_terry" in text
    bt = text.split("== method bradley_terry (5 candidates) ==\n")[1].splitlines()[0]
    assert bt.startswith("caveat: Bradley–Terry: benchmarks have not predicted "
                         "out-of-publisher accuracy better than the mean")
    row = next(line for line in text.splitlines() if "org/model-1" in line)
    assert "known" in row and "80.0" in row  # observed value beside the prediction
    warned = [line for line in captured.err.splitlines() if "warning: Bradley–Terry" in line]
    assert len(warned) == 1 and warned[0].startswith("rmpredict rank: warning: Bradley–Terry: "
                                                     "benchmarks have not predicted")


def test_rank_size_groups_and_model_flag(setup, capsys):
    _, cands, _, seen, _ = setup
    assert _run(["rank", "--candidates", str(cands), "--size-groups", "--model", "m.nc"]) == 0
    assert seen["model_path"] == "m.nc"
    text = capsys.readouterr().out
    assert "size group <3B (2 candidates)" in text
    assert "size group >=6B (2 candidates)" in text


def test_rank_top_prints_n_rows(setup, capsys):
    _, cands, _, _, tmp = setup
    out = tmp / "all.csv"
    assert _run(["rank", "--candidates", str(cands), "--top", "2", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    block = text.split("== method regression (5 candidates) ==\n")[1].split("\n\n")[0]
    assert len([line for line in block.splitlines() if "org/model-" in line]) == 2
    assert "... 3 more (all rows in --output" in block
    assert len(pd.read_csv(out)) == 10
    assert main(["rank", "--candidates", str(cands), "--top", "-1"]) == 2


def test_rank_and_suggest_accept_every_method_the_model_knows(stub_predictor, monkeypatch,
                                                              tmp_path, capsys):
    predictor, _ = stub_predictor(methods=("regression", "my_recipe"), with_release=False)
    predictor.methods_ = ("bradley_terry", "my_recipe", "regression")
    monkeypatch.setattr(_rank, "_load_predictor", lambda path: predictor)
    cands = tmp_path / "c.csv"
    pd.DataFrame({"model": [f"org/model-{i}" for i in range(5)], "mmlu_pro": 0.3}).to_csv(
        cands, index=False)
    assert _run(["rank", "--candidates", str(cands), "--method", "my_recipe"]) == 0
    assert predictor.calls[-1][1] == "my_recipe"
    err = capsys.readouterr().err
    assert err.count("rmpredict rank: warning:") == 1 and "my_recipe: skill unknown" in err
    assert _run(["suggest", "--candidates", str(cands), "--method", "my_recipe",
                 "--budget", "1"]) == 0
    capsys.readouterr()
    for cmd in (["rank"], ["suggest", "--budget", "1"]):
        assert main([*cmd, "--candidates", str(cands), "--method", "my_recipie"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "unknown --method 'my_recipie'" in err and "did you mean 'my_recipe'?" in err
        assert "'bradley_terry', 'my_recipe', 'regression'" in err


def test_rank_errors_are_one_line(setup, capsys):
    _, cands, _, _, tmp = setup
    assert _run(["rank", "--candidates", str(cands), "--default", "nope/x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not among the candidates" in err
    assert main(["rank", "--candidates", str(cands), "--plot", str(tmp / "p.xyz")]) == 2
    assert "unknown image format" in capsys.readouterr().err
    assert not (tmp / "p.xyz").exists()
    assert main(["rank", "--candidates", str(cands), "--output", str(tmp / "o.txt")]) == 2
    assert "unknown table format" in capsys.readouterr().err


def test_unwritable_plot_writes_no_csv(setup, capsys):
    """`rank --plot <unwritable> --output o.csv` fails before predicting and leaves no CSV."""
    _, cands, stub, _, tmp = setup
    blocker = tmp / "a_file"
    blocker.write_text("x")
    out = tmp / "o.csv"
    assert main(["rank", "--candidates", str(cands), "--plot", str(blocker / "x.png"),
                 "--output", str(out)]) == 2
    assert "--plot" in capsys.readouterr().err
    assert not out.exists() and not stub.calls


def test_failing_plot_render_writes_no_csv(setup, monkeypatch, capsys):
    _, cands, _, _, tmp = setup
    out = tmp / "o.csv"

    def broken(*args, **kwargs):
        raise PermissionError("cannot render")

    monkeypatch.setattr(_rank, "render_ranking_plot", broken)
    assert _run(["rank", "--candidates", str(cands), "--plot", str(tmp / "x.png"),
                 "--output", str(out)]) == 2
    assert not out.exists() and not (tmp / "x.png").exists()
    assert not list(tmp.glob(".*.tmp"))
    assert capsys.readouterr().out == ""  # nothing printed either


def test_write_together_is_all_or_nothing(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("x")
    first = tmp_path / "one.csv"
    with pytest.raises((OSError, ValueError)):
        _rank.write_together([(str(first), b"a,b\n"), (str(blocker / "two.png"), b"png")])
    assert not first.exists() and not list(tmp_path.glob(".*.tmp"))
    _rank.write_together([(str(first), b"a,b\n"), (str(tmp_path / "two.png"), b"png")])
    assert first.read_bytes() == b"a,b\n" and (tmp_path / "two.png").read_bytes() == b"png"


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root can write into read-only folders")
def test_read_only_folder_is_refused_up_front(setup, capsys):
    _, cands, stub, _, tmp = setup
    ro = tmp / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert main(["rank", "--candidates", str(cands), "--plot", str(ro / "x.png"),
                     "--output", str(tmp / "o.csv")]) == 2
    finally:
        ro.chmod(0o700)
    assert not (tmp / "o.csv").exists() and not stub.calls


def test_plot_carries_provenance_and_marks_default(setup):
    from PIL import Image

    from rmpredict.plots._ranking_plots import forest_table, provenance_footer

    result, _, stub, _, tmp = setup
    attach_trust(result, stub)
    with pytest.warns(NoSkillWarning):
        ranking = rank_candidates(result, default="org/model-3")
    png = _rank.render_ranking_plot(ranking, "png")
    info = Image.open(io.BytesIO(png)).info
    assert info["rmpredict_release"] == "stub@1"
    assert info["rmpredict_model_sha256"] == "ab" * 32
    assert '"release": "stub@1"' in info["Description"]
    svg = _rank.render_ranking_plot(ranking, "svg").decode()
    assert "ab" * 32 in svg
    footer = provenance_footer(ranking.provenance)
    assert "release stub@1" in footer and f"model sha256 {'ab' * 8}" in footer
    table = forest_table(ranking)
    assert table.loc[table["is_default"], "model"].unique().tolist() == ["org/model-3"]
    from rmpredict.plots import plot_forest, plot_p_best

    for fig in (plot_forest(ranking, method="regression", max_rows=2),
                plot_p_best(ranking, method="regression", max_rows=2)):
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert "org/model-3 (default)" in labels  # drawn even below the cut


def test_render_adds_footer_text(setup, monkeypatch):
    result, _, stub, _, _ = setup
    attach_trust(result, stub)
    with pytest.warns(NoSkillWarning):
        ranking = rank_candidates(result)
    texts = []
    import matplotlib.figure

    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        texts.extend(t.get_text() for t in self.texts)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    _rank.render_ranking_plot(ranking, "png")
    assert any(t.startswith("rmpredict ") and "release stub@1" in t for t in texts)


def test_broken_pipe_is_quiet(setup, monkeypatch):
    _, cands, _, _, _ = setup

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            raise io.UnsupportedOperation("no fileno")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert _run(["rank", "--candidates", str(cands)]) == 0


def test_suggest(setup, capsys):
    _, cands, stub, _, tmp = setup
    out = tmp / "suggest.csv"
    assert _run(["suggest", "--candidates", str(cands), "--budget", "2", "--output",
                 str(out), "--noise-sd", "1.0"]) == 0
    captured = capsys.readouterr()
    assert "the suggestion is mostly prior" in captured.err
    text = captured.out
    assert "method regression: train" in text and "noise sd 1.0 pt" in text
    assert text.index("method regression: train") < text.index("method bradley_terry: train")
    assert "not suggested, result already known (observed): org/model-1 80.0" in text
    frame = pd.read_csv(out)
    assert frame.groupby("method")["chosen"].sum().tolist() == [2, 2]
    assert not frame.loc[frame["model"] == "org/model-1", "chosen"].any()
    assert np.all(frame["kg"].dropna() >= 0)
    assert frame["rmpredict_version"].notna().all() and (frame["release"] == "stub@1").all()
    assert _run(["suggest", "--candidates", str(cands), "--budget", "1", "--method",
                 "regression", "--include-known"]) == 0
    assert stub.calls[-1][1] == "regression"
    assert main(["suggest", "--candidates", str(cands), "--budget", "0"]) == 2


def test_suggest_says_when_it_prescreens(setup, capsys):
    _, cands, _, _, _ = setup
    assert main(["suggest", "--candidates", str(cands), "--budget", "1", "--method",
                 "regression", "--shortlist", "2"]) == 0
    text = capsys.readouterr().out
    assert "pre-screened 5 candidates by expected improvement; exact knowledge gradient on a " \
           "shortlist of" in text


def test_load_predictor_dispatch(monkeypatch):
    """--model loads a saved HierarchicalRMPredictor; no --model loads the newest release."""
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


def test_predict_carries_trust_flags_and_names_methods_without_skill(setup, capsys):
    """``rmpredict predict`` writes each row's skill/known-result flags and the release
    columns, and warns once (one line) about the method without demonstrated skill."""
    result, cands, stub, seen, tmp = setup
    out_csv = tmp / "pred.csv"
    code = _run(["predict", "--candidates", str(cands), "--output", str(out_csv)])
    assert code == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "warning:" in line]
    assert len(warned) == 1 and "Bradley–Terry" in warned[0] and "regression" not in warned[0]
    written = pd.read_csv(out_csv)
    flags = written.groupby("method")["skill"].unique()
    assert flags["regression"].tolist() == ["demonstrated"]
    assert flags["bradley_terry"].tolist() == ["none"]
    assert (written["release"] == "stub@1").all() and (written["model_sha256"] == "ab" * 32).all()
    assert {"known_result", "observed", "extrapolated", "new_recipe"} <= set(written.columns)
    assert list(written.columns[:8]) == ["model", "method", "target", "mean", "sd", "lower",
                                         "upper", "ci_prob"]


def test_cli_benchmark_and_target_choices_follow_the_schema():
    from rmpredict.cli import _rank
    from rmpredict.datasets import RESULT_BENCHMARKS

    assert _rank.BENCHMARK_CHOICES == tuple(RESULT_BENCHMARKS)
    assert set(_rank.TARGET_CHOICES) == {"score", *(c for cats in RESULT_BENCHMARKS.values()
                                                    for c in cats)}
