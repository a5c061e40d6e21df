"""Metrics on hand-computed values and against scipy / scikit-learn / brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from rmpredict.evaluation import (
    coverage_at_k,
    crps_draws,
    crps_gaussian,
    interval_coverage,
    mae,
    mean_coverage_at_k,
    rmse,
    spearman,
)


def test_mae_rmse_hand_values():
    y, p = np.array([0.5, 0.7, 0.9]), np.array([0.6, 0.7, 0.6])
    assert mae(y, p) == pytest.approx(0.4 / 3)
    assert rmse(y, p) == pytest.approx(np.sqrt(0.1 / 3))


def test_mae_rmse_match_sklearn(rng):
    y, p = rng.uniform(size=40), rng.uniform(size=40)
    assert mae(y, p) == pytest.approx(mean_absolute_error(y, p), abs=1e-15)
    assert rmse(y, p) == pytest.approx(root_mean_squared_error(y, p), abs=1e-15)


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="same length"):
        mae([1.0, 2.0], [1.0])


def test_spearman_matches_scipy_and_handles_constants(rng):
    y, p = rng.normal(size=30), rng.normal(size=30)
    assert spearman(y, p) == pytest.approx(stats.spearmanr(y, p).statistic)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(spearman(y, np.full(30, 0.7)))
    assert np.isnan(spearman([1.0], [2.0]))


def test_coverage_at_k_hand_values():
    y = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    p = np.array([0.5, 0.8, 0.9, 0.6, 0.7])  # top-2 predicted: items 2, 1; true: 0, 1
    assert coverage_at_k(y, p, 2) == pytest.approx(0.5)
    assert coverage_at_k(y, p, 3) == pytest.approx(2 / 3)  # {2,1,4} vs {0,1,2}
    assert coverage_at_k(y, p, 99) == 1.0  # k capped at n


def test_coverage_at_k_ties_broken_by_input_order():
    y = np.array([1.0, 0.0, 0.0, 0.0])
    p = np.array([0.5, 0.5, 0.5, 0.5])  # all tied: stable order picks item 0 first
    assert coverage_at_k(y, p, 1) == 1.0
    assert coverage_at_k(y[::-1], p, 1) == 0.0


def test_mean_coverage_over_5_to_10_hand_value():
    n = 12
    y = np.arange(n, 0, -1, dtype=float)  # item i has rank i
    p = y.copy()
    p[[0, 11]] = p[[11, 0]]  # swap best and worst
    # for every k in 5..10 exactly one of the true top-k (item 0) is missing
    expect = np.mean([(k - 1) / k for k in range(5, 11)])
    assert mean_coverage_at_k(y, p) == pytest.approx(expect)


def test_mean_coverage_caps_k_and_counts_each_once():
    y = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    p = np.array([0.0, 4.0, 3.0, 2.0, 1.0, 5.0])
    # n = 6: k in {5, 6}; k=5 -> 4/5, k=6 -> 1
    assert mean_coverage_at_k(y, p) == pytest.approx((0.8 + 1.0) / 2)


def test_interval_coverage_skips_nan():
    y = np.array([0.5, 0.6, 0.7, 0.8])
    lo = np.array([0.4, 0.65, np.nan, 0.7])
    hi = np.array([0.6, 0.9, np.nan, 0.8])
    assert interval_coverage(y, lo, hi) == pytest.approx(2 / 3)
    assert np.isnan(interval_coverage(y, np.full(4, np.nan), np.full(4, np.nan)))


def _crps_brute(draws: np.ndarray, y: float) -> float:
    s = draws.size
    t1 = np.mean(np.abs(draws - y))
    t2 = sum(abs(a - b) for a in draws for b in draws) / s**2
    return t1 - 0.5 * t2


def test_crps_draws_equals_brute_force_double_loop(rng):
    draws = rng.normal(0.6, 0.05, size=(57, 3, 2))
    y = rng.uniform(0.5, 0.7, size=(3, 2))
    got = crps_draws(draws, y)
    for i in range(3):
        for j in range(2):
            assert got[i, j] == pytest.approx(_crps_brute(draws[:, i, j], y[i, j]), abs=1e-13)


def test_crps_single_draw_is_absolute_error():
    assert crps_draws(np.array([[0.3]]), np.array([0.5]))[0] == pytest.approx(0.2)


def test_crps_gaussian_equals_integral_definition():
    mean, sd, y = 0.62, 0.04, 0.7
    integrand = lambda x: (stats.norm.cdf(x, mean, sd) - (x >= y)) ** 2  # noqa: E731
    lo, hi = mean - 12 * sd, mean + 12 * sd
    ref = integrate.quad(integrand, lo, y, epsabs=1e-13)[0] + integrate.quad(
        integrand, y, hi, epsabs=1e-13)[0]
    assert crps_gaussian(mean, sd, y) == pytest.approx(ref, rel=1e-7)


def test_crps_draws_converges_to_gaussian_closed_form(rng):
    mean, sd = np.array([0.6, 0.8]), np.array([0.05, 0.02])
    y = np.array([0.65, 0.78])
    draws = rng.normal(mean, sd, size=(200_000, 2))
    np.testing.assert_allclose(crps_draws(draws, y), crps_gaussian(mean, sd, y), rtol=5e-3)
