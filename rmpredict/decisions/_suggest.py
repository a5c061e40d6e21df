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
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import check_result, target_draws
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult

__all__ = ["SuggestionResult", "suggest_next", "knowledge_gradient", "format_suggestion"]


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
        return float(post.max(axis=1).mean() - self.base)


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
        One row per candidate and method: ``method, model, mean, sd, kg, eligible, chosen,
        choice_order``; ``kg`` is the single-candidate knowledge gradient (fraction units),
        ``choice_order`` the 1-based position in the chosen set (0 if not chosen). Sorted by
        ``chosen`` then ``kg`` within each method.
    chosen : dict of str to list of str
        The chosen models per method.
    value : dict of str to float
        The chosen set's joint knowledge gradient per method (fraction units).
    strategy : dict of str to str
        ``"exhaustive"`` or ``"greedy"`` per method.
    budget, target, noise_sd, n_draws, provenance
        The settings used.
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

    @property
    def methods(self) -> list[str]:
        """RM methods covered, in the order of the prediction."""
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


def suggest_next(result: PredictionResult, *, budget: int = 2, target: str = "score",
                 method: str | None = None, candidates_mask: Any = None,
                 noise_sd: float = 0.0, random_seed: int | None = 0,
                 max_subsets: int = 5000) -> SuggestionResult:
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
        Evaluate all subsets of size ``budget`` when there are at most this many; greedy
        otherwise.

    Returns
    -------
    SuggestionResult

    Notes
    -----
    See the module docstring of :mod:`rmpredict.decisions._suggest` for the criterion. It is
    computed from the joint draws with linear-Gaussian conditioning: exact (up to Monte Carlo
    error) when the joint predictive is Gaussian, an approximation otherwise.
    """
    result = check_result(result, "suggest_next")
    result.target(target)
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise InvalidParameterError(
            f"The 'budget' parameter must be an integer >= 1. Got {budget!r} instead.")
    budget = int(budget)
    noise_sd = _check_noise(noise_sd)
    index = result.index.reset_index(drop=True)
    eligible_all = _eligible(candidates_mask, index)
    if method is None:
        methods = list(dict.fromkeys(index["method"]))
    else:
        result.select(method)  # raises a clear error for an unknown method
        methods = [method]
    y_all = target_draws(result, target)
    frames, chosen, value, strategy = [], {}, {}, {}
    for meth in methods:
        rows = np.flatnonzero((index["method"] == meth).to_numpy())
        y = _as_draws(y_all[:, rows])
        ok = np.flatnonzero(eligible_all[rows])
        if len(ok) < budget:
            raise InvalidParameterError(
                f"budget={budget} exceeds the {len(ok)} eligible candidate(s) for method "
                f"{meth!r}; lower --budget or allow more candidates.")
        kg = _KG(y, noise_sd, random_seed)
        single = np.full(len(rows), np.nan)
        for i in ok:
            single[i] = kg.value((int(i),))
        if math.comb(len(ok), budget) <= max_subsets:
            strategy[meth] = "exhaustive"
            best_set, best_val = (), -np.inf
            for subset in itertools.combinations(ok.tolist(), budget):
                v = kg.value(subset)
                if v > best_val:
                    best_set, best_val = subset, v
            # Order the chosen set by single-candidate KG (most informative first).
            best_set = tuple(sorted(best_set, key=lambda i: -single[i]))
        else:
            strategy[meth] = "greedy"
            best_set, best_val = (), 0.0
            for _ in range(budget):
                scores = {i: kg.value((*best_set, i)) for i in ok.tolist() if i not in best_set}
                nxt = max(scores, key=lambda i: (scores[i], -i))
                best_set, best_val = (*best_set, nxt), scores[nxt]
        order = np.zeros(len(rows), dtype=int)
        for pos, i in enumerate(best_set, start=1):
            order[i] = pos
        t = result.target(target)
        block = pd.DataFrame({
            "method": meth,
            "model": index["model"].to_numpy()[rows],
            "mean": result.mean[rows, t],
            "sd": result.sd[rows, t],
            "kg": single,
            "eligible": eligible_all[rows],
            "chosen": order > 0,
            "choice_order": order,
        })
        block["_o"] = np.where(order > 0, order, len(rows) + 1)
        block = block.sort_values(["_o", "kg"], ascending=[True, False], kind="stable",
                                  na_position="last").drop(columns="_o")
        frames.append(block)
        chosen[meth] = [str(index["model"].iloc[rows[i]]) for i in best_set]
        value[meth] = float(best_val)
    prov = dict(result.provenance)
    prov.update(suggest_target=target, suggest_budget=budget, suggest_noise_sd=noise_sd,
                suggest_random_seed=random_seed, n_draws=int(y_all.shape[0]))
    return SuggestionResult(table=pd.concat(frames, ignore_index=True), chosen=chosen,
                            value=value, strategy=strategy, budget=budget, target=target,
                            noise_sd=noise_sd, n_draws=int(y_all.shape[0]), provenance=prov)


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
                else "") + ")"]
    for meth in suggestion.methods:
        block = suggestion.table[suggestion.table["method"] == meth]
        shown = block if max_rows is None else block.head(max(max_rows, suggestion.budget))
        lines += ["", f"== method {meth}: train {', '.join(suggestion.chosen[meth])} "
                      f"(joint value {100 * suggestion.value[meth]:.2f} pt, "
                      f"{suggestion.strategy[meth]}) =="]
        out = pd.DataFrame({
            "pick": [str(o) if o else "" for o in shown["choice_order"]],
            "model": shown["model"].to_numpy(),
            "mean": [f"{100 * v:.1f}" for v in shown["mean"]],
            "sd": [f"{100 * v:.1f}" for v in shown["sd"]],
            "KG (pt)": ["  -" if not np.isfinite(v) else f"{100 * v:.2f}" for v in shown["kg"]],
        })
        lines.append(out.to_string(index=False))
        if len(block) > len(shown):
            lines.append(f"... {len(block) - len(shown)} more")
    lines += ["", "KG = expected gain (points) in the best choice's true score from observing "
              "the candidate(s) before choosing."]
    return "\n".join(lines)
