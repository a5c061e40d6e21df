"""Calibration of predictive intervals against observed RM results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult
from rmpredict.plots._figure import new_axes

__all__ = ["DEFAULT_PROBS", "calibration_table", "plot_calibration"]

DEFAULT_PROBS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
"""Nominal central-interval probabilities checked by default."""


def calibration_table(result: PredictionResult, observed: pd.DataFrame, *,
                      targets: Sequence[str] | None = None,
                      probs: Sequence[float] | None = None) -> pd.DataFrame:
    """Empirical coverage of central predictive intervals against observed accuracies.

    Parameters
    ----------
    result : PredictionResult
        Predictions for (model, method) pairs whose true accuracy is known (e.g. held out).
        Intervals at each nominal probability come from the draws, or from a Gaussian with the
        predictive sd when the predictor has no draws.
    observed : pandas.DataFrame
        Results table with ``model``, ``method`` and target columns (fractions in [0, 1]).
        Rows are matched to predictions on (model, method); unmatched rows are ignored.
    targets : sequence of str, optional
        Targets to check; default: every target present in both.
    probs : sequence of float, optional
        Nominal probabilities in (0, 1); default :data:`DEFAULT_PROBS`.

    Returns
    -------
    pandas.DataFrame
        ``target, nominal, coverage, covered, n, se``: ``coverage = covered / n`` is the fraction
        of observations inside the central ``nominal`` interval; ``se`` is the binomial standard
        error of a coverage of ``nominal`` with ``n`` observations (a calibrated model lies
        within about 2 se of the diagonal).
    """
    if not isinstance(result, PredictionResult):
        raise InvalidParameterError(
            f"'result' must be a PredictionResult; got {type(result).__name__}.")
    if not isinstance(observed, pd.DataFrame):
        raise InvalidParameterError(
            f"'observed' must be a results DataFrame; got {type(observed).__name__}.")
    missing = [c for c in ("model", "method") if c not in observed.columns]
    if missing:
        raise InvalidParameterError(
            f"'observed' lacks column(s) {missing}; it needs model, method and target columns.")
    if targets is None:
        targets = [t for t in result.targets if t in observed.columns]
        if not targets:
            raise InvalidParameterError(
                f"'observed' has none of the target columns {list(result.targets)}.")
    for t in targets:
        result.target(t)
        if t not in observed.columns:
            raise InvalidParameterError(f"'observed' lacks the target column {t!r}.")
    probs = np.asarray(DEFAULT_PROBS if probs is None else probs, dtype=float)
    if probs.ndim != 1 or not len(probs) or ((probs <= 0) | (probs >= 1)).any():
        raise InvalidParameterError(f"'probs' must be probabilities in (0, 1); got {probs}.")
    if result.draws is None and not np.isfinite(result.sd).any():
        raise InvalidParameterError(
            f"Predictor {result.predictor!r} gives no uncertainty (no draws, no sd); "
            "calibration needs predictive intervals.")
    keys = pd.MultiIndex.from_frame(result.index[["model", "method"]].astype(str))
    obs = observed.drop_duplicates(["model", "method"], keep="last")
    obs = obs.set_index([obs["model"].astype(str), obs["method"].astype(str)])
    pos = keys.get_indexer(obs.index)
    matched = pos >= 0
    if not matched.any():
        raise InvalidParameterError(
            "No (model, method) pair of 'observed' is among the predictions; predict the "
            "models and methods of the results table first.")
    pos = pos[matched]
    obs = obs[matched]
    rows = []
    for p in probs:
        lo, hi = result.interval(float(p))
        for t in targets:
            col = result.target(t)
            y = pd.to_numeric(obs[t], errors="coerce").to_numpy(dtype=float)
            finite = np.isfinite(y)
            if (y[finite] > 1.0).any():
                raise InvalidParameterError(
                    f"'observed' column {t!r} has values above 1; scores are fractions in "
                    "[0, 1] (divide percent by 100).")
            inside = (lo[pos, col] <= y) & (y <= hi[pos, col]) & finite
            n = int(finite.sum())
            rows.append({"target": t, "nominal": float(p),
                         "coverage": inside.sum() / n if n else np.nan,
                         "covered": int(inside.sum()), "n": n,
                         "se": float(np.sqrt(p * (1 - p) / n)) if n else np.nan})
    table = pd.DataFrame(rows)
    order = {t: i for i, t in enumerate(targets)}
    return table.sort_values(["target", "nominal"], key=lambda s: s.map(order)
                             if s.name == "target" else s, kind="stable").reset_index(drop=True)


def plot_calibration(result: PredictionResult, observed: pd.DataFrame, *,
                     targets: Sequence[str] | None = None,
                     probs: Sequence[float] | None = None, ax: Any = None) -> Any:
    """Plot empirical vs nominal coverage of central intervals, one line per target.

    The grey band is the diagonal +- 2 binomial standard errors of the first target's ``n``.
    Parameters are those of :func:`calibration_table`; ``ax`` draws into an existing Axes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = calibration_table(result, observed, targets=targets, probs=probs)
    fig, (axis,) = new_axes(1, ax=ax, width=4.8, height=4.4)
    first = table[table["target"] == table["target"].iloc[0]]
    nominal = first["nominal"].to_numpy()
    band = 2 * first["se"].to_numpy()
    axis.fill_between(nominal, np.clip(nominal - band, 0, 1), np.clip(nominal + band, 0, 1),
                      color="0.85", label="+-2 se")
    axis.plot([0, 1], [0, 1], color="0.4", lw=1, ls="--", label="calibrated")
    for t, block in table.groupby("target", sort=False):
        axis.plot(block["nominal"], block["coverage"], "o-", ms=3, label=t)
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_xlabel("nominal probability of central interval")
    axis.set_ylabel("empirical coverage")
    axis.set_title(f"Interval calibration (n = {int(first['n'].iloc[0])})", fontsize=10)
    axis.legend(fontsize=8, loc="upper left")
    return fig
