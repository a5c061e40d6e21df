"""Evaluation plots: predicted vs observed, interval calibration, coverage@k against k.

Every function returns the matplotlib Figure (never shows it); values are drawn in points
(RewardBench accuracy x 100).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rmpredict.datasets._schema import CATEGORIES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rmpredict.evaluation._cv import EvaluationResult

__all__ = ["plot_predicted_vs_observed", "plot_calibration", "plot_coverage_at_k"]


def _figure(nrows: int, ncols: int, size: tuple[float, float]):
    from matplotlib.figure import Figure

    # Figure() directly, not pyplot: no global state, nothing to close in a long run.
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    return fig, axes


def plot_predicted_vs_observed(evaluation: EvaluationResult, *, target: str = "score") -> Figure:
    """Out-of-fold predicted against observed ``target``, one row per method, one column
    per predictor; error bars show the ``ci_prob`` predictive interval where there is one.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pred = evaluation.predictions
    pred = pred[pred["target"] == target]
    methods, names = evaluation.methods, evaluation.predictors
    fig, axes = _figure(len(methods), len(names), (2.8, 2.8))
    lo_all = 100 * np.nanmin(pred[["mean", "observed"]].to_numpy(float))
    hi_all = 100 * np.nanmax(pred[["mean", "observed"]].to_numpy(float))
    pad = 0.05 * (hi_all - lo_all or 1.0)
    lims = (lo_all - pad, hi_all + pad)
    for i, method in enumerate(methods):
        for j, name in enumerate(names):
            ax = axes[i, j]
            g = pred[(pred["method"] == method) & (pred["predictor"] == name)]
            x, m = 100 * g["observed"].to_numpy(float), 100 * g["mean"].to_numpy(float)
            lo, hi = 100 * g["lower"].to_numpy(float), 100 * g["upper"].to_numpy(float)
            if np.isfinite(lo).any():
                yerr = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])
                ax.errorbar(x, m, yerr=yerr, fmt="none", ecolor="0.7", elinewidth=0.8)
            ax.scatter(x, m, s=12, color="C0", zorder=3)
            ax.plot(lims, lims, color="0.4", lw=0.8, ls="--")
            ax.set(xlim=lims, ylim=lims)
            if i == 0:
                ax.set_title(name, fontsize=9)
            if j == 0:
                ax.set_ylabel(f"{method}\npredicted {target} (points)", fontsize=8)
            if i == len(methods) - 1:
                ax.set_xlabel(f"observed {target} (points)", fontsize=8)
    fig.suptitle(f"Leave-one-publisher-out: predicted vs observed ({evaluation.ci_prob:.0%} "
                 "intervals)", fontsize=10)
    return fig


def calibration_table(evaluation: EvaluationResult,
                      levels: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Empirical coverage of central intervals at ``levels`` over category cells, from PIT.

    A central interval of mass ``q`` contains the observation iff ``|PIT - 0.5| <= q / 2``.
    Returns the levels and ``{(predictor, method): coverages}`` for predictors with a
    predictive distribution (finite PIT).
    """
    levels = np.linspace(0.1, 0.9, 9) if levels is None else np.asarray(levels, dtype=float)
    pred = evaluation.predictions
    pred = pred[pred["target"].isin(CATEGORIES)]
    out = {}
    for (name, method), g in pred.groupby(["predictor", "method"], sort=False):
        pit = g["pit"].to_numpy(float)
        pit = pit[np.isfinite(pit)]
        if pit.size:
            out[(name, method)] = np.array([np.mean(np.abs(pit - 0.5) <= q / 2) for q in levels])
    return levels, out


def plot_calibration(evaluation: EvaluationResult, *,
                     levels: np.ndarray | None = None) -> Figure:
    """Nominal vs empirical coverage of central predictive intervals, one panel per method.

    Curves come from the PIT of held-out (model, method, category) cells (draws, or a normal
    predictive with the result's sd); the markers are the 50% and 90% coverages computed
    from the predictors' own intervals (as in ``metrics.json``). Predictors without intervals
    are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    levels, table = calibration_table(evaluation, levels)
    headline = evaluation.metrics()
    methods = evaluation.methods
    fig, axes = _figure(1, len(methods), (3.4, 3.2))
    for j, method in enumerate(methods):
        ax = axes[0, j]
        ax.plot([0, 1], [0, 1], color="0.4", lw=0.8, ls="--")
        for k, name in enumerate(evaluation.predictors):
            color = f"C{k % 10}"
            if (name, method) in table:
                ax.plot(levels, table[(name, method)], color=color, label=name)
            row = headline[(headline["predictor"] == name) & (headline["method"] == method)]
            cov = row[["interval_coverage_50", "interval_coverage_90"]].to_numpy(float).ravel()
            if cov.size and np.isfinite(cov).any():
                ax.scatter([0.5, 0.9], cov, color=color, marker="o", s=18, zorder=3)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=method, xlabel="nominal coverage")
        if j == 0:
            ax.set_ylabel("empirical coverage (category cells)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
        elif not table:
            ax.text(0.5, 0.5, "no predictor with intervals", ha="center", fontsize=8)
    return fig


def plot_coverage_at_k(evaluation: EvaluationResult, *, max_k: int = 20,
                       target: str = "score") -> Figure:
    """coverage@k of the out-of-fold ``target`` ranking against k, one panel per method.

    The shaded band marks k = 5..10, the range the headline ``coverage_at_k`` averages.

    Returns
    -------
    matplotlib.figure.Figure
    """
    curve = evaluation.coverage_curve(range(1, max_k + 1), target=target)
    methods = evaluation.methods
    fig, axes = _figure(1, len(methods), (3.4, 3.0))
    for j, method in enumerate(methods):
        ax = axes[0, j]
        ax.axvspan(5, 10, color="0.92", zorder=0)
        for k, name in enumerate(evaluation.predictors):
            g = curve[(curve["method"] == method) & (curve["predictor"] == name)]
            ax.plot(g["k"], g["coverage"], marker=".", color=f"C{k % 10}", label=name)
        ax.set(ylim=(0, 1.02), title=method, xlabel="k")
        if j == 0:
            ax.set_ylabel(f"coverage@k ({target})")
        ax.legend(fontsize=7, loc="best")
    return fig
