"""Rank candidate base models under uncertainty from joint posterior-predictive draws.

Every statistic is a Monte Carlo average over the joint draws ``y[s, i]`` of one target: draw
``s`` of every candidate comes from the same posterior sample, so correlations between
candidates (shared coefficients, same family) carry into P(best), regret and the comparisons
with a default.

Ties within a draw are broken deterministically in favour of the candidate listed first (lowest
row of the result): the rank of ``i`` in draw ``s`` is ``1 + #{j: y_sj > y_si} + #{j < i:
y_sj == y_si}``. Each draw therefore assigns ranks 1..n exactly once, so P(best) sums to 1 and
P(in top k) to ``min(k, n)`` over every candidate set, exactly.

Cost: memory O(n_candidates x chunk) beyond the draws themselves (draws are read in chunks of
draws, never copied whole), time O(n_draws x n_candidates). P(best), P(top k), regret and the
comparisons with a default are exact at every size. The expected rank is exact (a stable sort
per draw) up to :data:`EXACT_RANK_MAX` candidates per block; above, it is counted from a
65,536-bin histogram of each draw (a candidate sharing a bin with ``c - 1`` others gets the
mean of their ranks; error below ``c / 2`` ranks, typically under one rank, far below the
Monte Carlo error of an expected rank among thousands of candidates).

Monte Carlo error: P(best) and P(top k) carry their standard error ``sqrt(p (1 - p) / S)``
over ``S`` draws. Candidates whose P(best) lies within :data:`TIE_Z` standard errors of the
difference (plus one draw, ``1 / S``) of their neighbour in P(best) order are linked into a
*tie group*; within a tie group candidates are ordered by predicted mean, not by P(best) noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import SIZE_GROUPS, check_result, group_labels, unique_in_order
from rmpredict.decisions._trust import (
    SKILL_DEMONSTRATED,
    MethodSkill,
    Trust,
    trust_for,
    warn_no_skill,
)
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult

__all__ = ["RankingResult", "rank_candidates", "draw_ranks", "format_ranking", "tie_groups",
           "EXACT_RANK_MAX", "TIE_Z"]

ALL_GROUP = "all"
EXACT_RANK_MAX = 2000
"""Blocks up to this many candidates get exact expected ranks; larger ones a histogram count."""
TIE_Z = 2.0
"""P(best) within this many standard errors of the difference counts as a tie."""
_HIST_BINS = 1 << 16
_CHUNK_ELEMENTS = 1 << 20  # draws x candidates processed at once (8 MB of float64)
TRUST_COLUMNS = ("skill", "known_result", "observed", "extrapolated", "extrapolation",
                 "new_recipe")


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


def _large_block_sums(y: np.ndarray, k: int, default_draws: np.ndarray | None
                      ) -> tuple[np.ndarray, ...]:
    """Counts and sums over the draws of a large block, one draw at a time, in its dtype.

    Per draw: argmax (P(best), exact), a 65,536-bin histogram of the values (expected rank: a
    candidate's rank is counted as the candidates in higher bins plus the mean rank within its
    own bin), and the top ``k`` (exact: bins above the k-th largest value's bin are in, that
    bin's members are resolved by value, then column order). Memory O(n) per draw.
    """
    n_draws, n = y.shape
    bins = _HIST_BINS
    best = np.zeros(n, dtype=np.int64)
    top = np.zeros(n, dtype=np.int64)
    rank_sum = np.zeros(n)
    y_sum = np.zeros(n)
    hi_sum = 0.0
    better = np.zeros(n, dtype=np.int64) if default_draws is not None else None
    d_sum = 0.0
    for s in range(n_draws):
        row = np.ascontiguousarray(y[s])  # one strided read; every pass below is contiguous
        arg = int(row.argmax())  # first maximum = lowest index, the tie rule
        hi, lo = row[arg], row.min()
        best[arg] += 1
        hi_sum += float(hi)
        np.add(y_sum, row, out=y_sum)
        if default_draws is not None:
            d = default_draws[s]
            np.add(better, row > d, out=better)  # strict '>': the default's own is 0
            d_sum += float(d)
        if not hi > lo:  # all equal: ranks follow the column order exactly
            rank_sum += np.arange(1, n + 1)
            top[:k] += 1
            continue
        # The 1e-6 margin keeps the largest value in bin bins - 1 despite float32 rounding.
        scale = (bins - 1) * (1.0 - 1e-6) / (float(hi) - float(lo))
        b = ((row - lo) * row.dtype.type(scale)).astype(np.intp)
        count = np.bincount(b, minlength=bins)
        cum = np.cumsum(count)  # candidates in this bin or lower ones
        # rank = 1 + (n - cum) above + (count - 1) / 2 on average within the bin.
        np.add(rank_sum, ((n + 0.5) - cum + 0.5 * count)[b], out=rank_sum)
        kb = int(np.searchsorted(cum, n - k, side="right"))  # bin of the k-th largest value
        room = k - (n - int(cum[kb]))
        idx = np.flatnonzero(b >= kb)
        in_bin = idx[b[idx] == kb]
        top[idx[b[idx] > kb]] += 1
        order = np.lexsort((in_bin, -row[in_bin].astype(np.float64)))
        top[in_bin[order[:room]]] += 1
    regret_sum = hi_sum - y_sum
    diff_sum = None if default_draws is None else y_sum - d_sum
    return best, top, rank_sum, regret_sum, better, diff_sum


def _rank_stats(y: np.ndarray, k: int, default_draws: np.ndarray | None) -> dict[str, np.ndarray]:
    """Decision statistics of one candidate set, reading draws ``y`` (S, n) in chunks."""
    n_draws, n = y.shape
    k_eff = min(k, n)
    if n > EXACT_RANK_MAX:
        best, top, rank_sum, regret_sum, better, diff_sum = _large_block_sums(
            y, k_eff, default_draws)
    else:
        best = np.zeros(n, dtype=np.int64)
        top = np.zeros(n, dtype=np.int64)
        rank_sum = np.zeros(n)
        regret_sum = np.zeros(n)
        better = np.zeros(n, dtype=np.int64) if default_draws is not None else None
        diff_sum = np.zeros(n) if default_draws is not None else None
        step = max(1, _CHUNK_ELEMENTS // max(n, 1))
        for s0 in range(0, n_draws, step):
            c = np.array(y[s0:s0 + step], dtype=np.float64)  # a private copy, changed below
            arg = c.argmax(axis=1)  # first maximum = lowest index, the tie rule
            best += np.bincount(arg, minlength=n)
            ranks = draw_ranks(c)
            rank_sum += ranks.sum(axis=0)
            top += (ranks <= k_eff).sum(axis=0)
            if default_draws is not None:
                d = np.asarray(default_draws[s0:s0 + step], dtype=np.float64)[:, None]
                # Strict '>' so the default's own probability is exactly 0.
                better += (c > d).sum(axis=0)
                diff_sum += (c - d).sum(axis=0)
            # Regret last, in place: max_j y_sj - y_si, exactly 0 where i is the draw's best.
            np.subtract(c[np.arange(len(c)), arg][:, None], c, out=c)
            regret_sum += c.sum(axis=0)
    p_best, p_top = best / n_draws, top / n_draws
    out = {
        "p_best": p_best,
        "p_best_se": np.sqrt(p_best * (1 - p_best) / n_draws),
        "p_top_k": p_top,
        "p_top_k_se": np.sqrt(p_top * (1 - p_top) / n_draws),
        "expected_rank": rank_sum / n_draws,
        # E[max_j y_j - y_i]: expected shortfall against whichever candidate is best in a draw.
        "expected_regret": regret_sum / n_draws,
    }
    if default_draws is not None:
        out["p_better_than_default"] = better / n_draws
        out["diff_vs_default"] = diff_sum / n_draws
    return out


def tie_groups(p: np.ndarray, se: np.ndarray, mean: np.ndarray, n_draws: int,
               z: float = TIE_Z) -> tuple[np.ndarray, np.ndarray]:
    """Order by P(best) with near-ties ordered by mean: ``(order, group)``.

    Candidates are sorted by P(best) (then mean). Two neighbours in that order are *linked*
    when their P(best) differ by at most ``z * sqrt(se_a^2 + se_b^2) + 1 / n_draws`` (within
    Monte Carlo error); a run of linked candidates is a tie group, ordered by ``mean``.

    Returns
    -------
    order : numpy.ndarray of int
        Positions of the candidates in ranked order.
    group : numpy.ndarray of int
        1-based tie group of each candidate in that order.
    """
    p, se, mean = (np.asarray(a, dtype=float) for a in (p, se, mean))
    first = np.lexsort((-mean, -p))
    ps, ses = p[first], se[first]
    gap = ps[:-1] - ps[1:]
    linked = gap <= z * np.sqrt(ses[:-1] ** 2 + ses[1:] ** 2) + 1.0 / max(int(n_draws), 1)
    group = np.concatenate([[1], 1 + np.cumsum(~linked)]).astype(np.int64)
    within = np.lexsort((-mean[first], group))
    return first[within], group[within]


@dataclass
class RankingResult:
    """Candidates ranked per RM method (and size group) with decision statistics.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate and method: ``method, group, position, model, mean, lower, upper,
        p_best, p_best_se, p_top_k, p_top_k_se, tie, tie_group, expected_rank,
        expected_regret``, when a default was named ``p_better_than_default,
        diff_vs_default``, then the trust flags ``skill, known_result, observed, extrapolated,
        extrapolation, new_recipe`` (see :mod:`rmpredict.decisions._trust`). Scores,
        intervals, observed values, regret and differences are fractions in [0, 1] (multiply by
        100 for RewardBench points). Methods with demonstrated held-out skill come first.
        Within each method and group rows are sorted by P(best), near-ties (``tie``: the tie
        group has more than one member) by mean; ``position`` is 1-based in that order.
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
    skill : dict of str to MethodSkill
        Held-out skill of every ranked method.
    """

    table: pd.DataFrame
    target: str
    k: int
    default: str | None
    ci_prob: float
    n_draws: int
    size_groups: bool = False
    provenance: dict[str, Any] = field(default_factory=dict)
    skill: dict[str, MethodSkill] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """RM methods in the ranking, those with demonstrated skill first."""
        return unique_in_order(self.table["method"])

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table` (fractions in [0, 1])."""
        return self.table.copy()

    def best(self) -> pd.DataFrame:
        """The top row of each method and group."""
        return self.table[self.table["position"] == 1].reset_index(drop=True)

    def __str__(self) -> str:
        return format_ranking(self)

    def __repr__(self) -> str:
        return (f"RankingResult(target={self.target!r}, methods={self.methods}, "
                f"candidates={len(self.table)}, k={self.k}, default={self.default!r}, "
                f"n_draws={self.n_draws})")


def _block_draws(draws: np.ndarray, rows: np.ndarray, col: int) -> np.ndarray:
    """Draws ``(S, len(rows))`` of one target, without copying when it can.

    Rows of one method are usually evenly spaced (``predict`` interleaves the methods of each
    candidate), so a strided view serves; other row sets are copied into a C-ordered array
    (a fancy-indexed copy can come out column-major, which makes every per-draw pass slow).
    """
    if len(rows) == 1:
        return draws[:, rows[0]:rows[0] + 1, col]
    step = rows[1] - rows[0] if len(rows) > 1 else 1
    if step > 0 and np.all(np.diff(rows) == step):
        return draws[:, rows[0]:rows[-1] + 1:step, col]
    return np.ascontiguousarray(draws[:, rows, col])


def trust_columns(trust: Trust, rows: np.ndarray, target: str) -> dict[str, Any]:
    """The trust flags of ``rows`` as table columns (``observed`` for ``target``)."""
    flags = trust.rows.iloc[rows]
    obs = flags.get(f"observed_{target}")
    return {
        "skill": flags["skill"].to_numpy(dtype=object),
        "known_result": flags["known_result"].array,
        "observed": np.full(len(rows), np.nan) if obs is None else obs.to_numpy(dtype=float),
        "extrapolated": flags["extrapolated"].array,
        "extrapolation": flags["extrapolation"].to_numpy(dtype=object),
        "new_recipe": flags["new_recipe"].array,
    }


def rank_candidates(result: PredictionResult, *, target: str = "score", k: int = 3,
                    default: str | None = None, size_groups: bool = False,
                    sizes: Mapping[str, float] | pd.Series | None = None,
                    predictor: Any = None, candidates: Any = None) -> RankingResult:
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
    predictor : fitted predictor, optional
        The model that made ``result``: gives the trust flags (held-out skill, known results,
        stage support, new recipes) unless ``result.trust`` is already attached
        (:func:`~rmpredict.decisions.attach_trust`). Without either, skill is ``"unknown"``.
    candidates : DataFrame or path, optional
        The candidates given to ``predict``, to check their post-training stage's support.

    Returns
    -------
    RankingResult

    Raises
    ------
    InvalidParameterError
        If the result has no draws, the target or ``k`` is invalid, or ``default`` is not a
        candidate.

    Warns
    -----
    NoSkillWarning
        Once, when the model's stored evaluation shows a ranked method without demonstrated
        held-out skill (or has no evaluation).

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
    models = index["model"].to_numpy()
    if default is not None and default not in set(models):
        raise InvalidParameterError(
            f"The 'default' model {default!r} is not among the candidates; add it to the "
            f"candidates table or pick one of {sorted(set(models))[:8]}.")
    trust = trust_for(result, predictor, candidates)
    groups = (group_labels(index, sizes, "rank_candidates") if size_groups
              else np.full(len(index), ALL_GROUP, dtype=object))
    draws = result.draws
    n_draws = int(draws.shape[0])
    methods = trust.method_order(unique_in_order(index["method"]))
    method_codes = index["method"].to_numpy()
    frames = []
    for method in methods:
        in_method = method_codes == method
        default_draws = None
        if default is not None:
            hit = np.flatnonzero(in_method & (models == default))
            if len(hit):
                default_draws = draws[:, hit[0], col]
        order = SIZE_GROUPS if size_groups else (ALL_GROUP,)
        for group in order:
            rows = np.flatnonzero(in_method & (groups == group))
            if not len(rows):
                continue
            stats = _rank_stats(_block_draws(draws, rows, col), k, default_draws)
            mean = result.mean[rows, col]
            ranked, tie_group = tie_groups(stats["p_best"], stats["p_best_se"], mean, n_draws)
            rows = rows[ranked]
            stats = {name: values[ranked] for name, values in stats.items()}
            size = np.bincount(tie_group)[tie_group]
            block = {
                "method": method,
                "group": group,
                "position": np.arange(1, len(rows) + 1),
                "model": models[rows],
                "mean": result.mean[rows, col],
                "lower": result.lower[rows, col],
                "upper": result.upper[rows, col],
                "p_best": stats["p_best"], "p_best_se": stats["p_best_se"],
                "p_top_k": stats["p_top_k"], "p_top_k_se": stats["p_top_k_se"],
                "tie": size > 1, "tie_group": tie_group,
                "expected_rank": stats["expected_rank"],
                "expected_regret": stats["expected_regret"],
            }
            if default is not None:
                nan = np.full(len(rows), np.nan)
                block["p_better_than_default"] = stats.get("p_better_than_default", nan)
                block["diff_vs_default"] = stats.get("diff_vs_default", nan)
            block.update(trust_columns(trust, rows, target))
            frames.append(pd.DataFrame(block))
    table = pd.concat(frames, ignore_index=True)
    warn_no_skill(trust, methods, what="ranking")
    prov = dict(result.provenance)
    if trust.context:
        prov.update(trust.provenance())
    prov.update(ranking_target=target, ranking_k=k, ranking_default=default,
                ranking_size_groups=bool(size_groups), n_draws=n_draws)
    return RankingResult(table=table, target=target, k=k, default=default,
                         ci_prob=float(result.ci_prob), n_draws=n_draws,
                         size_groups=bool(size_groups), provenance=prov,
                         skill={m: trust.skill[m] for m in methods if m in trust.skill})


def _add_observed_and_flags(out: pd.DataFrame, shown: pd.DataFrame) -> bool:
    """Add the ``observed`` (points) and ``flags`` columns of a printed block; True if any flag."""
    obs = shown["observed"].to_numpy(dtype=float)
    if np.isfinite(obs).any():
        out["observed"] = ["" if not np.isfinite(v) else f"{100 * v:.1f}" for v in obs]
    flags = _flags(shown)
    if any(flags):
        out["flags"] = flags
    return any(flags)


def _flags(block: pd.DataFrame) -> list[str]:
    out = []
    known = block["known_result"].fillna(False).to_numpy(dtype=bool)
    extrap = block["extrapolated"].fillna(False).to_numpy(dtype=bool)
    new = block["new_recipe"].fillna(False).to_numpy(dtype=bool)
    for kn, ex, nw in zip(known, extrap, new):
        out.append(",".join(f for f, on in (("known", kn), ("extrap", ex), ("new", nw)) if on))
    return out


def skill_lines(skill: MethodSkill | None, method: str, what: str = "ranking") -> list[str]:
    """The line printed under a block's header: the skill summary or its caveat."""
    skill = skill or MethodSkill(method, "unknown")
    if skill.status == SKILL_DEMONSTRATED:
        return [skill.summary() + "."]
    return [f"caveat: {skill.caveat(what)}"]


def trust_summary(skill: Mapping[str, MethodSkill], methods: list[str]) -> str:
    """One line saying which method's ranking to trust, from the stored held-out skill."""
    ok = [method_name for method_name in methods
          if (s := skill.get(method_name)) is not None and s.status == SKILL_DEMONSTRATED]
    weak = [m for m in methods if m not in ok]
    if not ok:
        return ("Trust: no ranked method has demonstrated held-out skill; treat every block "
                "as mostly prior.")
    text = "Trust: held-out skill demonstrated for " + ", ".join(ok)
    if weak:
        text += "; not for " + ", ".join(weak) + " (caveats below)"
    return text + "."


def format_ranking(ranking: RankingResult, *, max_rows: int | None = None) -> str:
    """Human-readable ranked table: scores in RewardBench points, probabilities to 2 decimals.

    Parameters
    ----------
    ranking : RankingResult
    max_rows : int, optional
        Show at most this many candidates per method and group (the default candidate is
        always shown).
    """
    pct = int(round(100 * ranking.ci_prob))
    lines = [f"Ranking on {ranking.target!r} (points 0-100; {pct}% intervals; "
             f"{ranking.n_draws} joint posterior draws; ± = Monte Carlo standard error)",
             trust_summary(ranking.skill, ranking.methods)]
    has_default = ranking.default is not None
    any_tie = any_flag = False
    for (method, group), block in ranking.table.groupby(["method", "group"], sort=False):
        head = f"method {method}" + ("" if group == ALL_GROUP else f", size group {group}")
        lines += ["", f"== {head} ({len(block)} candidates) =="]
        lines += skill_lines(ranking.skill.get(method), method)
        shown = block if max_rows is None else block.head(max_rows)
        if has_default and max_rows is not None and len(block) > max_rows:
            extra = block.iloc[max_rows:]
            shown = pd.concat([shown, extra[extra["model"] == ranking.default]])
        tie_mark = [f"~{g}" if t else "" for g, t in zip(shown["tie_group"], shown["tie"])]
        any_tie |= any(tie_mark)
        out = pd.DataFrame({
            "#": shown["position"].to_numpy(),
            "tie": tie_mark,
            "model": [m + (" *" if has_default and m == ranking.default else "")
                      for m in shown["model"]],
            "mean": [f"{100 * v:.1f}" for v in shown["mean"]],
            f"{pct}% interval": [f"[{100 * lo:.1f}, {100 * hi:.1f}]"
                                 for lo, hi in zip(shown["lower"], shown["upper"])],
            "P(best)": [f"{v:.2f}±{s:.2f}" for v, s in zip(shown["p_best"], shown["p_best_se"])],
            f"P(top {ranking.k})": [f"{v:.2f}" for v in shown["p_top_k"]],
            "E[rank]": [f"{v:.1f}" for v in shown["expected_rank"]],
            "regret": [f"{100 * v:.1f}" for v in shown["expected_regret"]],
        })
        if has_default:
            out["P(>default)"] = ["  -" if not np.isfinite(v) else f"{v:.2f}"
                                  for v in shown["p_better_than_default"]]
        any_flag = _add_observed_and_flags(out, shown) or any_flag
        if not any(tie_mark):
            out = out.drop(columns="tie")
        lines.append(out.to_string(index=False))
        if len(block) > len(shown):
            lines.append(f"... {len(block) - len(shown)} more (all rows in --output / "
                         "to_frame())")
    lines += ["", "regret = expected shortfall (points) against the best candidate; "
              "P(best) sums to 1 per block."]
    if any_tie:
        lines.append(f"~N = tie group: P(best) within {TIE_Z:g} Monte Carlo standard errors of "
                     "the neighbour's; tied rows are ordered by predicted mean.")
    if any_flag:
        lines.append("flags: known = the result is in the model's fitting data (observed value "
                     "shown); extrap = features outside the training range or a post-training "
                     "stage with few training models; new = a recipe not seen in fit.")
    if has_default:
        lines.append(f"default = {ranking.default} (marked *)")
    return "\n".join(lines)
