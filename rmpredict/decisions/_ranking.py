"""Rank candidate base models under uncertainty from joint posterior-predictive draws.

Every statistic is a Monte Carlo average over the joint draws ``y[s, i]`` of one target: draw
``s`` of every candidate comes from the same posterior sample, so correlations between
candidates (shared coefficients, same family) carry into P(best), regret and the comparisons
with a default.

Ties within a draw are broken deterministically in favour of the candidate listed first (lowest
row of the result): the rank of ``i`` in draw ``s`` is ``1 + #{j: y_sj > y_si} + #{j < i:
y_sj == y_si}``. Each draw therefore assigns ranks 1..n exactly once, so P(best) sums to 1 and
P(in top k) to ``min(k, n)`` over every candidate set, exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import SIZE_GROUPS, check_result, group_labels, target_draws
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult

__all__ = ["RankingResult", "rank_candidates", "draw_ranks", "format_ranking"]

ALL_GROUP = "all"


def draw_ranks(y: np.ndarray) -> np.ndarray:
    """Rank of every candidate in every draw (1 = best), ties to the lower column index.

    Parameters
    ----------
    y : numpy.ndarray, shape (n_draws, n_candidates)
        Joint draws of one target.

    Returns
    -------
    numpy.ndarray of int, shape (n_draws, n_candidates)
        Each row is a permutation of ``1..n_candidates``.
    """
    # A stable sort of -y keeps equal values in column order, so the lower index ranks higher.
    order = np.argsort(-y, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(y.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, y.shape[1] + 1)[None, :]
    return ranks


def _rank_block(y: np.ndarray, k: int, default_draws: np.ndarray | None) -> dict[str, np.ndarray]:
    """Decision statistics of one candidate set (draws ``y`` of shape (S, n))."""
    ranks = draw_ranks(y)
    best = y.max(axis=1, keepdims=True)
    out = {
        "p_best": (ranks == 1).mean(axis=0),
        "p_top_k": (ranks <= k).mean(axis=0),
        "expected_rank": ranks.mean(axis=0),
        # E[max_j y_j - y_i]: expected shortfall against whichever candidate is best in a draw.
        "expected_regret": (best - y).mean(axis=0),
    }
    if default_draws is not None:
        # Strict '>' so the default's own probability is exactly 0.
        out["p_better_than_default"] = (y > default_draws[:, None]).mean(axis=0)
        out["diff_vs_default"] = (y - default_draws[:, None]).mean(axis=0)
    return out


@dataclass
class RankingResult:
    """Candidates ranked per RM method (and size group) with decision statistics.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate and method: ``method, group, position, model, mean, lower, upper,
        p_best, p_top_k, expected_rank, expected_regret`` and, when a default was named,
        ``p_better_than_default, diff_vs_default``. Scores, intervals, regret and differences
        are fractions in [0, 1] (multiply by 100 for RewardBench points). Sorted by P(best),
        then mean, within each method and group; ``position`` is 1-based in that order.
    target : str
        Ranked target (``score`` = RewardBench overall).
    k : int
        The ``k`` of P(in top k).
    default : str or None
        Model id of the default candidate.
    ci_prob : float
        Probability mass of the ``lower``-``upper`` interval.
    n_draws : int
        Number of joint draws the statistics average over.
    size_groups : bool
        Whether candidates were ranked within size groups.
    provenance : dict
        The prediction's provenance plus the ranking settings.
    """

    table: pd.DataFrame
    target: str
    k: int
    default: str | None
    ci_prob: float
    n_draws: int
    size_groups: bool = False
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """RM methods in the ranking, in the order of the prediction."""
        return list(dict.fromkeys(self.table["method"]))

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table` (fractions in [0, 1])."""
        return self.table.copy()

    def best(self) -> pd.DataFrame:
        """The top row (highest P(best)) of each method and group."""
        return self.table[self.table["position"] == 1].reset_index(drop=True)

    def __str__(self) -> str:
        return format_ranking(self)

    def __repr__(self) -> str:
        return (f"RankingResult(target={self.target!r}, methods={self.methods}, "
                f"candidates={len(self.table)}, k={self.k}, default={self.default!r}, "
                f"n_draws={self.n_draws})")


