"""Accuracy, ranking and calibration metrics (pure numpy/scipy).

Units: every metric takes and returns the unit of its inputs; rmpredict passes fractions
(RewardBench accuracy in [0, 1]), so MAE, RMSE and CRPS come back as fractions. Reports
multiply them by 100 (points) and say so.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

__all__ = [
    "mae",
    "rmse",
    "spearman",
    "coverage_at_k",
    "mean_coverage_at_k",
    "interval_coverage",
    "crps_draws",
    "crps_gaussian",
    "COVERAGE_KS",
]

COVERAGE_KS: tuple[int, ...] = tuple(range(5, 11))
"""The study's selection metric averages coverage@k over k = 5..10."""


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length; got {y_true.size} and {y_pred.size}"
        )
    return y_true, y_pred


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error (unit of the inputs); NaN for empty input."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(np.abs(y_pred - y_true))) if y_true.size else float("nan")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error (unit of the inputs); NaN for empty input."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((y_pred - y_true) ** 2))) if y_true.size else float("nan")


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Spearman rank correlation (``scipy.stats.spearmanr``).

    NaN when fewer than two pairs or either input is constant (no ranking to compare).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.size < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return float("nan")
    with warnings.catch_warnings():
        # Constant input is handled above; nothing else is expected to warn.
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.spearmanr(y_true, y_pred).statistic)


def _top_k(values: np.ndarray, k: int) -> set[int]:
    # Descending order; ties keep input order (a stable sort of the negated values), so the
    # result is deterministic and does not depend on the sorting algorithm.
    return set(np.argsort(-values, kind="stable")[:k].tolist())


def coverage_at_k(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    """Share of the top-``k`` by prediction that are also top-``k`` by truth.

    ``|top_k(pred) ∩ top_k(true)| / k`` with ``k`` capped at the number of items; ties are
    broken by input order (stable sort). NaN for empty input.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    n = y_true.size
    if n == 0:
        return float("nan")
    k = min(int(k), n)
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    return len(_top_k(y_true, k) & _top_k(y_pred, k)) / k


def mean_coverage_at_k(
    y_true: np.ndarray, y_pred: np.ndarray, ks: tuple[int, ...] = COVERAGE_KS
) -> float:
    """coverage@k averaged over ``ks`` (default 5..10), each ``k`` capped at the item count.

    After capping, equal ``k`` values count once (with 7 items, k = 5, 6, 7 are averaged).
    """
    y_true, y_pred = _pair(y_true, y_pred)
    n = y_true.size
    if n == 0:
        return float("nan")
    capped = sorted({min(int(k), n) for k in ks})
    return float(np.mean([coverage_at_k(y_true, y_pred, k) for k in capped]))


def interval_coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of finite cells with ``lower <= y_true <= upper``; NaN if no cell has an interval."""
    y = np.asarray(y_true, dtype=float).ravel()
    lo = np.asarray(lower, dtype=float).ravel()
    hi = np.asarray(upper, dtype=float).ravel()
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return float("nan")
    return float(np.mean((lo[ok] <= y[ok]) & (y[ok] <= hi[ok])))


def crps_draws(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of an ensemble of draws, per cell, by the energy form in O(S log S).

    ``CRPS = E|X - y| - 0.5 E|X - X'|`` with ``X, X'`` independent draws of the predictive
    distribution (the empirical distribution of the ``S`` draws). With the draws sorted,
    ``E|X - X'| = 2 / S**2 * sum_i (2 i - S - 1) x_(i)`` (``i = 1..S``), so no double loop.

    Parameters
    ----------
    draws : array, shape (S, ...)
        Draws along the first axis.
    y : array, shape (...)
        Observed values (broadcast against ``draws[0]``).

    Returns
    -------
    ndarray, shape (...)
        CRPS in the unit of ``y`` (lower is better; equals the absolute error for one draw).
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=0)
    s = x.shape[0]
    y = np.asarray(y, dtype=float)
    term1 = np.mean(np.abs(x - y[None, ...]), axis=0)
    w = (2.0 * np.arange(1, s + 1) - s - 1.0).reshape((s,) + (1,) * (x.ndim - 1))
    e_xx = 2.0 / s**2 * np.sum(w * x, axis=0)
    return term1 - 0.5 * e_xx


def crps_gaussian(mean: np.ndarray, sd: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Closed-form CRPS of a normal predictive ``N(mean, sd**2)`` (Gneiting & Raftery 2007).

    ``CRPS = sd * (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi))`` with ``z = (y - mean) / sd``.
    """
    mean, sd, y = (np.asarray(a, dtype=float) for a in (mean, sd, y))
    z = (y - mean) / sd
    pdf, cdf = stats.norm.pdf(z), stats.norm.cdf(z)
    return sd * (z * (2.0 * cdf - 1.0) + 2.0 * pdf - 1.0 / np.sqrt(np.pi))
