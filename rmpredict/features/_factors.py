"""A probabilistic factor model of benchmark scores, learned from unlabelled leaderboard models.

Scores are standardised per benchmark and modelled as ``x = mu + Lambda f + eps`` with latent
capability ``f ~ N(0, I_K)`` and diagonal noise ``eps ~ N(0, Psi)``. Parameters are fitted by EM
with missing values (each model contributes only the benchmarks it has), so models that appear in
only one leaderboard version still inform the loadings. For any model, the posterior of its
capability given the scores it has is Gaussian in closed form; fewer observed scores give a wider
posterior, which the predictor propagates (missing scores are never mean-imputed).

References
----------
Ghahramani, Z. and Hinton, G. E. (1996). The EM algorithm for mixtures of factor analyzers.
Technical Report CRG-TR-96-1, University of Toronto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets import BENCHMARKS
from rmpredict.exceptions import InvalidParameterError, NotFittedError

__all__ = ["BenchmarkFactorModel", "default_factor_model", "leaderboard_matrix"]


def leaderboard_matrix(benchmarks: tuple[str, ...] = BENCHMARKS) -> pd.DataFrame:
    """All bundled leaderboard models (v1 ∪ v2, joined on the exact id), one row per model."""
    from rmpredict.datasets import load_leaderboard

    v2 = load_leaderboard(2)
    v1 = load_leaderboard(1)
    cols2 = [b for b in benchmarks if b in v2.columns]
    cols1 = [b for b in benchmarks if b in v1.columns and b not in cols2]
    merged = v2[["model", *cols2]].merge(v1[["model", *cols1]], on="model", how="outer")
    return merged.set_index("model")[list(benchmarks)].sort_index()


@dataclass
class _Fit:
    center: np.ndarray
    scale: np.ndarray
    mu: np.ndarray
    loadings: np.ndarray
    psi: np.ndarray
    loglik: float
    n_rows: int
    n_iter: int


class BenchmarkFactorModel:
    """Factor analysis of benchmark scores with missing values (EM).

    Parameters
    ----------
    n_factors : int, default=3
        Dimension ``K`` of the latent capability.
    benchmarks : tuple of str, default=all 12 leaderboard v1 and v2 benchmarks
        Columns used (fractions in [0, 1]).
    max_iter : int, default=300
    tol : float, default=1e-6
        Relative change of the log-likelihood that stops EM.

    Attributes
    ----------
    loadings_ : ndarray, shape (n_benchmarks, n_factors)
        Loadings on the standardised scale, rotated so that columns are ordered by the
        information they carry and have a positive sum.
    psi_ : ndarray, shape (n_benchmarks,)
        Noise variances on the standardised scale.
    center_, scale_ : ndarray
        Per-benchmark mean and standard deviation used to standardise.
    loglik_ : float
        Log-likelihood of the training table (observed entries only).
    """

    def __init__(self, *, n_factors: int = 3, benchmarks: tuple[str, ...] = BENCHMARKS,
                 max_iter: int = 300, tol: float = 1e-6):
        self.n_factors = n_factors
        self.benchmarks = benchmarks
        self.max_iter = max_iter
        self.tol = tol

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, scores: pd.DataFrame) -> BenchmarkFactorModel:
        """Fit on a table with one column per benchmark (NaN where missing)."""
        k = int(self.n_factors)
        if k < 1 or k >= len(self.benchmarks):
            raise InvalidParameterError(
                f"The 'n_factors' parameter of BenchmarkFactorModel must be in [1, "
                f"{len(self.benchmarks) - 1}]. Got {self.n_factors!r} instead.")
        x = scores[list(self.benchmarks)].to_numpy(dtype=float)
        x = x[~np.isnan(x).all(axis=1)]
        center = np.nanmean(x, axis=0)
        scale = np.nanstd(x, axis=0)
        z = (x - center) / scale
        fit = self._em(z, k)
        self.center_, self.scale_ = center, scale
        self.mu_, self.loadings_, self.psi_ = fit.mu, fit.loadings, fit.psi
        self.loglik_, self.n_rows_, self.n_iter_ = fit.loglik, fit.n_rows, fit.n_iter
        return self

    def _em(self, z: np.ndarray, k: int) -> _Fit:
        n, p = z.shape
        obs = ~np.isnan(z)
        zf = np.where(obs, z, 0.0)
        # Deterministic start: principal axes of the pairwise-complete correlation matrix.
        corr = pd.DataFrame(z).corr(min_periods=20).fillna(0.0).to_numpy()
        evals, evecs = np.linalg.eigh(corr)
        order = np.argsort(evals)[::-1][:k]
        lam = evecs[:, order] * np.sqrt(np.maximum(evals[order], 1e-3))
        psi = np.clip(1.0 - (lam**2).sum(1), 0.05, None)
        mu = np.zeros(p)
        patterns, inverse = np.unique(obs, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        prev = -np.inf
        loglik = -np.inf
        n_iter = 0
        for n_iter in range(1, int(self.max_iter) + 1):  # noqa: B007 - used after the loop
            m = np.zeros((n, k))
            ff = np.zeros((n, k, k))
            loglik = 0.0
            for g, pat in enumerate(patterns):
                rows = inverse == g
                if not pat.any():
                    continue
                lo, po = lam[pat], psi[pat]
                prec = np.eye(k) + lo.T @ (lo / po[:, None])
                v = np.linalg.inv(prec)
                d = z[rows][:, pat] - mu[pat]
                mi = (d / po) @ lo @ v
                m[rows] = mi
                ff[rows] = v + mi[:, :, None] * mi[:, None, :]
                cov = lo @ lo.T + np.diag(po)
                sign, logdet = np.linalg.slogdet(cov)
                quad = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
                loglik += -0.5 * (quad.sum()
                                  + rows.sum() * (logdet + pat.sum() * np.log(2 * np.pi)))
            # M-step, one benchmark at a time over the rows that observe it.
            for j in range(p):
                r = obs[:, j]
                a = np.zeros((k + 1, k + 1))
                a[0, 0] = r.sum()
                a[0, 1:] = a[1:, 0] = m[r].sum(0)
                a[1:, 1:] = ff[r].sum(0)
                b = np.concatenate([[zf[r, j].sum()], (zf[r, j][:, None] * m[r]).sum(0)])
                coef = np.linalg.solve(a, b)
                mu[j], lam[j] = coef[0], coef[1:]
                resid2 = (zf[r, j] ** 2 - 2 * zf[r, j] * (mu[j] + m[r] @ lam[j])
                          + mu[j] ** 2 + 2 * mu[j] * (m[r] @ lam[j])
                          + np.einsum("i,nij,j->n", lam[j], ff[r], lam[j]))
                psi[j] = max(resid2.mean(), 1e-4)
            if np.isfinite(prev) and abs(loglik - prev) <= self.tol * abs(prev):
                break
            prev = loglik
        lam = self._rotate(lam, psi)
        return _Fit(np.zeros(p), np.ones(p), mu, lam, psi, float(loglik), n, n_iter)

    @staticmethod
    def _rotate(lam: np.ndarray, psi: np.ndarray) -> np.ndarray:
        """Canonical rotation: Lambda^T Psi^-1 Lambda diagonal, decreasing, column sums >= 0."""
        g = lam.T @ (lam / psi[:, None])
        evals, evecs = np.linalg.eigh(g)
        rot = evecs[:, np.argsort(evals)[::-1]]
        out = lam @ rot
        signs = np.where(out.sum(0) < 0, -1.0, 1.0)
        return out * signs

    # -- inference -------------------------------------------------------------------------
    def posterior(self, scores: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior of the capability of each row given the scores it has.

        Returns
        -------
        mean : ndarray, shape (n, K)
        cov : ndarray, shape (n, K, K)
            Equals the prior ``I`` for a row without any score.
        n_observed : ndarray, shape (n,)
            Number of benchmark scores the row has.
        """
        if not hasattr(self, "loadings_"):
            raise NotFittedError("This BenchmarkFactorModel is not fitted yet; call 'fit'.")
        cols = [b for b in self.benchmarks]
        x = np.column_stack([
            pd.to_numeric(scores[c], errors="coerce").to_numpy(dtype=float) if c in scores
            else np.full(len(scores), np.nan) for c in cols])
        z = (x - self.center_) / self.scale_
        obs = ~np.isnan(z)
        n, k = len(z), self.loadings_.shape[1]
        mean = np.zeros((n, k))
        cov = np.tile(np.eye(k), (n, 1, 1))
        # Rows sharing a pattern of observed scores share the posterior covariance.
        patterns, which = np.unique(obs, axis=0, return_inverse=True)
        for j, pat in enumerate(patterns):
            if not pat.any():
                continue
            rows = np.flatnonzero(which.ravel() == j)
            lo, po = self.loadings_[pat], self.psi_[pat]
            v = np.linalg.inv(np.eye(k) + lo.T @ (lo / po[:, None]))
            mean[rows] = ((z[np.ix_(rows, np.flatnonzero(pat))] - self.mu_[pat]) / po) @ lo @ v
            cov[rows] = v
        return mean, cov, obs.sum(1)

    def bic(self) -> float:
        """Bayesian information criterion of the fit (lower is better)."""
        p, k = self.loadings_.shape
        n_par = p * k - k * (k - 1) / 2 + 2 * p
        return float(-2 * self.loglik_ + n_par * np.log(self.n_rows_))

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (stored in the predictor's netCDF attributes)."""
        return {"n_factors": int(self.n_factors), "benchmarks": list(self.benchmarks),
                "center": self.center_.tolist(), "scale": self.scale_.tolist(),
                "mu": self.mu_.tolist(), "loadings": self.loadings_.tolist(),
                "psi": self.psi_.tolist(), "loglik": self.loglik_, "n_rows": self.n_rows_,
                "n_iter": self.n_iter_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> BenchmarkFactorModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        obj = cls(n_factors=int(state["n_factors"]), benchmarks=tuple(state["benchmarks"]))
        obj.center_ = np.asarray(state["center"], dtype=float)
        obj.scale_ = np.asarray(state["scale"], dtype=float)
        obj.mu_ = np.asarray(state["mu"], dtype=float)
        obj.loadings_ = np.asarray(state["loadings"], dtype=float)
        obj.psi_ = np.asarray(state["psi"], dtype=float)
        obj.loglik_ = float(state["loglik"])
        obj.n_rows_ = int(state["n_rows"])
        obj.n_iter_ = int(state["n_iter"])
        return obj


_DEFAULT_CACHE: dict[tuple[int, tuple[str, ...]], BenchmarkFactorModel] = {}


def default_factor_model(n_factors: int = 3,
                         benchmarks: tuple[str, ...] = BENCHMARKS) -> BenchmarkFactorModel:
    """The factor model fitted on the bundled leaderboards (cached per process; deterministic)."""
    key = (int(n_factors), tuple(benchmarks))
    if key not in _DEFAULT_CACHE:
        _DEFAULT_CACHE[key] = BenchmarkFactorModel(
            n_factors=n_factors, benchmarks=tuple(benchmarks)).fit(leaderboard_matrix(benchmarks))
    return _DEFAULT_CACHE[key]