def rank_candidates(result: PredictionResult, *, target: str = "score", k: int = 3,
                    default: str | None = None, size_groups: bool = False,
                    sizes: Mapping[str, float] | pd.Series | None = None) -> RankingResult:
    """Rank candidate base models per RM method from joint posterior-predictive draws.

    Parameters
    ----------
    result : PredictionResult
        Prediction with joint draws (``HierarchicalRMPredictor.predict`` or a release).
    target : str, default="score"
        Target to rank on (``score``, ``chat``, ``chat_hard``, ``safety`` or ``reasoning``).
    k : int, default=3
        Report P(in top k).
    default : str, optional
        Model id of your habitual choice (the study's framing: a Llama-3.x model). Adds
        P(better than default) (strict ``>``, so the default's own value is 0) and the mean
        difference to it, computed within each method against the default's draws (also
        when size groups put the default in another group).
    size_groups : bool, default=False
        Rank within the study's size groups (<3B, 3-6B, >=6B parameters) instead of over all
        candidates of a method.
    sizes : mapping model -> params_b, optional
        Sizes in billions of parameters; required with ``size_groups=True``.

    Returns
    -------
    RankingResult

    Raises
    ------
    InvalidParameterError
        If the result has no draws, the target or ``k`` is invalid, or ``default`` is not a
        candidate.

    Notes
    -----
    With ``y[s, i]`` the draws of candidate ``i``: P(best) is the fraction of draws where
    ``i`` ranks first; P(in top k) where it ranks at most ``k``; expected rank is the mean rank;
    expected regret is ``mean_s(max_j y[s, j] - y[s, i])``, the expected shortfall of choosing
    ``i`` against the (unknown) best candidate, in fraction units. Ties are broken towards the
    lower row so that P(best) sums to exactly 1 and P(top k) to ``min(k, n)`` per candidate set.
    """
    result = check_result(result, "rank_candidates")
    col = result.target(target)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(f"The 'k' parameter must be an integer >= 1. Got {k!r}.")
    k = int(k)
    index = result.index.reset_index(drop=True)
    if default is not None and default not in set(index["model"]):
        raise InvalidParameterError(
            f"The 'default' model {default!r} is not among the candidates; add it to the "
            f"candidates table or pick one of {sorted(set(index['model']))[:8]}.")
    groups = (group_labels(index, sizes, "rank_candidates") if size_groups
              else np.full(len(index), ALL_GROUP, dtype=object))
    y_all = target_draws(result, target)
    methods = list(dict.fromkeys(index["method"]))
    frames = []
    for method in methods:
        in_method = (index["method"] == method).to_numpy()
        default_draws = None
        if default is not None:
            hit = np.flatnonzero(in_method & (index["model"] == default).to_numpy())
            if len(hit):
                default_draws = y_all[:, hit[0]]
        order = SIZE_GROUPS if size_groups else (ALL_GROUP,)
        for group in order:
            rows = np.flatnonzero(in_method & (groups == group))
            if not len(rows):
                continue
            stats = _rank_block(y_all[:, rows], k, default_draws)
            block = pd.DataFrame({
                "method": method,
                "group": group,
                "model": index["model"].to_numpy()[rows],
                "mean": result.mean[rows, col],
                "lower": result.lower[rows, col],
                "upper": result.upper[rows, col],
                **stats,
            })
            if default is not None and default_draws is None:
                block["p_better_than_default"] = np.nan
                block["diff_vs_default"] = np.nan
            block = block.sort_values(["p_best", "mean"], ascending=False, kind="stable")
            block.insert(2, "position", np.arange(1, len(block) + 1))
            frames.append(block)
    table = pd.concat(frames, ignore_index=True)
    prov = dict(result.provenance)
    prov.update(ranking_target=target, ranking_k=k, ranking_default=default,
                ranking_size_groups=bool(size_groups), n_draws=int(y_all.shape[0]))
    return RankingResult(table=table, target=target, k=k, default=default,
                         ci_prob=float(result.ci_prob), n_draws=int(y_all.shape[0]),
                         size_groups=bool(size_groups), provenance=prov)


def format_ranking(ranking: RankingResult, *, max_rows: int | None = None) -> str:
    """Human-readable ranked table: scores in RewardBench points, probabilities to 2 decimals.

    Parameters
    ----------
    ranking : RankingResult
    max_rows : int, optional
        Show at most this many candidates per method and group.
    """
    pct = int(round(100 * ranking.ci_prob))
    lines = [f"Ranking on {ranking.target!r} (points 0-100; {pct}% intervals; "
             f"{ranking.n_draws} joint posterior draws)"]
    has_default = ranking.default is not None
    for (method, group), block in ranking.table.groupby(["method", "group"], sort=False):
        head = f"method {method}" + ("" if group == ALL_GROUP else f", size group {group}")
        lines += ["", f"== {head} ({len(block)} candidates) =="]
        shown = block if max_rows is None else block.head(max_rows)
        out = pd.DataFrame({
            "#": shown["position"].to_numpy(),
            "model": shown["model"].to_numpy(),
            "mean": [f"{100 * v:.1f}" for v in shown["mean"]],
            f"{pct}% interval": [f"[{100 * lo:.1f}, {100 * hi:.1f}]"
                                 for lo, hi in zip(shown["lower"], shown["upper"])],
            "P(best)": [f"{v:.2f}" for v in shown["p_best"]],
            f"P(top {ranking.k})": [f"{v:.2f}" for v in shown["p_top_k"]],
            "E[rank]": [f"{v:.1f}" for v in shown["expected_rank"]],
            "regret": [f"{100 * v:.1f}" for v in shown["expected_regret"]],
        })
        if has_default:
            out["P(>default)"] = ["  -" if not np.isfinite(v) else f"{v:.2f}"
                                  for v in shown["p_better_than_default"]]
        lines.append(out.to_string(index=False))
        if max_rows is not None and len(block) > max_rows:
            lines.append(f"... {len(block) - max_rows} more")
    lines += ["", "regret = expected shortfall (points) against the best candidate; "
              "P(best) sums to 1 per block."]
    if has_default:
        lines.append(f"default = {ranking.default}")
    return "\n".join(lines)
