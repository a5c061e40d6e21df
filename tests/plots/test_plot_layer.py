"""One plotting layer: every plot is a pure function of the ``*_table`` it draws, one style."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import rmpredict.datadist
import rmpredict.evaluation
import rmpredict.plots
from rmpredict.datadist import distance_matrix
from rmpredict.evaluation import leave_one_publisher_out
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models import MeanBaseline, OLSBaseline, as_results_frame
from rmpredict.plots import (
    calibration_table,
    coverage_at_k_table,
    distance_heatmap_table,
    plot_calibration,
    plot_coverage_at_k,
    plot_distance_heatmap,
    plot_predicted_vs_observed,
    predicted_vs_observed_table,
)
from rmpredict.plots._calibration import CALIBRATION_COLUMNS


@pytest.fixture(scope="module")
def evaluation():
    return leave_one_publisher_out({"ols": OLSBaseline(), "mean": MeanBaseline()},
                                   as_results_frame(None), progress=False)


def _scores(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"d{i}" for i in range(40)], "domain": ["code", "books"] * 20,
                         "n_tokens": 100, "truncated": False,
                         "mean_logprob": rng.normal(-3 - seed, 1, 40)})


def _is_pure(fig) -> bool:
    """A Figure made without pyplot: no figure manager, nothing registered to close."""
    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        if plt.get_fignums():
            return False
    return isinstance(fig, Figure) and fig.canvas.manager is None


def test_old_import_paths_are_the_one_implementation():
    for name in ("plot_calibration", "plot_coverage_at_k", "plot_predicted_vs_observed"):
        assert getattr(rmpredict.evaluation, name) is getattr(rmpredict.plots, name)
    assert rmpredict.datadist.plot_distance_heatmap is rmpredict.plots.plot_distance_heatmap
    with pytest.raises(ModuleNotFoundError):
        __import__("rmpredict.evaluation._plots")  # no second calibration_table anywhere


def test_evaluation_calibration_table_counts_pit_inside_central_intervals(evaluation):
    table = calibration_table(evaluation, probs=[0.5, 0.9])
    assert tuple(table.columns) == CALIBRATION_COLUMNS
    assert set(table["predictor"]) == {"ols"}  # the mean baseline has no intervals
    assert set(table["target"]) == {"categories"}
    pred = evaluation.predictions
    for row in table.itertuples():
        cells = pred[(pred["predictor"] == row.predictor) & (pred["method"] == row.method)
                     & pred["target"].isin(["chat", "chat_hard", "safety", "reasoning"])]
        pit = cells["pit"].dropna().to_numpy()
        assert row.n == len(pit)
        assert row.covered == int(np.sum(np.abs(pit - 0.5) <= row.nominal / 2))
        assert row.se == pytest.approx(np.sqrt(row.nominal * (1 - row.nominal) / row.n))
    with pytest.raises(InvalidParameterError, match="without 'observed'"):
        calibration_table(evaluation, pred)
    with pytest.raises(InvalidParameterError, match="PredictionResult"):
        calibration_table(pred)


def test_evaluation_calibration_plot_draws_its_table(evaluation):
    table = calibration_table(evaluation)
    fig = plot_calibration(evaluation)
    assert _is_pure(fig) and len(fig.axes) == len(evaluation.methods)
    for axis, method in zip(fig.axes, evaluation.methods):
        drawn = {line.get_label(): line.get_ydata() for line in axis.get_lines()}
        want = table[(table["method"] == method) & (table["predictor"] == "ols")]
        np.testing.assert_allclose(drawn["ols"], want["coverage"])
        assert "held-out" in axis.get_title()


def test_prediction_calibration_table_has_the_same_columns(make_result):
    res = make_result(n=6)
    table = calibration_table(res, res.to_wide("mean"), targets=["score"], probs=[0.5])
    assert tuple(table.columns) == CALIBRATION_COLUMNS
    assert table[["predictor", "method", "target"]].iloc[0].tolist() == ["synthetic", "all",
                                                                         "score"]


def test_predicted_vs_observed_draws_its_table(evaluation):
    table = predicted_vs_observed_table(evaluation)
    assert len(table) == len(evaluation.predictions.query("target == 'score'"))
    fig = plot_predicted_vs_observed(evaluation)
    assert _is_pure(fig)
    n_methods, n_predictors = len(evaluation.methods), len(evaluation.predictors)
    assert len(fig.axes) == n_methods * n_predictors
    first = table[(table["method"] == evaluation.methods[0])
                  & (table["predictor"] == evaluation.predictors[0])]
    points = fig.axes[0].collections[-1].get_offsets()
    np.testing.assert_allclose(points[:, 0], 100 * first["observed"])
    np.testing.assert_allclose(points[:, 1], 100 * first["mean"])


def test_coverage_at_k_draws_its_table(evaluation):
    table = coverage_at_k_table(evaluation, max_k=8)
    pd.testing.assert_frame_equal(table, evaluation.coverage_curve(range(1, 9)))
    fig = plot_coverage_at_k(evaluation, max_k=8)
    assert _is_pure(fig)
    line = fig.axes[0].get_lines()[0]
    want = table[(table["method"] == evaluation.methods[0])
                 & (table["predictor"] == evaluation.predictors[0])]
    np.testing.assert_allclose(line.get_ydata(), want["coverage"])


def test_distance_heatmap_is_pure_and_draws_its_table():
    matrix = distance_matrix({f"m{i}": _scores(i) for i in range(3)}, bins=5)
    table = distance_heatmap_table(matrix)
    assert len(table) == 9 and (table.query("row == column")["distance"] == 0).all()
    fig = plot_distance_heatmap(matrix)
    assert _is_pure(fig)  # it used to be made (and left open) through pyplot
    texts = sorted(float(t.get_text()) for t in fig.axes[0].texts)
    np.testing.assert_allclose(texts, sorted(np.round(table["distance"], 2)))
    with pytest.raises(InvalidParameterError, match="square DataFrame"):
        distance_heatmap_table(matrix.iloc[:2])
