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
        # sorted by P(best) descending
        assert (np.diff(block["p_best"].to_numpy()) <= 0).all()
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
