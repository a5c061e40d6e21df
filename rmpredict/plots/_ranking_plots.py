"""Forest plot of candidates with intervals, and P(best) bars, each with a compute twin."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._ranking import RankingResult
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult
from rmpredict.plots._figure import new_axes

__all__ = ["forest_table", "plot_forest", "p_best_table", "plot_p_best"]


def _methods(available: list[str], method: str | None) -> list[str]:
    if method is None:
        return available
    if method not in available:
        raise InvalidParameterError(
            f"The 'method' must be one of {available} or None. Got {method!r} instead.")
    return [method]


def forest_table(result_or_ranking: PredictionResult | RankingResult, *, target: str = "score",
                 method: str | None = None) -> pd.DataFrame:
    """The data a forest plot draws: ``method, group, model, mean, lower, upper, order``.

    Parameters
    ----------
    result_or_ranking : PredictionResult or RankingResult
        A prediction (any predictor with intervals) or a ranking (its target is used).
    target : str, default="score"
        Target to show (ignored for a ranking, which has one target).
    method : str, optional
        One RM method; ``None`` keeps all.

    Returns
    -------
    pandas.DataFrame
        Fractions in [0, 1]; ``order`` is 1 for the highest mean within each method and group.
    """
    if isinstance(result_or_ranking, RankingResult):
        frame = result_or_ranking.table[["method", "group", "model", "mean", "lower", "upper"]]
    elif isinstance(result_or_ranking, PredictionResult):
        res = result_or_ranking
        t = res.target(target)
        frame = pd.DataFrame({"method": res.index["method"].to_numpy(), "group": "all",
                              "model": res.index["model"].to_numpy(), "mean": res.mean[:, t],
                              "lower": res.lower[:, t], "upper": res.upper[:, t]})
    else:
        raise InvalidParameterError(
            "plot_forest needs a PredictionResult or a RankingResult; got "
            f"{type(result_or_ranking).__name__}.")
    methods = _methods(list(dict.fromkeys(frame["method"])), method)
    frame = frame[frame["method"].isin(methods)].copy()
    # Keep methods and groups in their given order (groups: <3B, 3-6B, >=6B), not alphabetical.
    frame["_m"] = frame["method"].map({m: i for i, m in enumerate(methods)})
    frame["_g"] = frame["group"].map({g: i for i, g in enumerate(dict.fromkeys(frame["group"]))})
    frame = frame.sort_values(["_m", "_g", "mean"], ascending=[True, True, False],
                              kind="stable").drop(columns=["_m", "_g"])
    frame["order"] = frame.groupby(["method", "group"], sort=False).cumcount() + 1
    return frame.reset_index(drop=True)


def _method_panels(table: pd.DataFrame, *, ax: Any, max_rows: int | None
                   ) -> tuple[Any, list[tuple[Any, str, pd.DataFrame]]]:
    """One horizontal panel per method, sized to its rows: ``(fig, [(axis, method, block)])``."""
    methods = list(dict.fromkeys(table["method"]))
    n_max = min(table.groupby("method").size().max(), max_rows or 10 ** 9)
    fig, axes = new_axes(len(methods), ax=ax, height=max(2.5, 0.28 * n_max + 1.2))
    panels = []
    for axis, meth in zip(axes, methods):
        block = table[table["method"] == meth]
        if max_rows is not None:
            block = block.groupby("group", sort=False).head(max_rows)
        panels.append((axis, meth, block))
    return fig, panels


def plot_forest(result_or_ranking: PredictionResult | RankingResult, *, target: str = "score",
                method: str | None = None, ax: Any = None, max_rows: int | None = 40) -> Any:
    """Forest plot: candidates ordered by predicted mean with their intervals (points).

    Parameters
    ----------
    result_or_ranking : PredictionResult or RankingResult
    target : str, default="score"
    method : str, optional
        One method; ``None`` draws one panel per method (then ``ax`` must be ``None``).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes (one method only).
    max_rows : int, optional
        Show at most this many candidates per panel (the highest means).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = forest_table(result_or_ranking, target=target, method=method)
    if isinstance(result_or_ranking, RankingResult):
        target, ci_prob = result_or_ranking.target, result_or_ranking.ci_prob
    else:
        ci_prob = result_or_ranking.ci_prob
    fig, panels = _method_panels(table, ax=ax, max_rows=max_rows)
    for axis, meth, block in panels:
        ypos = np.arange(len(block))[::-1]
        mean = 100 * block["mean"].to_numpy()
        lo, hi = 100 * block["lower"].to_numpy(), 100 * block["upper"].to_numpy()
        has_ci = np.isfinite(lo) & np.isfinite(hi)
        axis.hlines(ypos[has_ci], lo[has_ci], hi[has_ci], color="C0", lw=2)
        axis.plot(mean, ypos, "o", color="C3", ms=4, zorder=3)
        labels = [m if g == "all" else f"{m} [{g}]"
                  for m, g in zip(block["model"], block["group"])]
        axis.set_yticks(ypos, labels, fontsize=8)
        axis.set_xlabel(f"predicted {target} (RewardBench points)")
        axis.set_title(f"{meth}: mean and {round(100 * ci_prob)}% interval", fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    return fig


def p_best_table(ranking: RankingResult, *, method: str | None = None) -> pd.DataFrame:
    """The data the P(best) bars draw: ``method, group, model, p_best, p_top_k, position``."""
    if not isinstance(ranking, RankingResult):
        raise InvalidParameterError(
            f"plot_p_best needs a RankingResult (rank_candidates); got {type(ranking).__name__}.")
    methods = _methods(ranking.methods, method)
    cols = ["method", "group", "model", "p_best", "p_top_k", "position"]
    return ranking.table.loc[ranking.table["method"].isin(methods), cols].reset_index(drop=True)


def plot_p_best(ranking: RankingResult, *, method: str | None = None, ax: Any = None,
                max_rows: int | None = 20) -> Any:
    """Horizontal bars of P(best) (dark) over P(in top k) (light) per candidate.

    Parameters
    ----------
    ranking : RankingResult
    method : str, optional
        One method; ``None`` draws one panel per method.
    ax : matplotlib.axes.Axes, optional
    max_rows : int, optional
        Show at most this many candidates per method and group (highest P(best) first).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = p_best_table(ranking, method=method)
    fig, panels = _method_panels(table, ax=ax, max_rows=max_rows)
    for axis, meth, block in panels:
        ypos = np.arange(len(block))[::-1]
        axis.barh(ypos, block["p_top_k"], color="C0", alpha=0.3,
                  label=f"P(in top {ranking.k})")
        axis.barh(ypos, block["p_best"], color="C0", label="P(best)")
        labels = [m if g == "all" else f"{m} [{g}]"
                  for m, g in zip(block["model"], block["group"])]
        axis.set_yticks(ypos, labels, fontsize=8)
        axis.set_xlim(0, 1)
        axis.set_xlabel("probability")
        axis.set_title(f"{meth}: probability of being the best ({ranking.target})", fontsize=10)
        axis.legend(loc="lower right", fontsize=8)
    return fig
