"""Pre-screening a large candidate set from closed-form marginals, before any joint draw.

Ranking 100,000 candidates needs joint draws only for those that can reach the top ``k``.
With each candidate's predictive mean ``m_i`` and SD ``s_i`` of the ranked target (closed form,
no random numbers), let ``L`` be the ``k``-th largest of ``m_j - z s_j``. A candidate with
``m_i + z s_i < L`` is outside the top ``k`` unless it exceeds its own upper bound or one of
``k`` others falls below its lower bound: under Gaussian marginals that has probability at most
``(k + 1) Phi(-z)`` (``z = 4``: under 1e-4 for ``k = 3``). Such candidates are *screened*: their
P(best) and P(top k) are reported as 0, their other statistics come from the marginals.

Expected rank needs every candidate: ``E[rank_i] = 1 + sum_{j != i} P(y_j > y_i)`` is computed
with independent Gaussian marginals as ``1 + E[G(y_i)] - 1/2``, where ``G(t) = sum_j P(y_j > t)``
is tabulated on a grid and ``E`` is Gauss–Hermite quadrature over ``y_i`` (the ``-1/2`` removes
``i`` itself: ``P(y_i' > y_i) = 1/2`` for an independent copy). The joint draws of the shortlist
still give its members' exact statistics; their rank adds ``E[G_screened(y_i)]`` over their
draws for the screened candidates above them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SCREEN_MIN", "SCREEN_Z", "shortlist", "tail_count", "gaussian_expected_rank"]

SCREEN_MIN = 5000
"""Blocks with more candidates than this are pre-screened by default."""
SCREEN_Z = 4.0
"""Width of the screening bounds in predictive SDs."""
_GRID = 1024
_HERMITE = 32
_CHUNK = 1 << 22  # grid points x candidates evaluated at once


def shortlist(mean: np.ndarray, sd: np.ndarray, k: int, *, z: float = SCREEN_Z,
              keep: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the candidates that can be in the top ``k`` (plus ``keep``)."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    n = len(mean)
    kk = min(int(k), n)
    lower, upper = mean - z * sd, mean + z * sd
    threshold = np.partition(lower, n - kk)[n - kk]  # the k-th largest lower bound
    mask = upper >= threshold
    if keep is not None:
        mask[np.asarray(keep, dtype=np.int64)] = True
    return mask


class _TailCount:
    """``G(t) = sum_j P(y_j > t)`` for independent ``N(mean_j, sd_j^2)``, on a grid."""

    def __init__(self, mean: np.ndarray, sd: np.ndarray, lo: float, hi: float):
        from scipy.special import ndtr

        self.grid = np.linspace(lo, hi, _GRID)
        total = np.zeros(_GRID)
        step = max(1, _CHUNK // _GRID)
        for a in range(0, len(mean), step):
            m, s = mean[a:a + step, None], np.maximum(sd[a:a + step, None], 1e-12)
            total += ndtr((m - self.grid[None, :]) / s).sum(axis=0)
        self.values = total

    def __call__(self, t: np.ndarray) -> np.ndarray:
        # Outside the grid G is flat (all below: the full count; all above: 0).
        return np.interp(t, self.grid, self.values)


def _bounds(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    lo = min(float(np.min(m - 8 * s)) for m, s in parts if len(m))
    hi = max(float(np.max(m + 8 * s)) for m, s in parts if len(m))
    return lo, hi


def tail_count(mean: np.ndarray, sd: np.ndarray, at: np.ndarray,
               span: tuple[float, float] | None = None) -> np.ndarray:
    """``sum_j P(y_j > at)`` over candidates with Gaussian marginals ``(mean, sd)``."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    if not len(mean):
        return np.zeros(np.shape(at))
    lo, hi = span if span is not None else _bounds((mean, sd))
    lo, hi = min(lo, float(np.min(at))), max(hi, float(np.max(at)))
    return _TailCount(mean, sd, lo, hi)(np.asarray(at, dtype=float))


def gaussian_expected_rank(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Expected rank (1 = best) of every candidate under independent Gaussian marginals."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    x, w = np.polynomial.hermite.hermgauss(_HERMITE)
    g = _TailCount(mean, sd, *_bounds((mean, sd)))
    at = mean[:, None] + np.sqrt(2.0) * sd[:, None] * x[None, :]
    expected = (g(at.ravel()).reshape(at.shape) * w[None, :]).sum(axis=1) / np.sqrt(np.pi)
    return 1.0 + expected - 0.5
