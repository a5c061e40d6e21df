"""Summaries of accuracies whose logits are jointly Gaussian (deterministic, no draws).

Category ``c``'s accuracy is ``expit(X_c)`` with ``X ~ N(M, C)``: its quantiles are
``expit`` of the Gaussian quantiles (exact), its mean and SD come from Gauss–Hermite
quadrature. The score (the mean of the four accuracies) has no closed form: its SD, skewness
and excess kurtosis come from a fixed digitally shifted Sobol' point set pushed through
``M + chol(C) q`` (the same points for every candidate and call, so numbers do not depend on
the batch), and its interval from the Cornish–Fisher expansion of those moments. Quantiles
read off the points directly would be noisier: against 65,536 points, 1,024 points miss the
90% bounds by up to 0.45 accuracy points, Cornish–Fisher on 256 points by up to 0.19 (0.05
with 1,024 points, at three times the cost; 600 rows of leaderboard candidates, released model;
RESULTS.md §14). The points are generated here (:mod:`rmpredict.models._sobol`) because
importing ``scipy.stats`` for them would cost more than the prediction.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.special import expit

__all__ = ["summarise_logit_normal", "SCORE_POINTS"]

HERMITE_NODES = 48
SCORE_POINTS = 256
"""Quasi-random points per row for the score's moments."""
_ROWS = 2048


@lru_cache(maxsize=1)
def _hermite() -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)
    return x, w / np.sqrt(2.0 * np.pi)


@lru_cache(maxsize=2)
def _normal_points(dim: int) -> np.ndarray:
    from scipy.special import ndtri

    from rmpredict.models._sobol import sobol_points

    u = sobol_points(int(np.log2(SCORE_POINTS)), dim, seed=20261203)
    return ndtri(u).astype(np.float32)  # (Q, dim)


def summarise_logit_normal(mean: np.ndarray, cov: np.ndarray, ci_prob: float
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SD and central ``ci_prob`` interval of the four accuracies and their mean.

    Parameters
    ----------
    mean : ndarray, shape (rows, 4)
        Mean of the category logits.
    cov : ndarray, shape (rows, 4, 4)
        Their covariance (positive definite).
    ci_prob : float
        Probability mass of the central interval.

    Returns
    -------
    tuple of ndarray, each (rows, 5)
        Mean, SD, lower and upper bounds (fractions in [0, 1]); the last column is the score.
    """
    from scipy.special import ndtri

    n_rows, n_cat = mean.shape
    z = float(ndtri(0.5 + ci_prob / 2.0))
    var = np.diagonal(cov, axis1=1, axis2=2)
    sd_logit = np.sqrt(var)
    out_mean = np.empty((n_rows, n_cat + 1))
    out_sd = np.empty_like(out_mean)
    lower = np.empty_like(out_mean)
    upper = np.empty_like(out_mean)
    lower[:, :n_cat] = expit(mean - z * sd_logit)
    upper[:, :n_cat] = expit(mean + z * sd_logit)
    nodes, weights = _hermite()
    p = expit(mean[..., None] + sd_logit[..., None] * nodes)  # (rows, 4, nodes)
    m1 = p @ weights
    out_mean[:, :n_cat] = m1
    out_sd[:, :n_cat] = np.sqrt(np.maximum((p * p) @ weights - m1 * m1, 0.0))
    q = _normal_points(n_cat)  # (Q, 4)
    for lo in range(0, n_rows, _ROWS):
        rows = slice(lo, lo + _ROWS)
        n = len(mean[rows])
        chol = np.linalg.cholesky(cov[rows])  # (rows, k, j)
        # One matrix product for the chunk: (Q, j) @ (j, rows * k).
        chol_j = np.ascontiguousarray(chol.transpose(2, 0, 1).reshape(n_cat, n * n_cat),
                                      dtype=np.float32)
        logits = (q @ chol_j).reshape(len(q), n, n_cat)
        logits += mean[rows].astype(np.float32)[None]
        expit(logits, out=logits)
        score = logits.sum(axis=2, dtype=np.float64) / n_cat  # (Q, rows)
        score -= score.mean(axis=0)
        sq = score * score
        var = sq.mean(axis=0)
        sd = np.sqrt(var)
        scale = np.maximum(var, 1e-24)
        skew = (sq * score).mean(axis=0) / scale**1.5
        kurt = (sq * sq).mean(axis=0) / scale**2 - 3.0
        out_sd[rows, n_cat] = sd
        # Centred on the exact mean (the points' mean differs by QMC error only).
        lower[rows, n_cat] = sd * _cornish_fisher(-z, skew, kurt)
        upper[rows, n_cat] = sd * _cornish_fisher(z, skew, kurt)
    # The score's mean is exact: the mean of the category means.
    out_mean[:, n_cat] = m1.mean(axis=1)
    lower[:, n_cat] += out_mean[:, n_cat]
    upper[:, n_cat] += out_mean[:, n_cat]
    np.clip(lower, 0.0, out_mean, out=lower)
    np.clip(upper, out_mean, 1.0, out=upper)
    return out_mean, out_sd, lower, upper


def _cornish_fisher(z: float, skew: np.ndarray, kurt: np.ndarray) -> np.ndarray:
    """Standardised quantile at normal quantile ``z`` given skewness and excess kurtosis."""
    return (z + (z * z - 1.0) * skew / 6.0 + (z**3 - 3.0 * z) * kurt / 24.0
            - (2.0 * z**3 - 5.0 * z) * skew**2 / 36.0)
