"""One hierarchical model of RewardBench v1 and RewardBench 2 (category cells of both)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _hier_settings import SMALL

from rmpredict.datasets import public_training_rows
from rmpredict.datasets._schema import RB2_CATEGORIES
from rmpredict.decisions._trust import NoSkillWarning
from rmpredict.exceptions import ConvergenceWarning, InvalidParameterError
from rmpredict.models import HierarchicalRMPredictor, MeanBaseline
from rmpredict.models._base import as_results_frame
from rmpredict.models._hier_data import build_encoding, logit, model_features, training_arrays

CANDIDATES = pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it",
                                     "meta-llama/Llama-3.2-3B-Instruct"]})


@pytest.fixture(scope="module")
def both_table(reference_frame):
    table = pd.concat([reference_frame.assign(benchmark="rewardbench"),
                       public_training_rows(benchmark="all")], ignore_index=True)
    return as_results_frame(table)


@pytest.fixture(scope="module")
def both_model(both_table):
    model = HierarchicalRMPredictor(**SMALL, structures=("capability",), stacking="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 150 draws: see conftest
        model.fit(both_table)
    return model


def test_rows_observe_only_their_benchmark_cells(both_table, small_model):
    enc = build_encoding(both_table, 3)
    assert enc.benchmarks == ["rewardbench", "rewardbench2"]
    assert [c for b, c in enc.cells if b == "rewardbench2"] == list(RB2_CATEGORIES)
    arrays = training_arrays(both_table, enc, small_model.factor_model_, "capability")
    bench = both_table["benchmark"].to_numpy()
    v1, v2 = enc.cell_index("rewardbench"), enc.cell_index("rewardbench2")
    assert arrays.observed[bench == "rewardbench"][:, v1].all()
    assert not arrays.observed[bench == "rewardbench"][:, v2].any()
    assert arrays.observed[bench == "rewardbench2"][:, v2].all()
    assert not arrays.observed[bench == "rewardbench2"][:, v1].any()
    # An RM evaluated on both benchmarks is one grid row observed in all ten cells.
    weight = arrays.data["weight"]
    i = np.flatnonzero(bench == "rewardbench2")[0]
    row = arrays.rows[i]
    same = (both_table["model"] == both_table["model"].iloc[i]) & \
        (both_table["method"] == both_table["method"].iloc[i])
    np.testing.assert_array_equal(weight[row] > 0, arrays.observed[same.to_numpy()].any(0))
    acc = both_table.loc[i, list(RB2_CATEGORIES)].to_numpy(dtype=float)
    np.testing.assert_allclose(arrays.data["y"][row, v2], logit(acc))
    # Every training row's log likelihood is stored, one value per row.
    assert len(arrays.rows) == len(both_table)


def test_predicts_rewardbench2_targets(both_model):
    res = both_model.predict(CANDIDATES, method="public_leaderboard", benchmark="rewardbench2")
    assert res.targets == (*RB2_CATEGORIES, "score")
    assert res.benchmark == "rewardbench2" and res.provenance["benchmark"] == "rewardbench2"
    assert res.mean.shape == (3, 7)
    assert np.all((res.lower <= res.mean) & (res.mean <= res.upper))
    # The score is the mean of the six categories (its mean, exactly, up to the QMC points).
    np.testing.assert_allclose(res.mean[:, -1], res.mean[:, :6].mean(axis=1), atol=0.004)
    v1 = both_model.predict(CANDIDATES, method="regression")
    assert v1.targets[:4] == ("chat", "chat_hard", "safety", "reasoning")
    assert both_model.benchmarks_ == ("rewardbench", "rewardbench2")


def test_rewardbench2_moments_match_monte_carlo(both_model):
    member = both_model.members_["capability"]
    feats = model_features(CANDIDATES, both_model.encoding_, both_model.factor_model_)
    rows = np.arange(len(CANDIDATES))
    mean, cov = member.moments(feats, rows, "rewardbench2_paper", 300, "rewardbench2")
    draws = np.concatenate([member.predictive(feats, rows, "rewardbench2_paper", 300, seed,
                                              benchmark="rewardbench2")
                            for seed in range(20)])
    x = logit(draws[..., :6].astype(float))
    sd = x.std(axis=0)
    # 6,000 draws: a mean's Monte-Carlo SE is ~0.013 SD; the tolerance is ~5 SE.
    np.testing.assert_allclose(mean, x.mean(axis=0), atol=0.07 * sd.min())
    np.testing.assert_allclose(np.sqrt(np.diagonal(cov, axis1=1, axis2=2)), sd, rtol=0.07)


def test_a_new_recipe_is_wider_than_a_fitted_one(both_model):
    with pytest.warns(Warning, match="new RM recipe"):
        new = both_model.predict(CANDIDATES, method="new", benchmark="rewardbench2")
    seen = both_model.predict(CANDIDATES, method="rewardbench2_paper",
                              benchmark="rewardbench2")
    assert np.all((new.upper - new.lower)[:, -1] > (seen.upper - seen.lower)[:, -1])


def test_save_and_load_keep_both_benchmarks(both_model, tmp_path):
    path = tmp_path / "both.nc"
    both_model.save(path)
    loaded = HierarchicalRMPredictor.load(path)
    assert loaded.benchmarks_ == both_model.benchmarks_
    a = both_model.predict(CANDIDATES, method="public_leaderboard", benchmark="rewardbench2")
    b = loaded.predict(CANDIDATES, method="public_leaderboard", benchmark="rewardbench2")
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-6)
    np.testing.assert_allclose(a.upper, b.upper, rtol=1e-6)


def test_a_benchmark_not_fitted_is_refused(small_model):
    with pytest.raises(InvalidParameterError,
                       match=r"'benchmark' parameter .* must be one of \['rewardbench'\].*"
                             r"Got 'rewardbench2'.*fit on a table with rows of that benchmark"):
        small_model.predict(CANDIDATES, benchmark="rewardbench2")


def test_baselines_refuse_rewardbench2_rows(both_table):
    with pytest.raises(InvalidParameterError,
                       match=r"MeanBaseline learns from rewardbench results only; the table "
                             r"has \d+ rewardbench2 row"):
        MeanBaseline().fit(both_table)


def test_cli_predicts_and_ranks_rewardbench2_for_a_recipe(both_model, tmp_path, capsys):
    from rmpredict.cli import main

    path = tmp_path / "both.nc"
    both_model.save(path)
    cands = tmp_path / "cands.csv"
    CANDIDATES.to_csv(cands, index=False)
    out = tmp_path / "pred.csv"
    argv = ["predict", "--candidates", str(cands), "--model", str(path), "--benchmark",
            "rewardbench2", "--recipe", "rewardbench2_paper", "--output", str(out)]
    with warnings.catch_warnings():  # main() prints it on stderr, as the command line does
        warnings.simplefilter("always", NoSkillWarning)
        assert main(argv) == 0
    assert "no held-out evaluation on rewardbench2" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert set(table["target"]) == {*RB2_CATEGORIES, "score"}
    assert (table["benchmark"] == "rewardbench2").all()
    assert (table["method"] == "rewardbench2_paper").all()
    ranked = tmp_path / "rank.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("always", NoSkillWarning)
        assert main(["rank", "--candidates", str(cands), "--model", str(path), "--benchmark",
                     "rewardbench2", "--method", "rewardbench2_paper", "--target",
                     "factuality", "--output", str(ranked)]) == 0
    assert len(pd.read_csv(ranked)) == len(CANDIDATES)
    capsys.readouterr()
    # A RewardBench v1 target of a RewardBench 2 prediction: one line, exit code 2.
    assert main(["rank", "--candidates", str(cands), "--model", str(path), "--benchmark",
                 "rewardbench2", "--target", "chat"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--target 'chat' is not a target of --benchmark rewardbench2" in err


def test_known_results_are_read_from_the_predicted_benchmark(both_model, both_table):
    from rmpredict.decisions import attach_trust

    model_id = "google/gemma-2-2b-it"  # public RMs on both benchmarks, recipe group
    rows = both_table[(both_table["model"] == model_id)
                      & (both_table["method"] == "public_leaderboard")].set_index("benchmark")
    for bench in ("rewardbench", "rewardbench2"):
        res = both_model.predict([model_id], method="public_leaderboard", benchmark=bench)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skill notices
            attach_trust(res, both_model)
        flags = res.trust.rows
        assert bool(flags["known_result"].iloc[0])
        assert flags["observed_score"].iloc[0] == pytest.approx(rows.loc[bench, "score"])
