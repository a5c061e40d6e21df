"""Decision plots return Figures (never shown) and their compute twins give the drawn data."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rmpredict.decisions import rank_candidates
from rmpredict.exceptions import InvalidParameterError
from rmpredict.plots import (
    calibration_table,
    forest_table,
    p_best_table,
    plot_calibration,
    plot_forest,
    plot_p_best,
)


def test_forest_table_and_plot(make_result):
    res = make_result(n=6, methods=("regression", "bradley_terry"))
    table = forest_table(res, method="regression")
    assert table["method"].eq("regression").all()
    assert (np.diff(table["mean"].to_numpy()) <= 0).all()
    assert table["order"].tolist() == list(range(1, 7))
    assert (table["lower"] <= table["mean"]).all() and (table["mean"] <= table["upper"]).all()
    fig = plot_forest(res)
    assert isinstance(fig, Figure)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    top = labels[int(np.argmax(ax.get_yticks()))]
    # top of the panel = highest mean
    assert top == table["model"].iloc[0]
    assert "matplotlib.pyplot" not in sys.modules or not _pyplot_figures()


def _pyplot_figures():
    import matplotlib.pyplot as plt

    return plt.get_fignums()


def test_forest_from_ranking_with_groups(make_result):
    res = make_result(n=6)
    sizes = {f"org/model-{i}": s for i, s in enumerate([1, 2, 4, 5, 7, 8])}
    ranking = rank_candidates(res, size_groups=True, sizes=sizes)
    table = forest_table(ranking)
    assert list(dict.fromkeys(table["group"])) == ["<3B", "3-6B", ">=6B"]
    assert table.groupby("group")["order"].max().tolist() == [2, 2, 2]
    fig = plot_forest(ranking, method="regression")
    assert any("[<3B]" in t.get_text() for t in fig.axes[0].get_yticklabels())


def test_p_best(make_result):
    res = make_result(n=5, methods=("regression", "bradley_terry"))
    ranking = rank_candidates(res, k=2)
    table = p_best_table(ranking, method="bradley_terry")
    assert table["p_best"].sum() == pytest.approx(1.0)
    fig = Figure()
    ax = fig.subplots()
    assert plot_p_best(ranking, method="bradley_terry", ax=ax) is fig
    widths = sorted(p.get_width() for p in ax.patches)
    np.testing.assert_allclose(sorted(widths),
                               sorted([*table["p_best"], *table["p_top_k"]]))
    with pytest.raises(InvalidParameterError, match="one panel"):
        plot_p_best(ranking, ax=ax)
    with pytest.raises(InvalidParameterError, match="method"):
        p_best_table(ranking, method="dpo")
    with pytest.raises(InvalidParameterError, match="RankingResult"):
        plot_p_best(res)


def test_calibration_matches_manual_count(make_result, rng):
    res = make_result(n=30, methods=("regression", "bradley_terry"), n_draws=1000)
    # Observations drawn from the predictive itself: coverage should be near nominal.
    pick = rng.integers(0, res.draws.shape[0], len(res.index))
    truth = res.draws[pick, np.arange(len(res.index)), :]
    observed = pd.concat([res.index[["model", "method"]],
                          pd.DataFrame(truth, columns=list(res.targets))], axis=1)
    observed = pd.concat([observed, pd.DataFrame({"model": ["unknown/x"], "method": ["sft"],
                                                  "score": [0.5]})], ignore_index=True)
    table = calibration_table(res, observed, targets=["score", "safety"], probs=[0.5, 0.9])
    assert len(table) == 4 and set(table["n"]) == {60}
    for _, row in table.iterrows():
        lo, hi = res.interval(row["nominal"])
        col = res.target(row["target"])
        manual = sum(lo[i, col] <= truth[i, col] <= hi[i, col] for i in range(60))
        assert row["covered"] == manual
        assert row["coverage"] == pytest.approx(manual / 60)
        assert abs(row["coverage"] - row["nominal"]) < 4 * row["se"] + 0.02
    fig = plot_calibration(res, observed)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].get_lines()) == 1 + len(res.targets)  # diagonal + one per target


def test_calibration_gaussian_fallback_and_errors(make_result):
    res = make_result(n=5)
    observed = res.to_wide("mean")
    no_draws = make_result(n=5)
    no_draws.draws = None
    table = calibration_table(no_draws, no_draws.to_wide("mean"), targets=["score"])
    assert (table["coverage"] == 1.0).all()  # the mean lies in every central interval
    with pytest.raises(InvalidParameterError, match="above 1"):
        calibration_table(res, observed.assign(score=observed["score"] * 100))
    with pytest.raises(InvalidParameterError, match="No \\(model, method\\)"):
        calibration_table(res, observed.assign(method="other"))
    with pytest.raises(InvalidParameterError, match="lacks column"):
        calibration_table(res, observed.drop(columns="method"))
    no_draws.sd[:] = np.nan
    with pytest.raises(InvalidParameterError, match="no uncertainty"):
        calibration_table(no_draws, observed)
