"""Bayesian stacking of predictive distributions (Yao, Vehtari, Simpson and Gelman, 2018).

Given the log predictive density ``lpd[i, k]`` of held-out unit ``i`` under candidate model
``k``, the stacking weights maximise ``sum_i log sum_k w_k exp(lpd[i, k])`` over the simplex.
The objective is concave in ``w``; it is optimised over a softmax parametrisation with L-BFGS
from equal weights, which is deterministic.

Reference: Yao, Y., Vehtari, A., Simpson, D. and Gelman, A. (2018). Using stacking to average
Bayesian predictive distributions. Bayesian Analysis 13(3), 917-1007.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stacking_weights", "stacking_objective"]


def stacking_objective(weights: np.ndarray, lpd: np.ndarray) -> float:
    """Mean log score of the mixture with ``weights`` (higher is better)."""
    from scipy.special import logsumexp

    w = np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore"):
        return float(np.mean(logsumexp(lpd + np.log(w)[None, :], axis=1)))


def stacking_weights(lpd: np.ndarray) -> np.ndarray:
    """Stacking weights for a ``(n_units, n_models)`` matrix of held-out log densities.

    Returns
    -------
    ndarray, shape (n_models,)
        Non-negative weights summing to 1. With no units, equal weights.
    """
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    lpd = np.asarray(lpd, dtype=float)
    n, k = lpd.shape
    if k == 1:
        return np.ones(1)
    if n == 0:
        return np.full(k, 1.0 / k)
    # Shift per unit for numerical stability (does not change the optimum).
    shifted = lpd - lpd.max(axis=1, keepdims=True)

    def loss(v: np.ndarray) -> tuple[float, np.ndarray]:
        logw = v - logsumexp(v)
        mix = logsumexp(shifted + logw[None, :], axis=1)  # (n,)
        resp = np.exp(shifted + logw[None, :] - mix[:, None])  # responsibilities
        w = np.exp(logw)
        grad = -(resp.sum(0) - n * w) / n
        return -float(mix.mean()), grad

    res = minimize(loss, np.zeros(k), jac=True, method="L-BFGS-B",
                   options={"maxiter": 500, "gtol": 1e-10, "ftol": 1e-14})
    w = softmax(res.x)
    w[w < 1e-6] = 0.0
    return w / w.sum()
