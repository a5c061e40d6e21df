"""Summaries, features and distances against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from rmpredict.datadist import (
    distance_matrices,
    distance_matrix,
    features_table,
    js_distance,
    normalize_scores,
    plot_distance_heatmap,
    score_histogram,
    summarize_scores,
)
from rmpredict.datasets import is_datadist_column
from rmpredict.exceptions import DataValidationError, InvalidParameterError


def _scores(values: dict[str, list[float]], name: str) -> pd.DataFrame:
    rows = [{"id": f"{d}-{i}", "domain": d, "n_tokens": 10, "truncated": False,
             "mean_logprob": v} for d, vs in values.items() for i, v in enumerate(vs)]
    frame = pd.DataFrame(rows)
    frame.attrs["rmpredict"] = {"model_id": name}
    return frame


A = _scores({"code": [-1.0, -2.0, -3.0, -4.0, -5.0], "books": [-2.0, -4.0]}, "A")
B = _scores({"code": [-2.0, -2.0, -2.0, -2.0, -2.0], "books": [-1.0, -1.0]}, "B")


def test_summary_hand_computed():
    s = summarize_scores(A).set_index("domain")
    assert list(s.index) == ["books", "code", "all"]
    assert s.loc["code", "mean"] == pytest.approx(-3.0)
    assert s.loc["code", "std"] == pytest.approx(math.sqrt(2.5))
    # linear interpolation on sorted [-5..-1]: q25 = -4, q05 = -5 + 0.2 = -4.8
    assert s.loc["code", "q25"] == pytest.approx(-4.0)
    assert s.loc["code", "q05"] == pytest.approx(-4.8)
    assert s.loc["code", "q50"] == pytest.approx(-3.0)
    assert s.loc["books", "mean"] == pytest.approx(-3.0)
    assert s.loc["all", "n"] == 7 and s.loc["all", "mean"] == pytest.approx(-21 / 7)


def test_histogram_fixed_bins_clip_outliers():
    h = score_histogram(A, bins=[-4.5, -2.5, 0.0])
    code = h[h["domain"] == "code"]
    # -5 is below the first edge and is counted in the first bin with -4 and -3.
    assert code["count"].tolist() == [3, 2]
    assert code["fraction"].sum() == pytest.approx(1.0)
    with pytest.raises(InvalidParameterError):
        score_histogram(A, bins=[0.0, -1.0])


def test_normalisation_is_per_document_difference():
    n = normalize_scores(A, B)
    assert n["mean_logprob"].tolist() == [1.0, 0.0, -1.0, -2.0, -3.0, -1.0, -3.0]
    with pytest.raises(DataValidationError, match="no reference score"):
        normalize_scores(A, B.iloc[:3])


def test_features_table_one_row_per_model():
    t = features_table([A, B])
    assert t["model"].tolist() == ["A", "B"]
    assert [c for c in t.columns if is_datadist_column(c)] == ["datadist_books",
                                                               "datadist_code"]
    assert t.loc[0, "datadist_code"] == pytest.approx(-3.0)
    assert t.loc[1, "datadist_books"] == pytest.approx(-1.0)
    assert t.attrs["normalized_by"] is None
    tn = features_table({"A": A}, reference=B, quantiles=True)
    assert tn.loc[0, "datadist_code"] == pytest.approx(-1.0)  # mean of 1, 0, -1, -2, -3
    assert tn.loc[0, "datadist_code_q50"] == pytest.approx(-1.0)
    assert tn.attrs["normalized_by"] == "B"


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [([1, 0], [0, 1], 1.0), ([1, 1], [1, 1], 0.0),
     # M = (.75, .25); KL(p|M) = .5 log2(2/3) + .5 log2(2) = 0.2075187; KL(q|M) = log2(4/3)
     ([0.5, 0.5], [1.0, 0.0], math.sqrt((0.2075187496 + 0.4150374993) / 2))],
)
def test_js_distance_hand_values(p, q, expected):
    assert js_distance(p, q) == pytest.approx(expected, abs=1e-9)


def test_js_distance_matches_scipy(rng):
    for _ in range(20):
        p, q = rng.random(12) * (rng.random(12) > 0.3), rng.random(12)
        assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    with pytest.raises(InvalidParameterError):
        js_distance([1, 0], [1, 0, 0])


def test_distance_matrix_hand_computed():
    # Explicit edges: A's code scores fall 2/3 per bin, B's all in the middle bin.
    mat = distance_matrix([A, B], domain="code", bins=[-6.0, -3.5, -1.5, 0.0])
    # A code: [-5,-4] | [-3,-2] | [-1] -> (2,2,1)/5; B: (0,5,0)/5
    want = jensenshannon([2, 2, 1], [0, 5, 0], base=2)
    assert mat.loc["A", "B"] == pytest.approx(want) and mat.loc["B", "A"] == mat.loc["A", "B"]
    assert np.diag(mat.to_numpy()).tolist() == [0.0, 0.0]
    same = distance_matrix({"A": A, "A2": A.copy()}, bins=10)
    assert same.loc["A", "A2"] == 0.0
    all_ = distance_matrices([A, B], bins=5)
    assert set(all_) == {"books", "code", "all"}
    assert all(0 <= m.to_numpy().max() <= 1 for m in all_.values())
    with pytest.raises(InvalidParameterError, match="known domains"):
        distance_matrix([A, B], domain="exam")


def test_heatmap_returns_figure():
    from matplotlib.figure import Figure

    fig = plot_distance_heatmap(distance_matrix([A, B], bins=5))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # heat map + colour bar
