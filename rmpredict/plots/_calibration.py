"""Calibration of predictive intervals: one table and one plot for both kinds of evidence.

* a :class:`~rmpredict.models.PredictionResult` with the observed results of the same
  (model, method) pairs (``observed``): coverage of the result's central intervals;
* an :class:`~rmpredict.evaluation.EvaluationResult` of leave-one-publisher-out
  cross-validation: coverage of the held-out category cells, from their PIT, per predictor and
  RM method (the honest, out-of-sample calibration).

Both give the same table, ``predictor, method, target, nominal, coverage, covered, n, se``, and
:func:`plot_calibration` draws exactly that table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.plots._figure import FONT, TITLE_FONT, draw_diagonal, new_axes, series_color

__all__ = ["DEFAULT_PROBS", "CALIBRATION_COLUMNS", "calibration_table", "plot_calibration"]

DEFAULT_PROBS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
"""Nominal central-interval probabilities checked by default."""

CALIBRATION_COLUMNS = ("predictor", "method", "target", "nominal", "coverage", "covered", "n",
                       "se")
POOLED_CATEGORIES = "categories"
"""``target`` of an evaluation's rows: the four RewardBench categories pooled."""


def _is_evaluation(source: object) -> bool:
    from rmpredict.evaluation import EvaluationResult

    return isinstance(source, EvaluationResult)


def _probs(probs: Sequence[float] | None) -> np.ndarray:
    out = np.asarray(DEFAULT_PROBS if probs is None else probs, dtype=float)
    if out.ndim != 1 or not len(out) or ((out <= 0) | (out >= 1)).any():
        raise InvalidParameterError(f"'probs' must be probabilities in (0, 1); got {out}.")
    return out


def _row(predictor: str, method: str, target: str, p: float, covered: int, n: int) -> dict:
    return {"predictor": predictor, "method": method, "target": target, "nominal": float(p),
            "coverage": covered / n if n else np.nan, "covered": int(covered), "n": int(n),
            "se": float(np.sqrt(p * (1 - p) / n)) if n else np.nan}


def calibration_table(source: Any, observed: pd.DataFrame | None = None, *,
                      targets: Sequence[str] | None = None,
                      probs: Sequence[float] | None = None) -> pd.DataFrame:
    """Empirical coverage of central predictive intervals at nominal probabilities.

    Parameters
    ----------
    source : PredictionResult or EvaluationResult
        Predictions whose true accuracy is known (with ``observed``), or a cross-validation
        result (held-out predictions and observations inside it; ``observed`` must be None).
        A PredictionResult's intervals at each probability are those of
        :meth:`PredictionResult.interval` (closed form for the hierarchical predictor, else
        its draws, else a Gaussian with the predictive sd); an evaluation's from the PIT of each
        held-out cell (a central interval of mass q holds the observation iff
        ``|PIT - 0.5| <= q / 2``).
    observed : pandas.DataFrame, optional
        For a PredictionResult: a results table with ``model``, ``method`` and target columns
        (fractions in [0, 1]), matched on (model, method); unmatched rows are ignored.
    targets : sequence of str, optional
        For a PredictionResult: targets to check (default: every target present in both).
    probs : sequence of float, optional
        Nominal probabilities in (0, 1); default :data:`DEFAULT_PROBS`.

    Returns
    -------
    pandas.DataFrame
        ``predictor, method, target, nominal, coverage, covered, n, se``. ``coverage =
        covered / n``; ``se`` is the binomial standard error of a coverage of ``nominal`` with
        ``n`` observations (a calibrated model lies within about 2 se of the diagonal). For a
        PredictionResult ``method`` is ``"all"`` (every predicted method pooled), one row per
        target; for an evaluation, one row per predictor with intervals and method, ``target``
        ``"categories"`` (the four category cells of each held-out model pooled).
    """
    if _is_evaluation(source):
        if observed is not None:
            raise InvalidParameterError(
                "An EvaluationResult holds its own held-out observations; call "
                "calibration_table(evaluation) without 'observed'.")
        if targets is not None:
            raise InvalidParameterError(
                "'targets' applies to a PredictionResult; an evaluation pools its category "
                "cells.")
        return _evaluation_table(source, _probs(probs))
    from rmpredict.models import PredictionResult

    if not isinstance(source, PredictionResult):
        raise InvalidParameterError(
            "calibration_table needs a PredictionResult (with 'observed') or an "
            f"EvaluationResult; got {type(source).__name__}.")
    return _prediction_table(source, observed, targets, _probs(probs))


