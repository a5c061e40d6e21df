"""Pre-screening large rankings from closed-form marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from rmpredict.decisions import rank_candidates
from rmpredict.decisions._screen import gaussian_expected_rank, shortlist, tail_count
from rmpredict.models._prediction import PredictionResult


def _independent(n: int, n_draws: int, seed: int) -> PredictionResult:
    """Independent Gaussian draws (one method, one target) with exact marginals."""
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.5, 0.8, n)
    sd = rng.uniform(0.002, 0.008, n)
    y = mean[None] + sd[None] * rng.standard_normal((n_draws, n))
    index = pd.DataFrame({"model": [f"org/m{i}" for i in range(n)], "method": "regression"})
    res = PredictionResult(index=index, targets=("score",), mean=mean[:, None],
                           sd=sd[:, None], lower=(mean - 1.645 * sd)[:, None],
                           upper=(mean + 1.645 * sd)[:, None], ci_prob=0.9,
                           draws=y[:, :, None].astype(np.float32))
    return res


def test_shortlist_keeps_every_candidate_that_can_reach_the_top_k():
    mean = np.array([0.9, 0.89, 0.5, 0.88, 0.2])
    sd = np.array([0.01, 0.01, 0.01, 0.01, 0.2])
    # k = 2: the 2nd best lower bound is 0.85; 0.5 + 0.04 cannot reach it, 0.2 + 0.8 can.
    np.testing.assert_array_equal(shortlist(mean, sd, 2), [True, True, False, True, True])
    np.testing.assert_array_equal(shortlist(mean, sd, 2, keep=[2])[2], True)


def test_gaussian_expected_rank_matches_the_pairwise_formula():
    rng = np.random.default_rng(3)
    mean, sd = rng.normal(0, 1, 300), rng.uniform(0.2, 1.5, 300)
    # Independent implementation: 1 + sum_{j != i} P(y_j > y_i) pairwise.
    diff = (mean[None, :] - mean[:, None]) / np.sqrt(sd[None, :] ** 2 + sd[:, None] ** 2)
    p = norm.cdf(diff)
    np.fill_diagonal(p, 0.0)
    exact = 1.0 + p.sum(axis=1)
    # G is tabulated on 1,024 points and interpolated: under 0.1 ranks of error here.
    np.testing.assert_allclose(gaussian_expected_rank(mean, sd), exact, atol=0.1)
    t = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(tail_count(mean, sd, t),
                               norm.sf((t[:, None] - mean[None]) / sd[None]).sum(axis=1),
                               atol=0.02)


def test_screened_ranking_agrees_with_the_full_one():
    res = _independent(3000, 2000, seed=5)
    full = rank_candidates(res, k=3, screen=False).to_frame().set_index("model")
    fast = rank_candidates(res, k=3, screen=True)
    n_short, n_all = fast.provenance["ranking_screened"]["regression/all"]
    assert n_all == 3000 and 3 <= n_short < 1000
    fast = fast.to_frame().set_index("model").loc[full.index]
    # The shortlist holds every draw's top 3 here, so P(best) and P(top 3) are identical.
    np.testing.assert_array_equal(fast["p_best"], full["p_best"])
    np.testing.assert_array_equal(fast["p_top_k"], full["p_top_k"])
    # Regret and expected rank: the screened rows from their marginals (Monte Carlo error of
    # the full ranking's own estimates: ~0.02 ranks per 1,000 draws at these spreads).
    np.testing.assert_allclose(fast["expected_regret"], full["expected_regret"], atol=2e-3)
    np.testing.assert_allclose(fast["expected_rank"], full["expected_rank"],
                               rtol=0.01, atol=3.0)
    assert fast["position"].to_numpy()[:3].tolist() == full["position"].to_numpy()[:3].tolist()


def test_screening_never_computes_the_draws_of_screened_rows():
    base = _independent(6000, 500, seed=2)
    asked: list[int] = []
    draws = base.draws

    def source(rows):
        asked.extend(np.asarray(rows).tolist())
        return draws[:, rows]

    lazy = PredictionResult(index=base.index, targets=base.targets, mean=base.mean,
                            sd=base.sd, lower=base.lower, upper=base.upper, ci_prob=0.9,
                            draw_source=source)
    ranking = rank_candidates(lazy, k=3, default="org/m0")  # 6000 > SCREEN_MIN: screened
    n_short, _ = ranking.provenance["ranking_screened"]["regression/all"]
    assert len(set(asked)) == n_short < 2000
    assert lazy.computed_draws is None
    table = ranking.to_frame()
    assert table["p_best"].sum() == pytest.approx(1.0)
    assert np.isfinite(table["p_better_than_default"]).all()
    assert "pre-screened:" in str(ranking)


def test_suggest_from_lazy_draws_draws_only_the_shortlist_and_agrees():
    from rmpredict.decisions import suggest_next

    base = _independent(1500, 800, seed=7)
    asked: list[int] = []
    draws = base.draws

    def source(rows):
        asked.extend(np.asarray(rows).tolist())
        return draws[:, rows]

    lazy = PredictionResult(index=base.index, targets=base.targets, mean=base.mean,
                            sd=base.sd, lower=base.lower, upper=base.upper, ci_prob=0.9,
                            draw_source=source)
    fast = suggest_next(lazy, budget=2, shortlist=50)
    full = suggest_next(base, budget=2, shortlist=50)
    drawn = fast.screen["regression"]["drawn"]
    assert len(set(asked)) == drawn < 1500 and lazy.computed_draws is None
    # Closed-form and Monte-Carlo EI pick the same shortlist here, hence the same choice.
    assert fast.chosen == full.chosen
    assert fast.value["regression"] == pytest.approx(full.value["regression"], rel=0.05)
