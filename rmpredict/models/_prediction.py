"""Prediction results: per (model, method, target) means, spreads, intervals and joint draws."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError

__all__ = ["PredictionResult", "validate_ci_prob"]


def validate_ci_prob(ci_prob: float, caller: str) -> float:
    """Return ``ci_prob`` as float or raise :class:`InvalidParameterError` (must be in (0, 1))."""
    try:
        value = float(ci_prob)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise InvalidParameterError(
            f"The 'ci_prob' parameter of {caller} must be a float in the range (0, 1). "
            f"Got {ci_prob!r} instead.")
    return value


def _central_interval(draws: np.ndarray, ci_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Central interval over the draw axis (linear interpolation, as ``np.quantile``).

    Quantiles are taken along the last axis of a contiguous transposed copy: partitioning
    contiguous memory is several times faster than along a strided leading axis.
    """
    alpha = (1.0 - ci_prob) / 2.0
    flat = np.ascontiguousarray(draws.reshape(draws.shape[0], -1).T)
    lo, hi = np.quantile(flat, [alpha, 1.0 - alpha], axis=1)
    shape = draws.shape[1:]
    return lo.reshape(shape), hi.reshape(shape)


@dataclass(init=False, repr=False, eq=False)
class PredictionResult:
    """Predicted RewardBench accuracy for candidates, one row per (model, method).

    Attributes
    ----------
    index : pandas.DataFrame
        Columns ``model`` and ``method``; row ``i`` of every array below belongs to it.
    targets : tuple of str
        Target names along the last axis: the benchmark's categories and ``score``
        (RewardBench v1: ``chat, chat_hard, safety, reasoning, score``).
    benchmark : str
        ``rewardbench`` (v1) or ``rewardbench2``; also in ``provenance``.
    mean : numpy.ndarray, shape (n_rows, n_targets)
        Predictive mean (fraction in [0, 1]).
    sd : numpy.ndarray, shape (n_rows, n_targets)
        Predictive standard deviation; NaN for predictors without uncertainty.
    lower, upper : numpy.ndarray, shape (n_rows, n_targets)
        Central ``ci_prob`` predictive interval; NaN where the predictor has none.
    ci_prob : float
        Probability mass of the interval.
    draws : numpy.ndarray or None, shape (n_draws, n_rows, n_targets)
        Joint posterior-predictive draws (Bayesian predictor only). Draw ``s`` of every row
        comes from the same posterior sample, so correlations between candidates are kept.
        A predictor may compute them on first access (``has_draws`` says whether there are
        any without computing them).
    logit_mean, logit_cov : numpy.ndarray or None, shapes (n_rows, C) and (n_rows, C, C)
        Mean and covariance of the category logits when the summaries come from them (the
        hierarchical predictor): ``mean``, ``sd`` and intervals are then deterministic.
    predictor : str
        Name of the predictor that produced the result.
    provenance : dict
        rmpredict version, model id, data hash, seed.
    notes : pandas.DataFrame, optional
        Per candidate: benchmarks observed, publisher seen in training, extrapolation flags.
    filled : pandas.DataFrame, optional
        Feature values filled from the bundled tables: ``model, column, value, source``.
    trust : rmpredict.decisions.Trust, optional
        Trust flags aligned with the rows (held-out skill of the method, known result,
        extrapolation, new recipe); set by :func:`rmpredict.decisions.attach_trust`.
    """

    index: pd.DataFrame
    targets: tuple[str, ...]
    mean: np.ndarray
    sd: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    ci_prob: float
    predictor: str
    provenance: dict[str, Any]
    notes: pd.DataFrame | None
    filled: pd.DataFrame | None
    trust: Any
    logit_mean: np.ndarray | None
    logit_cov: np.ndarray | None
    benchmark: str

    def __init__(self, index: pd.DataFrame, targets: tuple[str, ...], mean: np.ndarray,
                 sd: np.ndarray, lower: np.ndarray, upper: np.ndarray, ci_prob: float,
                 draws: np.ndarray | None = None, predictor: str = "",
                 provenance: dict[str, Any] | None = None, notes: pd.DataFrame | None = None,
                 filled: pd.DataFrame | None = None, trust: Any = None,
                 draw_source: Callable[[np.ndarray], np.ndarray] | None = None,
                 logit_mean: np.ndarray | None = None, logit_cov: np.ndarray | None = None,
                 benchmark: str = "rewardbench"):
        self.index, self.targets, self.ci_prob = index, targets, ci_prob
        self.benchmark = benchmark
        self.mean, self.sd, self.lower, self.upper = mean, sd, lower, upper
        self.predictor, self.provenance = predictor, dict(provenance or {})
        self.notes, self.filled, self.trust = notes, filled, trust
        self.logit_mean, self.logit_cov = logit_mean, logit_cov
        self._draws = draws
        self._draw_source = draw_source

    @property
    def draws(self) -> np.ndarray | None:
        """Joint draws ``(n_draws, n_rows, n_targets)``, computed on first access if lazy."""
        if self._draws is None and self._draw_source is not None:
            self._draws = self._draw_source(np.arange(len(self.index)))
            self._draw_source = None
        return self._draws

    @draws.setter
    def draws(self, value: np.ndarray | None) -> None:
        self._draws, self._draw_source = value, None

    @property
    def has_draws(self) -> bool:
        """Whether joint draws exist (without computing lazy ones)."""
        return self._draws is not None or self._draw_source is not None

    @classmethod
    def from_draws(cls, index: pd.DataFrame, targets: tuple[str, ...], draws: np.ndarray,
                   ci_prob: float, **kwargs: Any) -> PredictionResult:
        """Summarise joint draws (``(n_draws, n_rows, n_targets)``) into a result."""
        ci_prob = validate_ci_prob(ci_prob, "PredictionResult.from_draws")
        lo, hi = _central_interval(draws, ci_prob)
        return cls(index=index.reset_index(drop=True), targets=tuple(targets),
                   mean=draws.mean(axis=0), sd=draws.std(axis=0, ddof=1), lower=lo, upper=hi,
                   ci_prob=ci_prob, draws=draws, **kwargs)

    @classmethod
    def from_logit_moments(cls, index: pd.DataFrame, targets: tuple[str, ...],
                           logit_mean: np.ndarray, logit_cov: np.ndarray, ci_prob: float,
                           **kwargs: Any) -> PredictionResult:
        """Summarise Gaussian category logits (see :mod:`rmpredict.models._logit_normal`)."""
        from rmpredict.models._logit_normal import summarise_logit_normal

        ci_prob = validate_ci_prob(ci_prob, "PredictionResult.from_logit_moments")
        mean, sd, lo, hi = summarise_logit_normal(logit_mean, logit_cov, ci_prob)
        return cls(index=index.reset_index(drop=True), targets=tuple(targets), mean=mean,
                   sd=sd, lower=lo, upper=hi, ci_prob=ci_prob, logit_mean=logit_mean,
                   logit_cov=logit_cov, **kwargs)

    @property
    def has_intervals(self) -> bool:
        """Whether the predictor provides predictive intervals."""
        return bool(np.isfinite(self.lower).any())

    def interval(self, ci_prob: float) -> tuple[np.ndarray, np.ndarray]:
        """Central predictive interval at another ``ci_prob`` (closed form, draws or sd)."""
        ci_prob = validate_ci_prob(ci_prob, "PredictionResult.interval")
        alpha = (1.0 - ci_prob) / 2.0
        if self.logit_mean is not None:
            from rmpredict.models._logit_normal import summarise_logit_normal

            _, _, lo, hi = summarise_logit_normal(self.logit_mean, self.logit_cov, ci_prob)
            return lo, hi
        if self.has_draws:
            return _central_interval(self.draws, ci_prob)
        from scipy.special import ndtri

        z = ndtri(1.0 - alpha)
        return self.mean - z * self.sd, self.mean + z * self.sd

    def target(self, name: str) -> int:
        """Position of target ``name`` along the last axis."""
        if name not in self.targets:
            raise InvalidParameterError(
                f"The 'target' must be one of {list(self.targets)}. Got {name!r} instead.")
        return self.targets.index(name)

    def select(self, method: str) -> PredictionResult:
        """The rows of one RM method."""
        mask = (self.index["method"] == method).to_numpy()
        if not mask.any():
            raise InvalidParameterError(
                f"The 'method' must be one of {sorted(self.index['method'].unique())}. "
                f"Got {method!r} instead.")
        return PredictionResult(
            index=self.index[mask].reset_index(drop=True), targets=self.targets,
            mean=self.mean[mask], sd=self.sd[mask], lower=self.lower[mask],
            upper=self.upper[mask], ci_prob=self.ci_prob,
            draws=None if self._draws is None else self._draws[:, mask],
            draw_source=self._subset_source(mask), predictor=self.predictor,
            provenance=self.provenance, notes=self.notes, filled=self.filled,
            trust=None if self.trust is None else self.trust.subset(mask),
            logit_mean=None if self.logit_mean is None else self.logit_mean[mask],
            logit_cov=None if self.logit_cov is None else self.logit_cov[mask],
            benchmark=self.benchmark)

    def _subset_source(self, mask: np.ndarray):
        """The lazy draw source of the rows in ``mask`` (None if draws exist or never will)."""
        if self._draws is not None or self._draw_source is None:
            return None
        source, rows = self._draw_source, np.flatnonzero(mask)
        return lambda sel: source(rows[sel])

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``model, method, target, mean, sd, lower, upper, ci_prob``.

        With :attr:`trust` attached, the flags follow: ``skill, known_result, observed,
        extrapolated, extrapolation, new_recipe`` (``observed`` is the known value of that
        target, NaN otherwise).
        """
        n, t = self.mean.shape
        frame = pd.DataFrame({
            "model": np.repeat(self.index["model"].to_numpy(), t),
            "method": np.repeat(self.index["method"].to_numpy(), t),
            "target": np.tile(np.array(self.targets, dtype=object), n),
            "mean": self.mean.ravel(),
            "sd": self.sd.ravel(),
            "lower": self.lower.ravel(),
            "upper": self.upper.ravel(),
        })
        frame["ci_prob"] = self.ci_prob
        if self.trust is not None:
            rows = self.trust.rows
            for col in ("skill", "known_result"):
                frame[col] = np.repeat(rows[col].to_numpy(), t)
            nan = np.full(len(rows), np.nan)
            obs = np.column_stack([rows[f"observed_{name}"].to_numpy(dtype=float)
                                   if f"observed_{name}" in rows else nan
                                   for name in self.targets])
            frame["observed"] = obs.ravel()
            for col in ("extrapolated", "extrapolation", "new_recipe"):
                frame[col] = np.repeat(rows[col].to_numpy(), t)
        return frame

    def to_wide(self, stat: str = "mean") -> pd.DataFrame:
        """One row per (model, method), one column per target, holding ``stat``."""
        values = getattr(self, stat)
        wide = pd.DataFrame(values, columns=list(self.targets))
        return pd.concat([self.index.reset_index(drop=True), wide], axis=1)

    def __repr__(self) -> str:
        n = len(self.index)
        shown = ("none" if not self.has_draws else "lazy" if self._draws is None
                 else self._draws.shape[0])
        return (f"PredictionResult(predictor={self.predictor!r}, benchmark={self.benchmark!r}, "
                f"rows={n}, "
                f"targets={list(self.targets)}, ci_prob={self.ci_prob}, "
                f"draws={shown})")