def _prediction_table(result, observed, targets, probs: np.ndarray) -> pd.DataFrame:
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
    if not result.has_draws and not np.isfinite(result.sd).any():
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
    pos, obs = pos[matched], obs[matched]
    values = {}
    for t in targets:
        y = pd.to_numeric(obs[t], errors="coerce").to_numpy(dtype=float)
        if (y[np.isfinite(y)] > 1.0).any():
            raise InvalidParameterError(
                f"'observed' column {t!r} has values above 1; scores are fractions in "
                "[0, 1] (divide percent by 100).")
        values[t] = y
    rows = []
    for t in targets:
        col, y = result.target(t), values[t]
        finite = np.isfinite(y)
        for p in probs:
            lo, hi = result.interval(float(p))
            inside = (lo[pos, col] <= y) & (y <= hi[pos, col]) & finite
            rows.append(_row(str(result.predictor), "all", t, p, int(inside.sum()),
                             int(finite.sum())))
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def _evaluation_table(evaluation, probs: np.ndarray) -> pd.DataFrame:
    from rmpredict.datasets import CATEGORIES

    pred = evaluation.predictions
    pred = pred[pred["target"].isin(CATEGORIES)]
    rows = []
    for name in evaluation.predictors:
        for method in evaluation.methods:
            cells = pred[(pred["predictor"] == name) & (pred["method"] == method)]
            pit = cells["pit"].to_numpy(float)
            pit = pit[np.isfinite(pit)]
            if not pit.size:  # a point predictor: no predictive distribution, no row
                continue
            for p in probs:
                covered = int(np.sum(np.abs(pit - 0.5) <= p / 2))
                rows.append(_row(name, method, POOLED_CATEGORIES, p, covered, pit.size))
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def plot_calibration(source: Any, observed: pd.DataFrame | None = None, *,
                     targets: Sequence[str] | None = None,
                     probs: Sequence[float] | None = None, ax: Any = None) -> Any:
    """Empirical against nominal coverage of central intervals: :func:`calibration_table` drawn.

    A PredictionResult (with ``observed``) gives one panel with one line per target; an
    EvaluationResult one panel per RM method with one line per predictor that has intervals.
    The grey band is the diagonal +- 2 binomial standard errors of the panel's first line.
    Parameters are those of :func:`calibration_table`; ``ax`` draws a one-panel plot into an
    existing Axes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = calibration_table(source, observed, targets=targets, probs=probs)
    evaluation = _is_evaluation(source)
    if evaluation:
        panels, series = list(source.methods), "predictor"
        fig, axes = new_axes(len(panels), ax=ax, width=3.6, height=3.4)
    else:
        panels, series = ["all"], "target"
        fig, axes = new_axes(1, ax=ax, width=4.8, height=4.4)
    names = list(dict.fromkeys(table[series]))
    for axis, panel in zip(axes, panels):
        block = table[table["method"] == panel]
        if len(block):
            first = block[block[series] == block[series].iloc[0]]
            nominal, band = first["nominal"].to_numpy(), 2 * first["se"].to_numpy()
            axis.fill_between(nominal, np.clip(nominal - band, 0, 1),
                              np.clip(nominal + band, 0, 1), color="0.85", label="+-2 se")
        draw_diagonal(axis, label="calibrated")
        for name, lines in block.groupby(series, sort=False):
            axis.plot(lines["nominal"], lines["coverage"], "o-", ms=3,
                      color=series_color(names.index(name)), label=str(name))
        axis.set(xlim=(0, 1), ylim=(0, 1))
        axis.set_xlabel("nominal probability of central interval", fontsize=FONT)
        if evaluation:
            n = int(block["n"].iloc[0]) if len(block) else 0
            axis.set_title(f"{panel}: held-out category cells (n = {n})", fontsize=TITLE_FONT)
            if not len(block):
                axis.text(0.5, 0.5, "no predictor with intervals", ha="center", fontsize=FONT)
        else:
            axis.set_title(f"Interval calibration (n = {int(table['n'].iloc[0])})",
                           fontsize=TITLE_FONT)
        axis.set_ylabel("empirical coverage", fontsize=FONT)
        axis.legend(fontsize=FONT, loc="upper left")
    return fig
