"""Evaluation plots: out-of-fold predicted against observed, and coverage@k against k.

Each plot draws its ``*_table`` (fractions in the tables; RewardBench points, x 100, on the
axes). The interval calibration of an evaluation is :func:`rmpredict.plots.plot_calibration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rmpredict.plots._figure import FONT, TITLE_FONT, draw_diagonal, new_grid, series_color

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rmpredict.evaluation import EvaluationResult

__all__ = ["predicted_vs_observed_table", "plot_predicted_vs_observed", "coverage_at_k_table",
           "plot_coverage_at_k"]

HEADLINE_K = (5, 10)
"""The k range the headline ``coverage_at_k`` metric averages (shaded in the plot)."""


def predicted_vs_observed_table(evaluation: EvaluationResult, *,
                                target: str = "score") -> pd.DataFrame:
    """Out-of-fold predictions of ``target``: ``predictor, method, model, observed, mean,
    lower, upper`` (fractions; ``lower``/``upper`` the evaluation's ``ci_prob`` interval, NaN
    for point predictors)."""
    pred = evaluation.predictions
    cols = ["predictor", "method", "model", "observed", "mean", "lower", "upper"]
    return pred.loc[pred["target"] == target, cols].reset_index(drop=True)


def plot_predicted_vs_observed(evaluation: EvaluationResult, *,
                               target: str = "score") -> Figure:
    """Out-of-fold predicted against observed ``target``, one row per method, one column per
    predictor; error bars show the ``ci_prob`` predictive interval where there is one.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = predicted_vs_observed_table(evaluation, target=target)
    methods, names = evaluation.methods, evaluation.predictors
    fig, axes = new_grid(len(methods), len(names), panel=(2.8, 2.8))
    values = 100 * table[["mean", "observed"]].to_numpy(float)
    lo_all, hi_all = (np.nanmin(values), np.nanmax(values)) if values.size else (0.0, 100.0)
    pad = 0.05 * (hi_all - lo_all or 1.0)
    lims = (lo_all - pad, hi_all + pad)
    for i, method in enumerate(methods):
        for j, name in enumerate(names):
            ax = axes[i, j]
            g = table[(table["method"] == method) & (table["predictor"] == name)]
            x, m = 100 * g["observed"].to_numpy(float), 100 * g["mean"].to_numpy(float)
            lo, hi = 100 * g["lower"].to_numpy(float), 100 * g["upper"].to_numpy(float)
            if np.isfinite(lo).any():
                yerr = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])
                ax.errorbar(x, m, yerr=yerr, fmt="none", ecolor="0.7", elinewidth=0.8)
            ax.scatter(x, m, s=12, color=series_color(0), zorder=3)
            draw_diagonal(ax, lims)
            ax.set(xlim=lims, ylim=lims)
            if i == 0:
                ax.set_title(name, fontsize=TITLE_FONT - 1)
            if j == 0:
                ax.set_ylabel(f"{method}\npredicted {target} (points)", fontsize=FONT)
            if i == len(methods) - 1:
                ax.set_xlabel(f"observed {target} (points)", fontsize=FONT)
    fig.suptitle(f"Leave-one-publisher-out: predicted vs observed ({evaluation.ci_prob:.0%} "
                 "intervals)", fontsize=TITLE_FONT)
    return fig


def coverage_at_k_table(evaluation: EvaluationResult, *, max_k: int = 20,
                        target: str = "score") -> pd.DataFrame:
    """coverage@k of the out-of-fold ``target`` ranking for k = 1..max_k:
    ``predictor, method, k, coverage``."""
    return evaluation.coverage_curve(range(1, max_k + 1), target=target)


def plot_coverage_at_k(evaluation: EvaluationResult, *, max_k: int = 20,
                       target: str = "score") -> Figure:
    """coverage@k of the out-of-fold ``target`` ranking against k, one panel per method.

    The shaded band marks k = 5..10, the range the headline ``coverage_at_k`` averages.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = coverage_at_k_table(evaluation, max_k=max_k, target=target)
    methods = evaluation.methods
    fig, axes = new_grid(1, len(methods), panel=(3.4, 3.0))
    for j, method in enumerate(methods):
        ax = axes[0, j]
        ax.axvspan(*HEADLINE_K, color="0.92", zorder=0)
        for k, name in enumerate(evaluation.predictors):
            g = table[(table["method"] == method) & (table["predictor"] == name)]
            ax.plot(g["k"], g["coverage"], marker=".", color=series_color(k), label=name)
        ax.set(ylim=(0, 1.02), xlabel="k")
        ax.set_title(method, fontsize=TITLE_FONT)
        if j == 0:
            ax.set_ylabel(f"coverage@k ({target})", fontsize=FONT)
        ax.legend(fontsize=FONT - 1, loc="best")
    return fig
