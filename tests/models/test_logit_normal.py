"""Deterministic summaries of Gaussian logits against direct numerical integration and sampling."""

from __future__ import annotations

import numpy as np
from scipy import integrate, stats
from scipy.special import expit

from rmpredict.models._logit_normal import summarise_logit_normal


def _example(rng, n=6):
    mean = rng.normal(1.0, 0.7, (n, 4))
    a = rng.normal(0.0, 0.35, (n, 4, 4))
    return mean, a @ a.transpose(0, 2, 1) + 0.05 * np.eye(4)


def test_categories_match_quadrature_and_exact_quantiles(rng):
    mean, cov = _example(rng)
    m, sd, lo, hi = summarise_logit_normal(mean, cov, 0.9)
    for r in range(len(mean)):
        for c in range(4):
            dist = stats.norm(mean[r, c], np.sqrt(cov[r, c, c]))
            m1 = integrate.quad(lambda x, d=dist: expit(x) * d.pdf(x), -np.inf, np.inf)[0]
            m2 = integrate.quad(lambda x, d=dist: expit(x) ** 2 * d.pdf(x), -np.inf, np.inf)[0]
            assert abs(m[r, c] - m1) < 1e-8
            assert abs(sd[r, c] - np.sqrt(m2 - m1 * m1)) < 1e-7
            assert abs(lo[r, c] - expit(dist.ppf(0.05))) < 1e-12
            assert abs(hi[r, c] - expit(dist.ppf(0.95))) < 1e-12


def test_score_matches_a_large_monte_carlo(rng):
    mean, cov = _example(rng)
    m, sd, lo, hi = summarise_logit_normal(mean, cov, 0.8)
    for r in range(len(mean)):
        x = rng.multivariate_normal(mean[r], cov[r], size=400_000)
        score = expit(x).mean(axis=1)
        # Monte-Carlo SEs: mean ~2e-5, quantiles ~5e-5; Cornish-Fisher error dominates.
        assert abs(m[r, 4] - score.mean()) < 2e-4
        assert abs(sd[r, 4] - score.std()) < 0.02 * score.std()
        q = np.quantile(score, [0.1, 0.9])
        assert abs(lo[r, 4] - q[0]) < 0.05 * score.std()
        assert abs(hi[r, 4] - q[1]) < 0.05 * score.std()


def test_summaries_are_ordered_and_do_not_depend_on_the_batch(rng):
    mean, cov = _example(rng, n=50)
    whole = summarise_logit_normal(mean, cov, 0.9)
    part = summarise_logit_normal(mean[7:9], cov[7:9], 0.9)
    for a, b in zip(whole, part):
        np.testing.assert_array_equal(a[7:9], b)
    m, _, lo, hi = whole
    assert (lo <= m).all() and (m <= hi).all() and (lo >= 0).all() and (hi <= 1).all()
