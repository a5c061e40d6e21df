"""What to train next: the knowledge gradient of observing candidates' true accuracies.

Criterion (Frazier, Powell & Dayanik 2009, "The knowledge-gradient policy for correlated normal
beliefs"): today we would pick the candidate with the highest predictive mean, worth
``max_j m_j``. If we first train RMs on a subset ``S`` of candidates and observe their
accuracies ``y_S``, we update every candidate's mean and pick again. The knowledge gradient is
the expected gain of that better-informed decision::

    KG(S) = E_{y_S}[ max_j E[y_j | y_S] ] - max_j m_j      (>= 0 by Jensen's inequality)

Each outcome ``y_S^d`` is taken from the joint posterior-predictive draws, and the update uses
linear-Gaussian conditioning with the mean ``m`` and covariance ``C`` of those draws::

    E[y_j | y_S = y_S^d] = m_j + C_jS (C_SS + tau^2 I)^-1 (y_S^d + e^d - m_S)

with ``tau`` the optional observation-noise sd (RewardBench evaluation noise) and ``e^d`` a
seeded N(0, tau^2) draw (centred over draws); with ``tau = 0`` observed candidates get their
outcome exactly. When the joint predictive is Gaussian this conditional mean *is* what refitting
the model on the simulated outcome would give for the predictive means, so the criterion equals
"refit on simulated outcomes"; for the hierarchical model's (near-Gaussian, but not exactly)
predictive it is the best linear approximation of that refit, at a tiny fraction of the cost.

Budget ``K``: all subsets of size ``K`` are evaluated when there are at most ``max_subsets`` of
them, otherwise subsets are grown greedily (add the candidate that most increases KG).

Scale: the covariance is only ever formed on a shortlist. With more than ``shortlist``
candidates in a method, every candidate is first scored by its expected improvement over
today's best mean, ``EI_i = E[max(y_i - max_j m_j, 0)]`` (O(draws x candidates), read in column
chunks); the exact knowledge gradient is then computed on the candidates with the largest EI
(and as many eligible ones), and the chosen set's value is recomputed with every candidate in
the final choice. Memory stays O(draws x candidates), never candidates squared.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import check_result, unique_in_order
from rmpredict.decisions._ranking import (
    _CHUNK_ELEMENTS,
    _add_observed_and_flags,
    _block_draws,
    skill_lines,
    trust_columns,
    trust_summary,
)
from rmpredict.decisions._trust import MethodSkill, trust_for, warn_no_skill
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult

__all__ = ["SuggestionResult", "suggest_next", "knowledge_gradient", "format_suggestion",
           "expected_improvement", "SHORTLIST"]

SHORTLIST = 200
"""Methods with more candidates are pre-screened by expected improvement to this many."""


def _as_draws(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 2:
        raise InvalidParameterError(
            f"Draws must have shape (n_draws >= 2, n_candidates); got {y.shape}.")
    if not np.isfinite(y).all():
        raise InvalidParameterError("Draws contain NaN or infinite values; check the prediction.")
    return y


class _KG:
    """Knowledge-gradient evaluator for one candidate set (draws ``y`` of shape (D, n))."""

    def __init__(self, y: np.ndarray, noise_sd: float, random_seed: int | None):
        self.y = y
        self.m = y.mean(axis=0)
        self.centred = y - self.m
        self.cov = np.atleast_2d(np.cov(y, rowvar=False))
        self.noise_sd = float(noise_sd)
        self.base = float(self.m.max())
        if self.noise_sd > 0:
            rng = np.random.default_rng(random_seed)
            eps = rng.standard_normal(y.shape) * self.noise_sd
            # Centred so the simulated observations average to the prior mean; this keeps
            # KG >= 0 exactly (Jensen) rather than only in expectation.
            self.eps = eps - eps.mean(axis=0)
        else:
            self.eps = None

    def value(self, subset: tuple[int, ...]) -> float:
        # >= 0 by Jensen's inequality; clip the rounding error of a worthless observation.
        return max(0.0, float(self.posterior(subset).max(axis=1).mean() - self.base))

    def posterior(self, subset: tuple[int, ...]) -> np.ndarray:
        """Conditional means ``E[y_j | y_S = y_S^d]`` of every column, per draw ``d``."""
        s = list(subset)
        obs = self.centred[:, s]
        c_ss = self.cov[np.ix_(s, s)]
        if self.eps is not None:
            obs = obs + self.eps[:, s]
            c_ss = c_ss + self.noise_sd ** 2 * np.eye(len(s))
        # pinv: a candidate with zero predictive variance (or two identical ones) carries no
        # new information; the pseudo-inverse gives it zero weight instead of failing.
        gain = np.linalg.pinv(c_ss) @ self.cov[s, :]
        post = self.m + obs @ gain
        if self.eps is None:
            post[:, s] = self.y[:, s]
        return post


def knowledge_gradient(draws: np.ndarray, subset: tuple[int, ...] | list[int], *,
                       noise_sd: float = 0.0, random_seed: int | None = 0) -> float:
    """Knowledge gradient of observing the candidates ``subset`` (fraction units).

    Parameters
    ----------
    draws : numpy.ndarray, shape (n_draws, n_candidates)
        Joint posterior-predictive draws of one target (fractions).
    subset : sequence of int
        Columns of the candidates to observe.
    noise_sd : float, default=0.0
        Sd of the evaluation noise on an observed accuracy (fraction units).
    random_seed : int, optional
        Seed of the simulated evaluation noise (unused when ``noise_sd`` is 0).

    Returns
    -------
    float
        ``E[max_j E[y_j | y_S]] - max_j E[y_j]``; multiply by 100 for RewardBench points.
    """
    y = _as_draws(draws)
    subset = tuple(int(i) for i in subset)
    if not subset or len(set(subset)) != len(subset) or min(subset) < 0 \
            or max(subset) >= y.shape[1]:
        raise InvalidParameterError(
            f"'subset' must list distinct columns in [0, {y.shape[1] - 1}]; got {subset}.")
    return _KG(y, _check_noise(noise_sd), random_seed).value(subset)


def _check_noise(noise_sd: float) -> float:
    try:
        value = float(noise_sd)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or value < 0:
        raise InvalidParameterError(
            f"The 'noise_sd' parameter must be a finite float >= 0 (fraction units, e.g. 0.01 "
            f"for one RewardBench point). Got {noise_sd!r} instead.")
    return value


@dataclass
class SuggestionResult:
    """Which candidates to train next, per RM method.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per candidate and method: ``method, model, mean, sd, ei, kg, shortlisted,
        eligible, chosen, choice_order`` and the trust flags ``skill, known_result, observed,
        extrapolated, extrapolation, new_recipe``. ``ei`` is the expected improvement over
        today's best mean (the pre-screen), ``kg`` the single-candidate knowledge gradient
        (fraction units; NaN outside the shortlist or when not eligible), ``choice_order`` the
        1-based position in the chosen set (0 if not chosen). Sorted by ``chosen`` then ``kg``
        (then ``ei``) within each method; methods with demonstrated skill first.
    chosen : dict of str to list of str
        The chosen models per method.
    value : dict of str to float
        The chosen set's joint knowledge gradient per method (fraction units), with every
        candidate of the method in the final choice.
    strategy : dict of str to str
        ``"exhaustive"`` or ``"greedy"`` per method.
    budget, target, noise_sd, n_draws, provenance
        The settings used.
    screen : dict of str to dict
        Per method: ``n_candidates``, ``shortlist`` (candidates the exact knowledge gradient
        was computed on) and ``prescreened`` (True when the shortlist is smaller than the
        method's candidates), ``excluded_known`` (known results not suggested).
    skill : dict of str to MethodSkill
        Held-out skill of every method.
    """

    table: pd.DataFrame
    chosen: dict[str, list[str]]
    value: dict[str, float]
    strategy: dict[str, str]
    budget: int
    target: str
    noise_sd: float
    n_draws: int
    provenance: dict[str, Any] = field(default_factory=dict)
    screen: dict[str, dict[str, Any]] = field(default_factory=dict)
    skill: dict[str, MethodSkill] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """RM methods covered, those with demonstrated skill first."""
        return list(self.chosen)

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table` with the joint value of the chosen set per method."""
        frame = self.table.copy()
        frame["set_value"] = frame["method"].map(self.value)
        return frame

    def __str__(self) -> str:
        return format_suggestion(self)

    def __repr__(self) -> str:
        return (f"SuggestionResult(budget={self.budget}, target={self.target!r}, "
                f"chosen={self.chosen})")


def _column_chunks(n_draws: int, n: int) -> int:
    """Columns per chunk of a (n_draws, n) pass."""
    return max(1, _CHUNK_ELEMENTS // max(n_draws, 1))


def _row_chunks(n_draws: int, n: int) -> int:
    """Draws per chunk of a (n_draws, n) pass (rows are read whole: the draws' own order)."""
    return max(1, _CHUNK_ELEMENTS // max(n, 1))


def _moments_and_ei(y: np.ndarray, best: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Column means of ``y`` (S, n) and ``E[max(y - best, 0)]``, in one pass over chunks of
    draws (``best`` None: the largest column mean, which then takes a second pass)."""
    n_draws, n = y.shape
    total = np.zeros(n)
    gain = np.zeros(n) if best is not None else None
    step = _row_chunks(n_draws, n)
    for s0 in range(0, n_draws, step):
        c = np.array(y[s0:s0 + step], dtype=np.float64)  # a private copy, changed below
        if not np.isfinite(c).all():
            raise InvalidParameterError(
                "Draws contain NaN or infinite values; check the prediction.")
        total += c.sum(axis=0)
        if gain is not None:
            np.subtract(c, best, out=c)
            np.maximum(c, 0.0, out=c)
            gain += c.sum(axis=0)
    mean = total / n_draws
    if gain is None:
        return mean, _moments_and_ei(y, float(mean.max()))[1]
    return mean, gain / n_draws


def expected_improvement(y: np.ndarray, best: float | None = None) -> np.ndarray:
    """``E[max(y_i - best, 0)]`` per candidate from draws ``y`` (S, n), in column chunks.

    ``best`` defaults to the largest predictive mean (today's choice). This is the
    pre-screen of :func:`suggest_next`: a candidate that rarely beats today's best mean can
    hardly change the final choice when observed.
    """
    return _moments_and_ei(np.asarray(y), best)[1]


def _full_value(y: np.ndarray, mean: np.ndarray, kg: _KG, work: np.ndarray,
                sub: tuple[int, ...]) -> float:
    """KG of observing shortlist positions ``sub`` with *every* column of ``y`` in the final
    choice (the shortlist ``work`` gave the search; this gives the reported value).

    One pass over the draws gives the covariances ``C_{S, j}`` of the observed columns with
    every column; the conditional mean of column ``j`` in draw ``d`` is then
    ``m_j + o_d . w_j``. Columns whose upper bound over all draws stays below the smallest
    per-draw maximum of the shortlist cannot change the maximum and are skipped exactly; the
    rest are evaluated in chunks (memory O(draws x chunk)).
    """
    s = list(sub)
    obs = kg.centred[:, s]
    c_ss = kg.cov[np.ix_(s, s)]
    if kg.eps is not None:
        obs = obs + kg.eps[:, s]
        c_ss = c_ss + kg.noise_sd ** 2 * np.eye(len(s))
    inv = np.linalg.pinv(c_ss)
    raw = kg.centred[:, s]  # centred true outcomes of the observed columns (sum to 0)
    n_draws, n = y.shape
    cov = np.zeros((len(s), n))
    rows = _row_chunks(n_draws, n)
    for s0 in range(0, n_draws, rows):
        # sum_d raw_d = 0, so the columns need no centring: C_{S,j} = raw' y_j / (D - 1).
        cov += raw[s0:s0 + rows].T @ np.asarray(y[s0:s0 + rows], dtype=np.float64)
    step = _column_chunks(n_draws, n)
    weight = inv @ (cov / (n_draws - 1))  # (|S|, n): change of each mean per unit of o_d
    # The shortlist's conditional means (observed columns take their outcome exactly).
    shortlist_max = kg.posterior(sub).max(axis=1)
    upper = mean + (np.maximum(weight * obs.max(axis=0)[:, None],
                               weight * obs.min(axis=0)[:, None])).sum(axis=0)
    rest = np.ones(n, dtype=bool)
    rest[work] = False
    rest &= upper > shortlist_max.min()
    best = shortlist_max.copy()
    cols = np.flatnonzero(rest)
    for c0 in range(0, len(cols), step):
        part = cols[c0:c0 + step]
        post = mean[part] + obs @ weight[:, part]
        np.maximum(best, post.max(axis=1), out=best)
    return max(0.0, float(best.mean() - mean.max()))


def suggest_next(result: PredictionResult, *, budget: int = 2, target: str = "score",
                 method: str | None = None, candidates_mask: Any = None,
                 noise_sd: float = 0.0, random_seed: int | None = 0,
                 max_subsets: int = 5000, shortlist: int = SHORTLIST,
                 exclude_known: bool = True, predictor: Any = None,
                 candidates: Any = None) -> SuggestionResult:
    """Suggest which ``budget`` candidates to train next to learn most about which is best.

    Parameters
    ----------
    result : PredictionResult
        Prediction with joint draws.
    budget : int, default=2
        Number of candidates to train (RMs you can afford).
    target : str, default="score"
        Target whose best candidate matters.
    method : str, optional
        RM method; ``None`` suggests separately for every method in ``result``.
    candidates_mask : array-like of bool or collection of str, optional
        Which candidates may be trained: booleans aligned with ``result.index`` rows, or model
        ids. Every candidate still counts in the decision; ``None`` allows all.
    noise_sd : float, default=0.0
        Sd of the evaluation noise of a trained RM's accuracy (fraction units; 0 = observe the
        true accuracy).
    random_seed : int, optional
        Seed of the simulated evaluation noise.
    max_subsets : int, default=5000
        Evaluate all subsets of size ``budget`` (of the shortlist) when there are at most this
        many; greedy otherwise.
    shortlist : int, default=SHORTLIST
        With more candidates than this in a method, candidates are pre-screened by expected
        improvement (:func:`expected_improvement`) and the exact knowledge gradient is
        computed on a shortlist: the ``shortlist`` candidates with the largest expected
        improvement, plus as many eligible ones. The chosen set's ``value`` still counts every
        candidate in the final choice. Memory and time stay O(candidates x draws).
    exclude_known : bool, default=True
        Do not suggest candidates whose result is in the model's fitting data (they still
        count in the final choice).
    predictor, candidates : optional
        The model that made ``result`` and the candidates table, for the trust flags (see
        :func:`~rmpredict.decisions.rank_candidates`); ``result.trust`` is used if attached.

    Returns
    -------
    SuggestionResult

    Warns
    -----
    NoSkillWarning
        Once, when a method has no demonstrated held-out skill in the model's evaluation.

    Notes
    -----
    See the module docstring of :mod:`rmpredict.decisions._suggest` for the criterion. It is
    computed from the joint draws with linear-Gaussian conditioning: exact (up to Monte Carlo
    error) when the joint predictive is Gaussian, an approximation otherwise.
    """
    result = check_result(result, "suggest_next")
    t = result.target(target)
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InvalidParameterError(
            f"The 'budget' parameter must be an integer >= 1. Got {budget!r} instead.")
    budget = int(budget)
    if isinstance(shortlist, bool) or not isinstance(shortlist, (int, np.integer)) \
            or shortlist < 1:
        raise InvalidParameterError(
            f"The 'shortlist' parameter must be an integer >= 1. Got {shortlist!r} instead.")
    noise_sd = _check_noise(noise_sd)
    index = result.index.reset_index(drop=True)
    eligible_all = _eligible(candidates_mask, index)
    trust = trust_for(result, predictor, candidates)
    known_all = trust.rows["known_result"].fillna(False).to_numpy(dtype=bool)
    if method is None:
        methods = unique_in_order(index["method"])
    else:
        result.select(method)  # raises a clear error for an unknown method
        methods = [method]
    methods = trust.method_order(methods)
    if result.draws.shape[0] < 2:
        raise InvalidParameterError("result.draws must hold at least 2 draws.")
    frames, chosen, value, strategy, screen = [], {}, {}, {}, {}
    models = index["model"].to_numpy()
    for meth in methods:
        rows = np.flatnonzero((index["method"] == meth).to_numpy())
        y = _block_draws(result.draws, rows, t)
        n = len(rows)
        known = known_all[rows] if exclude_known else np.zeros(n, dtype=bool)
        ok_mask = eligible_all[rows] & ~known
        ok = np.flatnonzero(ok_mask)
        if len(ok) < budget:
            extra = (f" ({int(known.sum())} with known results are not suggested; pass "
                     "exclude_known=False to allow them)" if known.any() else "")
            raise InvalidParameterError(
                f"budget={budget} exceeds the {len(ok)} eligible candidate(s) for method "
                f"{meth!r}{extra}; lower --budget or allow more candidates.")
        # EI against today's best predicted mean, in the same pass as the draw means.
        mean, ei = _moments_and_ei(y, float(np.max(result.mean[rows, t])))
        if n <= shortlist:
            work = np.arange(n)
        else:
            top = np.argsort(-ei, kind="stable")[:shortlist]
            top_ok = ok[np.argsort(-ei[ok], kind="stable")[:shortlist]]
            work = np.unique(np.concatenate([top, top_ok, [int(np.argmax(mean))]]))
        prescreened = len(work) < n
        y_work = _as_draws(y[:, work] if prescreened else y)
        kg = _KG(y_work, noise_sd, random_seed)
        pos = {int(c): i for i, c in enumerate(work)}
        ok_work = [pos[int(i)] for i in ok if int(i) in pos]
        single = np.full(n, np.nan)
        for i in ok_work:
            single[work[i]] = kg.value((i,))
        if budget == 1:
            strategy[meth] = "exhaustive"
            top_one = max(ok_work, key=lambda i: (single[work[i]], -i))
            best_set, best_val = (top_one,), float(single[work[top_one]])
        elif math.comb(len(ok_work), budget) <= max_subsets:
            strategy[meth] = "exhaustive"
            best_set, best_val = (), -np.inf
            for subset in itertools.combinations(ok_work, budget):
                v = kg.value(subset)
                if v > best_val:
                    best_set, best_val = subset, v
            # Order the chosen set by single-candidate KG (most informative first).
            best_set = tuple(sorted(best_set, key=lambda i: -single[work[i]]))
        else:
            strategy[meth] = "greedy"
            best_set, best_val = (), 0.0
            for _ in range(budget):
                scores = {i: kg.value((*best_set, i)) for i in ok_work if i not in best_set}
                nxt = max(scores, key=lambda i: (scores[i], -i))
                best_set, best_val = (*best_set, nxt), scores[nxt]
        if prescreened:
            best_val = _full_value(y, mean, kg, work, best_set)
        picked = [int(work[i]) for i in best_set]
        order = np.zeros(n, dtype=int)
        for p, i in enumerate(picked, start=1):
            order[i] = p
        shortlisted = np.zeros(n, dtype=bool)
        shortlisted[work] = True
        block = pd.DataFrame({
            "method": meth,
            "model": models[rows],
            "mean": result.mean[rows, t],
            "sd": result.sd[rows, t],
            "ei": ei,
            "kg": single,
            "shortlisted": shortlisted,
            "eligible": ok_mask,
            "chosen": order > 0,
            "choice_order": order,
            **trust_columns(trust, rows, target),
        })
        block["_o"] = np.where(order > 0, order, n + 1)
        block = block.sort_values(["_o", "kg", "ei"], ascending=[True, False, False],
                                  kind="stable", na_position="last").drop(columns="_o")
        frames.append(block)
        chosen[meth] = [str(models[rows[i]]) for i in picked]
        value[meth] = float(best_val)
        screen[meth] = {"n_candidates": int(n), "shortlist": int(len(work)),
                        "prescreened": bool(prescreened),
                        "excluded_known": int((known & eligible_all[rows]).sum())}
    warn_no_skill(trust, methods, what="suggestion")
    n_draws = int(result.draws.shape[0])
    prov = dict(result.provenance)
    if trust.context:
        prov.update(trust.provenance())
    prov.update(suggest_target=target, suggest_budget=budget, suggest_noise_sd=noise_sd,
                suggest_random_seed=random_seed, n_draws=n_draws)
    return SuggestionResult(table=pd.concat(frames, ignore_index=True), chosen=chosen,
                            value=value, strategy=strategy, budget=budget, target=target,
                            noise_sd=noise_sd, n_draws=n_draws, provenance=prov,
                            screen=screen,
                            skill={m: trust.skill[m] for m in methods if m in trust.skill})


def _eligible(mask: Any, index: pd.DataFrame) -> np.ndarray:
    n = len(index)
    if mask is None:
        return np.ones(n, dtype=bool)
    if isinstance(mask, str):
        mask = [mask]
    arr = np.asarray(list(mask), dtype=object)
    if arr.size and all(isinstance(v, str) for v in arr):
        unknown = sorted(set(arr) - set(index["model"]))
        if unknown:
            raise InvalidParameterError(
                f"'candidates_mask' names models that are not candidates: {unknown[:5]}.")
        return index["model"].isin(set(arr)).to_numpy()
    if arr.shape != (n,) or not all(isinstance(v, (bool, np.bool_)) for v in arr):
        raise InvalidParameterError(
            f"'candidates_mask' must be {n} booleans aligned with result.index or a list of "
            f"model ids; got {arr.size} value(s).")
    return arr.astype(bool)


def format_suggestion(suggestion: SuggestionResult, *, max_rows: int | None = 10) -> str:
    """Readable summary: chosen set and value in points, single-candidate KG per candidate."""
    lines = [f"Suggested next RMs to train (budget {suggestion.budget}, target "
             f"{suggestion.target!r}; knowledge gradient in RewardBench points, "
             f"{suggestion.n_draws} joint draws"
             + (f", evaluation noise sd {100 * suggestion.noise_sd:.1f} pt" if suggestion.noise_sd
                else "") + ")",
             trust_summary(suggestion.skill, suggestion.methods)]
    any_flag = False
    for meth in suggestion.methods:
        block = suggestion.table[suggestion.table["method"] == meth]
        shown = block if max_rows is None else block.head(max(max_rows, suggestion.budget))
        lines += ["", f"== method {meth}: train {', '.join(suggestion.chosen[meth])} "
                      f"(joint value {100 * suggestion.value[meth]:.2f} pt, "
                      f"{suggestion.strategy[meth]}) =="]
        lines += skill_lines(suggestion.skill.get(meth), meth, "suggestion")
        info = suggestion.screen.get(meth, {})
        if info.get("prescreened"):
            lines.append(f"pre-screened {info['n_candidates']} candidates by expected "
                         f"improvement; exact knowledge gradient on a shortlist of "
                         f"{info['shortlist']} (the joint value counts every candidate).")
        known = block[block["known_result"].fillna(False).to_numpy(dtype=bool)]
        if info.get("excluded_known"):
            listed = "; ".join(f"{m} {100 * o:.1f} (predicted {100 * p:.1f})" for m, o, p in
                               zip(known["model"].head(5), known["observed"].head(5),
                                   known["mean"].head(5)))
            more = f"; and {len(known) - 5} more" if len(known) > 5 else ""
            lines.append(f"not suggested, result already known (observed): {listed}{more}.")
        out = pd.DataFrame({
            "pick": [str(o) if o else "" for o in shown["choice_order"]],
            "model": shown["model"].to_numpy(),
            "mean": [f"{100 * v:.1f}" for v in shown["mean"]],
            "sd": [f"{100 * v:.1f}" for v in shown["sd"]],
            "KG (pt)": ["  -" if not np.isfinite(v) else f"{100 * v:.2f}" for v in shown["kg"]],
        })
        any_flag = _add_observed_and_flags(out, shown) or any_flag
        lines.append(out.to_string(index=False))
        if len(block) > len(shown):
            lines.append(f"... {len(block) - len(shown)} more")
    lines += ["", "KG = expected gain (points) in the best choice's true score from observing "
              "the candidate(s) before choosing."]
    if any_flag:
        lines.append("flags: known = the result is in the model's fitting data (observed value "
                     "shown); extrap = features outside the training range or a post-training "
                     "stage with few training models; new = a recipe not seen in fit.")
    return "\n".join(lines)
