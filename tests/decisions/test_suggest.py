"""suggest_next / knowledge_gradient: closed form, quadrature and brute-force refits."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rmpredict.decisions import knowledge_gradient, suggest_next
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models import PredictionResult

TARGETS = ("chat", "chat_hard", "safety", "reasoning", "score")


def exact_moment_draws(rng, mean, cov, n_draws):
    """Gaussian draws whose sample mean and covariance equal ``mean`` and ``cov`` exactly."""
    z = rng.standard_normal((n_draws, len(mean)))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return mean + z @ np.linalg.cholesky(cov).T


def as_result(score, methods="regression"):
    n = score.shape[1]
    idx = pd.DataFrame({"model": [f"m{i}" for i in range(n)], "method": methods})
    return PredictionResult.from_draws(idx, TARGETS, np.repeat(score[:, :, None], 5, axis=2), 0.9)


def kg_independent(mu, sigma, i):
    """Closed form for independent normals: KG_i = E[max(y_i, m*)] - max_j mu_j.

    m* = max_{j != i} mu_j stays put (independence); E[max(Y, m)] = m + E[(Y - m)^+] and
    E[(Y - m)^+] = (mu - m) Phi(z) + sigma phi(z) with z = (mu - m) / sigma.
    """
    m_star = np.max(np.delete(mu, i))
    z = (mu[i] - m_star) / sigma[i]
    return m_star + (mu[i] - m_star) * stats.norm.cdf(z) + sigma[i] * stats.norm.pdf(z) - mu.max()


def test_closed_form_independent(rng):
    mu = np.array([0.72, 0.70, 0.66, 0.60, 0.71])
    sigma = np.array([0.02, 0.05, 0.04, 0.03, 0.01])
    y = exact_moment_draws(rng, mu, np.diag(sigma ** 2), 100_000)
    for i in range(len(mu)):
        assert knowledge_gradient(y, [i]) == pytest.approx(kg_independent(mu, sigma, i),
                                                           rel=0.02, abs=2e-4)


def test_closed_form_with_noise(rng):
    """Noisy observation of i moves its mean by N(0, sigma^4 / (sigma^2 + tau^2))."""
    mu = np.array([0.72, 0.70, 0.66])
    sigma = np.array([0.02, 0.05, 0.04])
    tau = 0.03
    y = exact_moment_draws(rng, mu, np.diag(sigma ** 2), 100_000)
    for i in range(3):
        s_tilde = sigma.copy()
        s_tilde[i] = sigma[i] ** 2 / np.sqrt(sigma[i] ** 2 + tau ** 2)
        expected = kg_independent(mu, s_tilde, i)
        got = knowledge_gradient(y, [i], noise_sd=tau, random_seed=3)
        assert got == pytest.approx(expected, rel=0.03, abs=3e-4)
        assert got < knowledge_gradient(y, [i])


def _quadrature_kg(mean, cov, subset, n_nodes=120):
    """E[max_j E[y_j | y_S]] - max m by Gauss-Hermite quadrature over y_S ~ N(m_S, C_SS)."""
    s = list(subset)
    chol = np.linalg.cholesky(cov[np.ix_(s, s)])
    slope = np.linalg.solve(chol, cov[s, :])  # z -> change of every mean
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / w.sum()
    nodes = np.array(list(itertools.product(x, repeat=len(s))))
    weights = np.prod(np.array(list(itertools.product(w, repeat=len(s)))), axis=1)
    post = mean + nodes @ slope
    return float(weights @ post.max(axis=1) - mean.max())


def test_correlated_against_quadrature(rng):
    n = 6
    a = rng.normal(0, 0.03, (n, 2))
    cov = a @ a.T + np.diag(rng.uniform(1e-4, 1e-3, n))
    mean = rng.uniform(0.68, 0.74, n)
    y = exact_moment_draws(rng, mean, cov, 60_000)
    for subset in [(0,), (3,), (1, 4), (2, 5)]:
        expected = _quadrature_kg(mean, cov, subset, n_nodes=120 if len(subset) == 1 else 60)
        assert knowledge_gradient(y, subset) == pytest.approx(expected, rel=0.03, abs=2e-4)


def _refit_value(x, b0, s0, subset, beta, eps, tau):
    """Brute force: refit a Bayesian linear model on each simulated outcome (precision form)."""
    xs = x[list(subset)]
    prec = np.linalg.inv(s0) + xs.T @ xs / tau ** 2
    s_post = np.linalg.inv(prec)
    total = 0.0
    for d in range(beta.shape[0]):
        y_obs = xs @ beta[d] + eps[d]
        b_post = s_post @ (np.linalg.solve(s0, b0) + xs.T @ y_obs / tau ** 2)
        total += np.max(x @ b_post)
    return total / beta.shape[0] - np.max(x @ b0)


def test_against_brute_force_refit(rng):
    """Candidates share regression coefficients (y = X beta). Refitting beta on each simulated
    noisy outcome (Bayesian linear regression, precision form) must give the same value as the
    draw-based covariance-form criterion, draw by draw. Common random numbers: the brute force
    reuses the criterion's seeded noise (N(0, tau^2), centred over draws), and beta has exact
    sample moments, so only the algebra differs and agreement is to rounding error."""
    n, p, tau, n_draws, seed = 7, 3, 0.02, 3000, 11
    x = np.column_stack([np.ones(n), rng.uniform(-1, 1, (n, p - 1))])
    b0 = np.array([0.7, 0.02, -0.01])
    s0 = np.diag([0.02, 0.03, 0.03]) ** 2
    beta = exact_moment_draws(rng, b0, s0, n_draws)
    y = beta @ x.T
    noise = np.random.default_rng(seed).standard_normal(y.shape) * tau
    noise -= noise.mean(axis=0)
    values = []
    for subset in [(0,), (4,), (2, 5), (1, 3, 6)]:
        brute = _refit_value(x, b0, s0, subset, beta, noise[:, list(subset)], tau)
        got = knowledge_gradient(y, subset, noise_sd=tau, random_seed=seed)
        assert got == pytest.approx(brute, rel=1e-8, abs=1e-12)
        values.append(got)
    assert min(values) > 0


def test_suggest_properties(rng):
    n = 7
    a = rng.normal(0, 0.03, (n, 2))
    cov = a @ a.T + np.diag(rng.uniform(1e-4, 1e-3, n))
    y = exact_moment_draws(rng, rng.uniform(0.65, 0.75, n), cov, 5000)
    y[:, 6] = y[:, 6].mean()  # a candidate whose score is known already
    res = as_result(y)
    sug = suggest_next(res, budget=2)
    table = sug.table.set_index("model")
    assert (table["kg"] >= 0).all()
    assert table.loc["m6", "kg"] == pytest.approx(0.0, abs=1e-12)
    # exhaustive: the chosen pair has the largest joint value among all pairs
    pairs = {s: knowledge_gradient(y, s) for s in itertools.combinations(range(n), 2)}
    best = max(pairs, key=pairs.get)
    assert sug.value["regression"] == pytest.approx(pairs[best])
    assert sorted(sug.chosen["regression"]) == sorted(f"m{i}" for i in best)
    assert sug.strategy["regression"] == "exhaustive"
    assert table["chosen"].sum() == 2
    # greedy never beats exhaustive (same evaluator)
    greedy = suggest_next(res, budget=2, max_subsets=1)
    assert greedy.strategy["regression"] == "greedy"
    assert greedy.value["regression"] <= sug.value["regression"] + 1e-15
    # budget 1 picks the largest single KG
    one = suggest_next(res, budget=1)
    assert one.chosen["regression"] == [table["kg"].idxmax()]
    assert "joint value" in str(sug) and "KG (pt)" in str(sug)
    assert "set_value" in sug.to_frame().columns


def test_mask_and_methods(make_result):
    res = make_result(n=6, methods=("regression", "bradley_terry"))
    sug = suggest_next(res, budget=2, candidates_mask=["org/model-1", "org/model-2",
                                                       "org/model-4"])
    assert sug.methods == ["regression", "bradley_terry"]
    for chosen in sug.chosen.values():
        assert set(chosen) <= {"org/model-1", "org/model-2", "org/model-4"}
    t = sug.table
    assert t.loc[~t["eligible"], "kg"].isna().all()
    only = suggest_next(res, budget=1, method="bradley_terry")
    assert only.methods == ["bradley_terry"]
    mask = np.zeros(len(res.index), dtype=bool)
    mask[:2] = True
    with pytest.raises(InvalidParameterError, match="budget=2 exceeds"):
        suggest_next(res, budget=2, candidates_mask=mask)
    with pytest.raises(InvalidParameterError, match="budget"):
        suggest_next(res, budget=0)
    with pytest.raises(InvalidParameterError, match="noise_sd"):
        suggest_next(res, noise_sd=-1)
    with pytest.raises(InvalidParameterError, match="not candidates"):
        suggest_next(res, candidates_mask=["nope"])
    with pytest.raises(InvalidParameterError, match="method"):
        suggest_next(res, method="dpo")


def test_budget2_over_20_candidates_is_fast(make_result):
    res = make_result(n=20, n_draws=4000)
    start = time.perf_counter()
    sug = suggest_next(res, budget=2)
    elapsed = time.perf_counter() - start
    print(f"suggest_next budget=2, 20 candidates, 4000 draws: {elapsed:.3f} s")
    assert sug.strategy["regression"] == "exhaustive"
    assert elapsed < 30.0  # target: well under 2 minutes


def test_prescreen_keeps_memory_linear_and_value_exact(rng):
    """More candidates than the shortlist: no candidates x candidates covariance, and the
    chosen set's value equals its exact knowledge gradient over every candidate."""
    import tracemalloc

    n, s = 2500, 100
    a = rng.normal(0, 0.02, (n, 2))
    z = rng.standard_normal((s, 2))
    y = rng.uniform(0.6, 0.75, n) + z @ a.T + rng.normal(0, 0.01, (s, n))
    res = as_result(y)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    sug = suggest_next(res, budget=2, shortlist=50)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    assert peak < 25e6, f"peak {peak / 1e6:.0f} MB"  # an (n, n) float64 matrix is 50 MB
    info = sug.screen["regression"]
    assert info["prescreened"] and 50 <= info["shortlist"] <= 101
    cols = [int(m[1:]) for m in sug.chosen["regression"]]
    assert sug.value["regression"] == pytest.approx(knowledge_gradient(y, cols), rel=1e-9)
    table = sug.table
    assert table["kg"].notna().sum() <= info["shortlist"]
    assert (table["ei"] >= 0).all() and table["shortlisted"].sum() == info["shortlist"]
    assert "pre-screened 2500 candidates by expected improvement" in str(sug)


def test_prescreen_agrees_with_the_exact_search(rng):
    n = 60
    a = rng.normal(0, 0.03, (n, 2))
    cov = a @ a.T + np.diag(rng.uniform(1e-4, 1e-3, n))
    y = exact_moment_draws(rng, rng.uniform(0.6, 0.75, n), cov, 4000)
    res = as_result(y)
    exact = suggest_next(res, budget=2, shortlist=n)
    screened = suggest_next(res, budget=2, shortlist=15)
    assert not exact.screen["regression"]["prescreened"]
    assert screened.screen["regression"]["prescreened"]
    assert sorted(screened.chosen["regression"]) == sorted(exact.chosen["regression"])
    assert screened.value["regression"] == pytest.approx(exact.value["regression"], rel=1e-9)
    with pytest.raises(InvalidParameterError, match="shortlist"):
        suggest_next(res, shortlist=0)
