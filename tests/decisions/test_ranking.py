"""rank_candidates: probabilities and regrets checked against brute-force loops on the draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.decisions import rank_candidates, size_group
from rmpredict.exceptions import InvalidParameterError


def _brute(y: np.ndarray, k: int, default: int | None):
    """Loop-by-loop reference: ranks with ties to the lower index, per draw."""
    n_draws, n = y.shape
    p_best, p_top, e_rank, regret = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    p_def = np.zeros(n)
    for s in range(n_draws):
        row = y[s]
        best = max(row)
        for i in range(n):
            rank = 1 + sum(1 for j in range(n) if row[j] > row[i] or (row[j] == row[i] and j < i))
            p_best[i] += rank == 1
            p_top[i] += rank <= k
            e_rank[i] += rank
            regret[i] += best - row[i]
            if default is not None:
                p_def[i] += row[i] > row[default]
    return p_best / n_draws, p_top / n_draws, e_rank / n_draws, regret / n_draws, p_def / n_draws


@pytest.mark.parametrize("ties", [False, True])
def test_matches_brute_force(make_result, ties):
    res = make_result(n=6, methods=("regression", "bradley_terry"), n_draws=400, ties=ties)
    ranking = rank_candidates(res, k=2, default="org/model-3")
    table = ranking.to_frame()
    for method in ("regression", "bradley_terry"):
        sub = res.select(method)
        y = sub.draws[:, :, sub.target("score")]
        if ties:
            assert any(len(set(r)) < len(r) for r in y), "fixture should produce ties"
        pb, pt, er, rg, pdf = _brute(y, 2, default=3)
        got = table[table["method"] == method].set_index("model").loc[sub.index["model"]]
        np.testing.assert_allclose(got["p_best"], pb, atol=1e-12)
        np.testing.assert_allclose(got["p_top_k"], pt, atol=1e-12)
        np.testing.assert_allclose(got["expected_rank"], er, atol=1e-12)
        np.testing.assert_allclose(got["expected_regret"], rg, atol=1e-12)
        np.testing.assert_allclose(got["p_better_than_default"], pdf, atol=1e-12)


def test_sums_and_bounds(make_result):
    res = make_result(n=9, methods=("regression", "bradley_terry"), n_draws=1500)
    ranking = rank_candidates(res, k=3, default="org/model-0")
    for _, block in ranking.table.groupby("method"):
        n = len(block)
        assert block["p_best"].sum() == pytest.approx(1.0, abs=1e-12)
        assert block["p_top_k"].sum() == pytest.approx(3.0, abs=1e-12)
        assert block["expected_rank"].sum() == pytest.approx(n * (n + 1) / 2, abs=1e-9)
        assert block["expected_rank"].between(1, n).all()
        assert (block["expected_regret"] >= 0).all()
        # Regret = E[max] - mean_i, so the highest mean has the smallest regret.
        assert block.loc[block["mean"].idxmax(), "expected_regret"] == \
            pytest.approx(block["expected_regret"].min(), abs=1e-12)
        own = block.loc[block["model"] == "org/model-0", "p_better_than_default"]
        assert own.item() == 0.0
        # sorted by P(best) descending between tie groups, by mean within a tie group
        groups = block["tie_group"].to_numpy()
        assert (np.diff(groups) >= 0).all()
        leaders = block.groupby("tie_group")["p_best"].agg(["min", "max"])
        assert (leaders["min"].to_numpy()[:-1] >= leaders["max"].to_numpy()[1:]).all()
        for _, tied in block.groupby("tie_group"):
            assert (np.diff(tied["mean"].to_numpy()) <= 0).all()
        assert block["position"].tolist() == list(range(1, n + 1))
    assert ranking.methods == ["regression", "bradley_terry"]


def test_k_larger_than_candidates(make_result):
    res = make_result(n=4)
    table = rank_candidates(res, k=10).table
    assert table["p_top_k"].sum() == pytest.approx(4.0)
    assert (table["p_top_k"] == 1.0).all()


def test_certain_winner_and_correlation_matter(rng):
    """Two near-identical candidates share every draw: P(A > B) follows the joint draws."""
    from rmpredict.models import PredictionResult

    n_draws = 1000
    common = rng.normal(0.7, 0.05, n_draws)
    score = np.column_stack([common + 0.001, common, common - 0.2])
    draws = np.repeat(score[:, :, None], 5, axis=2)
    idx = pd.DataFrame({"model": ["a", "b", "c"], "method": "regression"})
    res = PredictionResult.from_draws(idx, ("chat", "chat_hard", "safety", "reasoning", "score"),
                                      draws, 0.9)
    table = rank_candidates(res, default="b").table.set_index("model")
    # Marginal intervals overlap almost completely, yet 'a' beats 'b' in every joint draw.
    assert table.loc["a", "p_best"] == 1.0
    assert table.loc["a", "p_better_than_default"] == 1.0
    assert table.loc["c", "p_better_than_default"] == 0.0
    assert table.loc["a", "expected_regret"] == 0.0
    assert table.loc["b", "expected_regret"] == pytest.approx(0.001)


def test_size_groups(make_result):
    res = make_result(n=9, methods=("regression", "bradley_terry"))
    sizes = {f"org/model-{i}": s for i, s in enumerate([0.5, 1.5, 2.9, 3.0, 3.8, 5.9, 6.0, 7, 9])}
    ranking = rank_candidates(res, size_groups=True, sizes=sizes, default="org/model-4")
    table = ranking.table
    assert list(dict.fromkeys(table["group"])) == ["<3B", "3-6B", ">=6B"]
    for (_, group), block in table.groupby(["method", "group"]):
        assert len(block) == 3
        assert block["p_best"].sum() == pytest.approx(1.0)
        assert {size_group(sizes[m]) for m in block["model"]} == {group}
    # The default is compared within its method even from another size group.
    assert table["p_better_than_default"].notna().all()
    assert "size group 3-6B" in str(ranking)
    with pytest.raises(InvalidParameterError, match="sizes"):
        rank_candidates(res, size_groups=True)
    with pytest.raises(InvalidParameterError, match="org/model-8"):
        rank_candidates(res, size_groups=True, sizes={k: v for k, v in sizes.items()
                                                      if k != "org/model-8"})


def test_size_group_boundaries():
    assert [size_group(x) for x in (0.1, 2.999, 3, 5.99, 6, 70)] == \
        ["<3B", "<3B", "3-6B", "3-6B", ">=6B", ">=6B"]
    with pytest.raises(InvalidParameterError):
        size_group(float("nan"))


def test_errors(make_result):
    res = make_result(n=4)
    with pytest.raises(InvalidParameterError, match="not among the candidates"):
        rank_candidates(res, default="nope/model")
    with pytest.raises(InvalidParameterError, match="'k'"):
        rank_candidates(res, k=0)
    with pytest.raises(InvalidParameterError, match="target"):
        rank_candidates(res, target="overall")
    no_draws = make_result(n=4)
    no_draws.draws = None
    with pytest.raises(InvalidParameterError, match="joint posterior-predictive draws"):
        rank_candidates(no_draws)


def test_str_is_readable(make_result):
    res = make_result(n=5, methods=("regression", "bradley_terry"))
    text = str(rank_candidates(res, k=2, default="org/model-1"))
    assert "== method regression (5 candidates) ==" in text
    assert "P(top 2)" in text and "P(>default)" in text and "90% interval" in text
    # scores in points with one decimal
    best = rank_candidates(res).table.iloc[0]
    assert f"{100 * best['mean']:.1f}" in text


def test_other_target(make_result):
    res = make_result(n=5)
    r = rank_candidates(res, target="safety")
    assert r.target == "safety"
    np.testing.assert_allclose(
        r.table.set_index("model").loc[res.index["model"], "mean"],
        res.mean[:, res.target("safety")])


def _result_from_score(score, methods="regression"):
    from rmpredict.models import PredictionResult

    n = score.shape[1]
    idx = pd.DataFrame({"model": [f"m{i}" for i in range(n)], "method": methods})
    return PredictionResult.from_draws(idx, ("score",), score[:, :, None], 0.9)


def test_monte_carlo_standard_errors(make_result):
    res = make_result(n=6, n_draws=800)
    table = rank_candidates(res, k=2).table
    s = 800
    np.testing.assert_allclose(table["p_best_se"],
                               np.sqrt(table["p_best"] * (1 - table["p_best"]) / s))
    np.testing.assert_allclose(table["p_top_k_se"],
                               np.sqrt(table["p_top_k"] * (1 - table["p_top_k"]) / s))
    assert "±" in str(rank_candidates(res))


def test_near_ties_are_marked_and_ordered_by_mean():
    """'a' is best in 6 of 1000 draws and 'b' in 4: within Monte Carlo error, so they tie
    and the higher mean ('b') is listed first, not the P(best) noise winner."""
    s = 1000
    score = np.zeros((s, 4))
    score[:, 0] = 0.90                     # the leader, best in 990 draws
    score[:, 1] = 0.60                     # a: mean 0.6018
    score[:, 2] = 0.65                     # b: mean 0.6512
    score[:, 3] = 0.40                     # c: never best, mean 0.40
    score[:6, 1] = 0.95
    score[6:10, 2] = 0.95
    table = rank_candidates(_result_from_score(score)).table
    assert table["model"].tolist() == ["m0", "m2", "m1", "m3"]
    assert table["tie"].tolist() == [False, True, True, True]
    assert table["tie_group"].tolist() == [1, 2, 2, 2]
    assert table.loc[1, "p_best"] < table.loc[2, "p_best"]  # ordered by mean, not P(best)
    text = str(rank_candidates(_result_from_score(score)))
    assert "~2" in text and "ordered by predicted mean" in text


def test_tie_groups_split_when_resolved():
    from rmpredict.decisions._ranking import tie_groups

    p = np.array([0.5, 0.3, 0.2, 0.0])
    se = np.sqrt(p * (1 - p) / 4000)
    order, group = tie_groups(p, se, np.array([0.7, 0.8, 0.6, 0.9]), 4000)
    assert order.tolist() == [0, 1, 2, 3] and group.tolist() == [1, 2, 3, 4]


def test_large_block_matches_exact_statistics(rng):
    """Above EXACT_RANK_MAX candidates P(best), P(top k), regret stay exact; E[rank] within
    one rank of the exact stable-sort ranks. Rounded draws give ties across candidates."""
    from rmpredict.decisions._ranking import EXACT_RANK_MAX, _rank_stats, draw_ranks

    n, s = EXACT_RANK_MAX + 500, 60
    score = np.round(rng.normal(0.7, 0.05, (s, n)) + rng.normal(0, 0.03, n), 3)
    ranks = draw_ranks(score)
    got = _rank_stats(score, 5, score[:, 0])
    np.testing.assert_allclose(got["p_best"], (ranks == 1).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(got["p_top_k"], (ranks <= 5).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(got["expected_regret"],
                               (score.max(axis=1, keepdims=True) - score).mean(axis=0),
                               atol=1e-12)
    assert got["expected_rank"].sum() == pytest.approx(n * (n + 1) / 2)
    np.testing.assert_allclose(got["p_better_than_default"],
                               (score > score[:, :1]).mean(axis=0))
    smooth = rng.normal(0.7, 0.05, (s, n)) + rng.normal(0, 0.03, n)  # no ties
    exact = draw_ranks(smooth).mean(axis=0)
    assert np.abs(_rank_stats(smooth, 5, None)["expected_rank"] - exact).max() <= 1.0


def test_rank_memory_is_linear_in_candidates(rng):
    """No (draws x candidates) int ranks nor a float64 copy of all draws: the extra memory of
    ranking 20,000 candidates x 200 draws (16 MB of float32 draws) stays far below that."""
    import tracemalloc

    n, s = 20_000, 200
    score = rng.normal(0.7, 0.05, (s, n)).astype(np.float32)
    res = _result_from_score(score)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    ranking = rank_candidates(res, k=3)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert len(ranking.table) == n
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"
    assert ranking.table["p_best"].sum() == pytest.approx(1.0)


def test_interleaved_method_rows_are_read_in_place(rng):
    """predict interleaves methods (model 0 BT, model 0 regression, ...): a method's rows
    are a strided view of the draws, not a copy, and rank the same as a contiguous block."""
    from rmpredict.decisions._ranking import _block_draws

    draws = rng.normal(0.7, 0.05, (50, 3000, 2)).astype(np.float32)
    rows = np.arange(1, 3000, 2)
    view = _block_draws(draws, rows, 1)
    assert np.shares_memory(view, draws) and view.shape == (50, 1500)
    np.testing.assert_array_equal(view, draws[:, rows, 1])
    odd = _block_draws(draws, np.array([0, 1, 5]), 0)
    assert odd.flags.c_contiguous
    idx = pd.DataFrame({"model": np.repeat([f"m{i}" for i in range(1500)], 2),
                        "method": np.tile(["bradley_terry", "regression"], 1500)})
    from rmpredict.models import PredictionResult

    both = PredictionResult.from_draws(idx, ("chat", "score"), draws, 0.9)
    alone = _result_from_score(draws[:, rows, 1].astype(np.float64))
    got = rank_candidates(both).table
    got = got[got["method"] == "regression"].set_index("model").sort_index()
    ref = rank_candidates(alone).table.set_index("model").sort_index()
    np.testing.assert_allclose(got["p_best"], ref["p_best"])
    np.testing.assert_allclose(got["expected_rank"], ref["expected_rank"])
