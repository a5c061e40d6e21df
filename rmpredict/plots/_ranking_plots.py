"""Forest plot of candidates with intervals, and P(best) bars, each with a compute twin."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import unique_in_order
from rmpredict.decisions._ranking import RankingResult
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models import PredictionResult
from rmpredict.plots._figure import new_axes

__all__ = ["forest_table", "plot_forest", "p_best_table", "plot_p_best",
           "add_provenance_footer", "provenance_footer", "plot_metadata"]

DEFAULT_COLOR = "C2"


def _methods(available: list[str], method: str | None) -> list[str]:
    if method is None:
        return available
    if method not in available:
        raise InvalidParameterError(
            f"The 'method' must be one of {available} or None. Got {method!r} instead.")
    return [method]


def forest_table(result_or_ranking: PredictionResult | RankingResult, *, target: str = "score",
                 method: str | None = None) -> pd.DataFrame:
    """The data a forest plot draws: ``method, group, model, mean, lower, upper, order,
    is_default`` (``is_default`` marks a ranking's ``default`` model).

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
    default = None
    if isinstance(result_or_ranking, RankingResult):
        frame = result_or_ranking.table[["method", "group", "model", "mean", "lower", "upper"]]
        default = result_or_ranking.default
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
    methods = _methods(unique_in_order(frame["method"]), method)
    frame = frame[frame["method"].isin(methods)].copy()
    # Keep methods and groups in their given order (groups: <3B, 3-6B, >=6B), not alphabetical.
    frame["_m"] = frame["method"].map({m: i for i, m in enumerate(methods)})
    frame["_g"] = frame["group"].map({g: i for i, g in enumerate(unique_in_order(frame["group"]))})
    frame = frame.sort_values(["_m", "_g", "mean"], ascending=[True, True, False],
                              kind="stable").drop(columns=["_m", "_g"])
    frame["order"] = frame.groupby(["method", "group"], sort=False).cumcount() + 1
    frame["is_default"] = frame["model"].eq(default) if default is not None else False
    return frame.reset_index(drop=True)


def _method_panels(table: pd.DataFrame, *, ax: Any, max_rows: int | None
                   ) -> tuple[Any, list[tuple[Any, str, pd.DataFrame]]]:
    """One horizontal panel per method, sized to its rows: ``(fig, [(axis, method, block)])``."""
    methods = unique_in_order(table["method"])
    n_max = min(table.groupby("method").size().max(), max_rows or 10 ** 9)
    fig, axes = new_axes(len(methods), ax=ax, height=max(2.5, 0.28 * n_max + 1.2))
    panels = []
    for axis, meth in zip(axes, methods):
        block = table[table["method"] == meth]
        if max_rows is not None:
            head = block.groupby("group", sort=False).head(max_rows)
            # The default model is always drawn, also when it ranks below the cut.
            extra = block[block["is_default"] & ~block.index.isin(head.index)] \
                if "is_default" in block else block.iloc[:0]
            block = pd.concat([head, extra])
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
        axis.set_yticks(ypos, _labels(block), fontsize=8)
        is_default = block["is_default"].to_numpy(dtype=bool)
        if is_default.any():
            _mark_default(axis, is_default)
            axis.plot(mean[is_default], ypos[is_default], "D", color=DEFAULT_COLOR, ms=6,
                      zorder=4, label="default")
            axis.axvline(float(mean[is_default][0]), color=DEFAULT_COLOR, ls="--", lw=1,
                         alpha=0.7)
            axis.legend(loc="lower right", fontsize=8)
        axis.set_xlabel(f"predicted {target} (RewardBench points)")
        axis.set_title(f"{meth}: mean and {round(100 * ci_prob)}% interval", fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    return fig


def p_best_table(ranking: RankingResult, *, method: str | None = None) -> pd.DataFrame:
    """The data the P(best) bars draw: ``method, group, model, p_best, p_top_k, position,
    p_best_se, is_default``."""
    if not isinstance(ranking, RankingResult):
        raise InvalidParameterError(
            f"plot_p_best needs a RankingResult (rank_candidates); got {type(ranking).__name__}.")
    methods = _methods(ranking.methods, method)
    cols = ["method", "group", "model", "p_best", "p_top_k", "position"]
    cols += [c for c in ("p_best_se",) if c in ranking.table]
    table = ranking.table.loc[ranking.table["method"].isin(methods), cols].reset_index(drop=True)
    table["is_default"] = table["model"].eq(ranking.default) if ranking.default else False
    return table


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
        if "p_best_se" in block:
            # +-2 Monte Carlo standard errors: bars within them of each other are ties.
            axis.errorbar(block["p_best"], ypos, xerr=2 * block["p_best_se"], fmt="none",
                          ecolor="k", elinewidth=0.8, capsize=2)
        axis.set_yticks(ypos, _labels(block), fontsize=8)
        _mark_default(axis, block["is_default"].to_numpy(dtype=bool))
        axis.set_xlim(0, 1)
        axis.set_xlabel("probability")
        axis.set_title(f"{meth}: probability of being the best ({ranking.target})", fontsize=10)
        axis.legend(loc="lower right", fontsize=8)
    return fig


def _labels(block: pd.DataFrame) -> list[str]:
    """Y tick labels: model (with its size group) and "(default)" on the default's row."""
    flags = block["is_default"].to_numpy(dtype=bool) if "is_default" in block else \
        np.zeros(len(block), dtype=bool)
    return [(m if g == "all" else f"{m} [{g}]") + (" (default)" if d else "")
            for m, g, d in zip(block["model"], block["group"], flags)]


def _mark_default(axis: Any, is_default: np.ndarray) -> None:
    """Bold, coloured y tick label for the default model's row (labels in block order)."""
    for label, flag in zip(axis.get_yticklabels(), is_default):
        if flag:
            label.set_color(DEFAULT_COLOR)
            label.set_fontweight("bold")


def provenance_footer(provenance: dict[str, Any]) -> str:
    """One footer line: rmpredict version, release, model sha256, data hash, seed, time."""
    from rmpredict._version import __version__

    sha = provenance.get("model_sha256")
    parts = [f"rmpredict {provenance.get('rmpredict_version') or __version__}",
             f"release {provenance.get('release') or 'none (user-fitted model)'}",
             f"model sha256 {sha[:16] if sha else 'unknown'}",
             f"model id {provenance.get('model_id') or '?'}",
             f"data {provenance.get('data_hash') or '?'}",
             f"seed {provenance.get('random_seed', '?')}"]
    if provenance.get("created_at"):
        parts.append(str(provenance["created_at"]))
    return " · ".join(parts)


def add_provenance_footer(fig: Any, provenance: dict[str, Any]) -> Any:
    """Write :func:`provenance_footer` along the bottom edge of ``fig`` (space reserved)."""
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        try:
            engine.set(rect=(0, 0.04, 1, 0.96))
        except TypeError:  # a layout engine without a rect
            pass
    fig.text(0.005, 0.005, provenance_footer(provenance), fontsize=6, color="0.35",
             ha="left", va="bottom")
    return fig


def plot_metadata(provenance: dict[str, Any], fmt: str) -> dict[str, str] | None:
    """Image metadata carrying the provenance, in the keys format ``fmt`` accepts."""
    import json

    from rmpredict._version import __version__

    text = json.dumps({k: provenance.get(k) for k in (
        "rmpredict_version", "release", "model_sha256", "model_id", "data_hash", "random_seed",
        "created_at", "ranking_target", "ranking_default") if k in provenance}, default=str)
    fmt = fmt.lower()
    if fmt == "png":
        return {"Software": f"rmpredict {__version__}", "Description": text,
                "rmpredict_release": str(provenance.get("release") or ""),
                "rmpredict_model_sha256": str(provenance.get("model_sha256") or "")}
    if fmt == "pdf":
        return {"Creator": f"rmpredict {__version__}", "Subject": text}
    if fmt == "svg":
        return {"Creator": f"rmpredict {__version__}", "Description": text}
    return None
