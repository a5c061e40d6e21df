"""Trust flags for decisions: held-out skill per method, known results, extrapolation, recipes.

A ranking is only as good as the predictor's demonstrated ability to rank models it has not
seen. This module collects, for every (candidate, method) row of a prediction:

``skill``
    ``"demonstrated"``, ``"none"`` or ``"unknown"``: whether the method's predictions beat the
    training mean out of publisher in the model's stored leave-one-publisher-out evaluation
    (the release card). A method has demonstrated skill when its held-out MAE is below the
    mean baseline's **and** its held-out Spearman correlation is positive
    (:func:`skill_status`). A user-fitted model has no stored evaluation: skill ``"unknown"``.
``known_result``
    The (model, method) pair is in the model's fitting data; ``observed_<target>`` holds the
    observed value beside the prediction.
``extrapolated`` / ``extrapolation``
    Features outside the training range (from the prediction notes), or a post-training stage
    supported by fewer than :data:`MIN_STAGE_SUPPORT` training models (counted in the fitting
    data); ``extrapolation`` says which, in words.
``new_recipe``
    The method was not seen in fit (predicted from the population of methods).
"""

from __future__ import annotations

import difflib
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.decisions._draws import unique_in_order
from rmpredict.exceptions import InvalidParameterError, RMPredictWarning

__all__ = ["MIN_STAGE_SUPPORT", "MethodSkill", "NoSkillWarning", "Trust", "attach_trust",
           "compute_trust", "method_label", "model_identity", "resolve_method", "skill_status",
           "stored_evaluation", "trust_for", "warn_no_skill"]

MIN_STAGE_SUPPORT = 3
"""A post-training stage backed by fewer training models than this is flagged extrapolated."""

SKILL_DEMONSTRATED, SKILL_NONE, SKILL_UNKNOWN = "demonstrated", "none", "unknown"
_SKILL_ORDER = {SKILL_DEMONSTRATED: 0, SKILL_UNKNOWN: 1, SKILL_NONE: 2}

_LABELS = {"bradley_terry": "Bradley–Terry", "regression": "Regression"}
# Predictor names the evaluation report uses for the hierarchical model, most specific first;
# every other name except these baselines would also be accepted.
_MODEL_PREDICTORS = ("bayes", "hierarchical", "stack", "stacked")
_BASELINES = ("mean", "ridge", "ols", "elastic_net", "best_single")
_EVAL_HEADING = "## Leave-one-publisher-out evaluation"


class NoSkillWarning(RMPredictWarning):
    """A ranking or suggestion rests on a method without demonstrated held-out skill."""


def method_label(method: str) -> str:
    """Readable name of an RM method (``bradley_terry`` -> ``Bradley–Terry``)."""
    return _LABELS.get(method, method)


@dataclass(frozen=True)
class MethodSkill:
    """Held-out (leave-one-publisher-out) skill of one RM method.

    Attributes
    ----------
    method : str
    status : str
        ``"demonstrated"``, ``"none"`` or ``"unknown"``.
    spearman, mae, mae_mean, coverage_at_k : float or None
        Held-out Spearman correlation of predicted and observed score, MAE (RewardBench points),
        the training-mean baseline's MAE and the coverage of the true top 5-10.
    n : int or None
        Held-out models.
    source : str
        Where the numbers come from (e.g. the release card).
    """

    method: str
    status: str
    spearman: float | None = None
    mae: float | None = None
    mae_mean: float | None = None
    coverage_at_k: float | None = None
    n: int | None = None
    source: str = ""

    @property
    def label(self) -> str:
        return method_label(self.method)

    def summary(self) -> str:
        """One line: the held-out numbers behind :attr:`status`."""
        if self.status == SKILL_UNKNOWN:
            return f"{self.label}: {self.source or 'no stored held-out evaluation'}"
        parts = [f"Spearman {_num(self.spearman)}",
                 f"MAE {_num(self.mae)} vs {_num(self.mae_mean)} for the mean"]
        if self.coverage_at_k is not None:
            parts.append(f"coverage@5-10 {_num(self.coverage_at_k)}")
        n = f", {self.n} models" if self.n else ""
        return (f"{self.label}: held-out skill {self.status} (leave-one-publisher-out{n}: "
                + ", ".join(parts) + ")")

    def caveat(self, what: str = "ranking") -> str | None:
        """The one-line caveat printed above a block without demonstrated skill (else None);
        ``what`` names the block ("ranking", "suggestion")."""
        if self.status == SKILL_DEMONSTRATED:
            return None
        if self.status == SKILL_UNKNOWN:
            why = self.source or "no held-out evaluation is stored with this model"
            return (f"{self.label}: skill unknown ({why}); the {what} below has not been "
                    "checked against held-out publishers.")
        if self.mae is not None and self.mae_mean is not None and self.mae >= self.mae_mean:
            claim = ("benchmarks have not predicted out-of-publisher accuracy better than the "
                    f"mean (held-out MAE {_num(self.mae)} vs {_num(self.mae_mean)} points, "
                    f"Spearman {_num(self.spearman)})")
        else:
            claim = ("benchmarks have not ranked out-of-publisher models better than chance "
                    f"(held-out Spearman {_num(self.spearman)})")
        return f"{self.label}: {claim}; the {what} below is mostly prior."


def _num(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.2f}"


def skill_status(mae: float | None, mae_mean: float | None, spearman: float | None) -> str:
    """``"demonstrated"`` iff held-out MAE < the mean baseline's MAE and Spearman > 0.

    Examples
    --------
    >>> skill_status(3.08, 6.18, 0.77), skill_status(5.81, 4.72, -0.01)
    ('demonstrated', 'none')
    >>> skill_status(None, 4.7, 0.5)
    'unknown'
    """
    if mae is None or mae_mean is None or spearman is None or not all(
            np.isfinite(v) for v in (mae, mae_mean, spearman)):
        return SKILL_UNKNOWN
    return SKILL_DEMONSTRATED if (mae < mae_mean and spearman > 0) else SKILL_NONE


# -- the stored evaluation -----------------------------------------------------------------
def _parse_cell(text: str) -> float | None:
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_card_evaluation(text: str) -> dict[str, dict[str, dict[str, float | None]]]:
    """The leave-one-publisher-out table of a model card as ``metrics.json``'s ``results``.

    Returns ``{predictor: {method: {mae, spearman, coverage_at_k, interval_coverage_50,
    interval_coverage_90, n}}}``; empty when the card has no evaluation table.
    """
    start = text.find(_EVAL_HEADING)
    if start < 0:
        return {}
    section = text[start + len(_EVAL_HEADING):]
    end = section.find("\n## ")
    section = section if end < 0 else section[:end]
    keys = ("mae", "spearman", "coverage_at_k", "interval_coverage_50", "interval_coverage_90",
            "n")
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for line in section.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != 2 + len(keys) or cells[0] in ("predictor", "") \
                or set(cells[0]) <= set("-: "):
            continue
        values = dict(zip(keys, (_parse_cell(c) for c in cells[2:])))
        out.setdefault(cells[0], {})[cells[1]] = values
    return out


def _skill_from_results(results: dict[str, Any], methods: Sequence[str],
                        source: str) -> dict[str, MethodSkill]:
    names = [p for p in _MODEL_PREDICTORS if p in results] or \
        [p for p in results if p not in _BASELINES]
    own = results.get(names[0], {}) if names else {}
    base = results.get("mean", {})
    skills = {}
    for method in methods:
        m, b = own.get(method) or {}, base.get(method) or {}
        if not m:
            skills[method] = MethodSkill(method, SKILL_UNKNOWN,
                                         source="the stored evaluation has no row for it")
            continue
        n = m.get("n")
        skills[method] = MethodSkill(
            method, skill_status(m.get("mae"), b.get("mae"), m.get("spearman")),
            spearman=m.get("spearman"), mae=m.get("mae"), mae_mean=b.get("mae"),
            coverage_at_k=m.get("coverage_at_k"), n=None if n is None else int(n),
            source=source)
    return skills


def stored_evaluation(predictor: Any, release: Any = None) -> tuple[dict[str, Any], str] | None:
    """The model's stored held-out evaluation ``(results, source)``, or None if it has none.

    Looked up in order: a ``metrics.json``-like dict on the predictor (``evaluation_``), then
    the model card of its release (``release`` or ``predictor.release_``).
    """
    stored = getattr(predictor, "evaluation_", None)
    if isinstance(stored, dict) and stored.get("results"):
        return stored["results"], "the model's stored evaluation"
    release = release if release is not None else getattr(predictor, "release_", None)
    card = getattr(release, "card_path", None)
    if card is not None and Path(card).is_file():
        results = parse_card_evaluation(Path(card).read_text(encoding="utf-8"))
        if results:
            return results, f"model card of {release.full_name}"
    return None


def method_skills(predictor: Any, methods: Sequence[str], release: Any = None
                  ) -> dict[str, MethodSkill]:
    """Held-out skill of every method in ``methods`` (``unknown`` where nothing is stored)."""
    known = tuple(getattr(predictor, "methods_", ()) or ())
    found = stored_evaluation(predictor, release) if predictor is not None else None
    skills = {}
    if found is not None:
        results, source = found
        skills = _skill_from_results(results, methods, source)
    for method in methods:
        if known and method not in known:
            skills[method] = MethodSkill(
                method, SKILL_UNKNOWN,
                source="a recipe not seen in fit, predicted from the population of methods")
        elif method not in skills or found is None:
            why = ("no held-out evaluation is stored with this user-fitted model; "
                   "`rmpredict evaluate` measures it" if predictor is not None
                   else "no model was given to look up its evaluation")
            skills[method] = MethodSkill(method, SKILL_UNKNOWN, source=why)
    return skills


# -- model identity ------------------------------------------------------------------------
def model_identity(predictor: Any, model_path: str | os.PathLike[str] | None = None
                   ) -> tuple[str | None, str | None, Any]:
    """``(release name, model file sha256, Release or None)`` of a loaded model.

    A ``model_path`` is hashed and matched against the bundled registry, so passing a release
    file with ``--model`` is recognised as that release.
    """
    release = getattr(predictor, "release_", None)
    if model_path is not None:
        from rmpredict._provenance import sha256_file

        digest = sha256_file(model_path)
        if release is None or getattr(release, "sha256", None) != digest:
            release = None
            try:
                from rmpredict.release import read_registry

                release = next((r for r in read_registry() if r.sha256 == digest), None)
            except Exception:  # noqa: BLE001 - a broken registry only loses the name
                release = None
        return (release.full_name if release is not None else None), digest, release
    if release is not None:
        return release.full_name, release.sha256, release
    return None, getattr(predictor, "model_sha256_", None), None


# -- method names --------------------------------------------------------------------------
def new_method_name() -> str | None:
    """The method name ``predict`` reserves for a recipe never fitted, if this version has one."""
    try:
        from rmpredict.models._hierarchical import NEW_METHOD
    except ImportError:
        return None
    return str(NEW_METHOD)


def resolve_method(name: str, known: Sequence[str], *, option: str = "--method",
                   extra: Sequence[str] = ()) -> str:
    """``name`` if it is ``"all"``, a method the model knows or one of ``extra``; else an error
    that lists the known names and the nearest match (difflib).

    Examples
    --------
    >>> resolve_method("regression", ("bradley_terry", "regression"))
    'regression'
    >>> resolve_method("regresion", ("bradley_terry", "regression"))
    Traceback (most recent call last):
    ...
    rmpredict.exceptions.InvalidParameterError: unknown --method 'regresion': the model knows \
'bradley_terry', 'regression' (or 'all'); did you mean 'regression'?
    """
    known = [str(m) for m in known]
    extra = [str(m) for m in extra if m]
    if name == "all" or name in known or name in extra:
        return name
    lookup = {m.lower().strip(): m for m in [*known, *extra]}
    close = difflib.get_close_matches(str(name).lower().strip(), list(lookup), n=1, cutoff=0.5)
    hint = f"; did you mean {lookup[close[0]]!r}?" if close else "."
    also = "".join(f", {m!r} (a recipe not fitted)" for m in extra)
    raise InvalidParameterError(
        f"unknown {option} {name!r}: the model knows {', '.join(map(repr, known))} "
        f"(or 'all'{also}){hint}")


# -- the per-row flags ---------------------------------------------------------------------
@dataclass
class Trust:
    """Trust flags of a prediction, aligned with its rows.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per prediction row: ``skill, known_result, extrapolated, extrapolation,
        new_recipe`` and ``observed_<target>`` (observed fraction where the result is known,
        else NaN).
    skill : dict of str to MethodSkill
    release : str or None
        ``NAME@VERSION`` of the model's release (None for a user-fitted model).
    model_sha256 : str or None
        sha256 of the model file.
    min_stage_support : int
        A stage with fewer training models than this is flagged.
    stage_support : dict of str to int
        Training models per post-training stage.
    """

    rows: pd.DataFrame
    skill: dict[str, MethodSkill] = field(default_factory=dict)
    release: str | None = None
    model_sha256: str | None = None
    min_stage_support: int = MIN_STAGE_SUPPORT
    stage_support: dict[str, int] = field(default_factory=dict)
    context: bool = True

    def subset(self, mask: np.ndarray) -> Trust:
        """The flags of the rows selected by a boolean mask or integer positions."""
        return Trust(rows=self.rows.iloc[np.asarray(mask)].reset_index(drop=True),
                     skill=self.skill, release=self.release, model_sha256=self.model_sha256,
                     min_stage_support=self.min_stage_support,
                     stage_support=self.stage_support, context=self.context)

    def method_order(self, methods: Sequence[str]) -> list[str]:
        """``methods`` with demonstrated skill first, then unknown, then none (stable)."""
        return sorted(methods, key=lambda m: _SKILL_ORDER.get(
            self.skill.get(m, MethodSkill(m, SKILL_UNKNOWN)).status, 1))

    def provenance(self) -> dict[str, Any]:
        return {"release": self.release, "model_sha256": self.model_sha256}


def _stage_support(fit: pd.DataFrame) -> dict[str, int]:
    if "post_training" not in fit:
        return {}
    stages = fit["post_training"].astype(str).str.strip().replace({"": "instruct",
                                                                    "nan": "instruct"})
    return {str(k): int(v) for k, v in fit.assign(_s=stages).groupby("_s")["model"].nunique()
            .items()}


def _fit_frame(predictor: Any) -> pd.DataFrame | None:
    # A loaded model's groups as stored: converting them into an InferenceData would import
    # ArviZ just to read one table.
    stored = getattr(predictor, "stored_idata", None)
    idata = stored() if stored is not None else getattr(predictor, "idata_", None)
    if idata is None or "fit_data" not in idata:
        return None
    from rmpredict.models._model_io import fit_data_frame

    fit = fit_data_frame(idata)
    if "_weight" in fit:
        fit = fit[fit["_weight"] > 0]
    return fit


def _candidate_stages(candidates: Any) -> dict[str, str] | None:
    if candidates is None:
        return None
    if not isinstance(candidates, pd.DataFrame):
        from rmpredict.models._base import as_candidates_frame

        candidates = as_candidates_frame(candidates)
    if "model" not in candidates:
        return None
    if "post_training" not in candidates:
        return dict.fromkeys(candidates["model"].astype(str), "instruct")
    stage = candidates["post_training"].astype(object).where(
        candidates["post_training"].notna(), "instruct").astype(str).str.strip()
    stage = stage.where(stage != "", "instruct")
    return dict(zip(candidates["model"].astype(str), stage))


def unknown_trust(result: Any) -> Trust:
    """Flags of a prediction with no model to consult: skill unknown, other flags missing."""
    index = result.index.reset_index(drop=True)
    n = len(index)
    rows = pd.DataFrame({
        "skill": np.full(n, SKILL_UNKNOWN, dtype=object),
        "known_result": pd.array([pd.NA] * n, dtype="boolean"),
        "extrapolated": pd.array([pd.NA] * n, dtype="boolean"),
        "extrapolation": np.full(n, "", dtype=object),
        "new_recipe": pd.array([pd.NA] * n, dtype="boolean"),
    })
    notes = getattr(result, "notes", None)
    if notes is not None and "extrapolated" in notes:
        reason = index["model"].map(dict(zip(notes["model"], notes["extrapolated"].fillna(""))))
        reason = reason.fillna("").astype(str)
        rows["extrapolation"] = np.where(reason != "", "outside training range: " + reason, "")
        rows["extrapolated"] = pd.array(reason != "", dtype="boolean")
    for t in result.targets:
        rows[f"observed_{t}"] = np.nan
    methods = unique_in_order(index["method"])
    skill = {m: MethodSkill(m, SKILL_UNKNOWN, source="no model was given to look up its "
                                                     "evaluation") for m in methods}
    return Trust(rows=rows, skill=skill, context=False)


def compute_trust(result: Any, predictor: Any, candidates: Any = None, *,
                  model_path: str | os.PathLike[str] | None = None,
                  min_stage_support: int = MIN_STAGE_SUPPORT) -> Trust:
    """Trust flags of every row of ``result`` (a prediction of ``predictor``).

    Parameters
    ----------
    result : PredictionResult
    predictor : fitted predictor
        Its fitting data (``idata_.fit_data``), methods and release give the flags.
    candidates : DataFrame or path, optional
        The candidates table given to ``predict``; its ``post_training`` column is checked
        against the stage support of the fitting data (missing stage = ``instruct``).
    model_path : path, optional
        The model file (hashed for provenance and matched against the bundled releases).
    min_stage_support : int, default=MIN_STAGE_SUPPORT
        Flag stages backed by fewer training models than this.
    """
    index = result.index.reset_index(drop=True)
    base = unknown_trust(result)
    rows = base.rows
    n = len(index)
    release_name, digest, release = model_identity(predictor, model_path)
    methods = unique_in_order(index["method"])
    benchmark = getattr(result, "benchmark", "rewardbench")
    if benchmark == "rewardbench":
        skills = method_skills(predictor, methods, release)
    else:  # stored evaluations are RewardBench v1 leave-one-publisher-out
        skills = {m: MethodSkill(m, SKILL_UNKNOWN, source=f"no held-out evaluation on "
                                 f"{benchmark} is stored with this model") for m in methods}
    rows["skill"] = index["method"].map({m: s.status for m, s in skills.items()}).to_numpy()
    known_methods = tuple(getattr(predictor, "methods_", ()) or ())
    if known_methods:
        rows["new_recipe"] = pd.array(~index["method"].isin(known_methods).to_numpy(),
                                      dtype="boolean")
    fit = _fit_frame(predictor)
    if fit is not None:  # known results of the predicted benchmark only
        from rmpredict.datasets._schema import result_benchmark

        fit = fit[(result_benchmark(fit) == benchmark).to_numpy()]
    support: dict[str, int] = {}
    if fit is not None:
        rows["known_result"] = pd.array(np.zeros(n, dtype=bool), dtype="boolean")
        key = pd.MultiIndex.from_arrays([index["model"].astype(str), index["method"]])
        targets = [t for t in result.targets if t in fit]
        if len(fit):
            observed = fit.groupby(["model", "method"])[targets].mean()
            hit = key.isin(observed.index)
            rows["known_result"] = pd.array(hit, dtype="boolean")
            if hit.any():
                vals = observed.reindex(key[hit])
                for t in targets:
                    col = np.full(n, np.nan)
                    col[hit] = vals[t].to_numpy(dtype=float)
                    rows[f"observed_{t}"] = col
        support = _stage_support(fit)
        if rows["extrapolated"].isna().all():
            rows["extrapolated"] = pd.array(np.zeros(n, dtype=bool), dtype="boolean")
    stages = _candidate_stages(candidates)
    if stages is not None and support:
        stage = index["model"].astype(str).map(stages).fillna("instruct")
        count = stage.map(support).fillna(0).astype(int)
        weak = (count < int(min_stage_support)).to_numpy()
        if weak.any():
            word = np.where(count.to_numpy() == 1, "model", "models")
            note = np.array([f"stage {s!r} rests on {c} training {w} (< {min_stage_support})"
                             for s, c, w in zip(stage, count, word)], dtype=object)
            old = rows["extrapolation"].to_numpy(dtype=object)
            joined = np.where(old != "", old + "; " + note, note)
            rows["extrapolation"] = np.where(weak, joined, old)
            flag = rows["extrapolated"].fillna(False).to_numpy(dtype=bool) | weak
            rows["extrapolated"] = pd.array(flag, dtype="boolean")
    return Trust(rows=rows, skill=skills, release=release_name, model_sha256=digest,
                 min_stage_support=int(min_stage_support), stage_support=support)


def attach_trust(result: Any, predictor: Any, candidates: Any = None, *,
                 model_path: str | os.PathLike[str] | None = None,
                 min_stage_support: int = MIN_STAGE_SUPPORT) -> Any:
    """Compute :class:`Trust` for ``result``, store it on ``result.trust`` and return ``result``.

    The release name and the model file's sha256 are added to ``result.provenance``.
    """
    trust = compute_trust(result, predictor, candidates, model_path=model_path,
                          min_stage_support=min_stage_support)
    result.trust = trust
    result.provenance = {**dict(result.provenance), **trust.provenance()}
    return result


def trust_for(result: Any, predictor: Any = None, candidates: Any = None) -> Trust:
    """The result's attached trust, else one computed from ``predictor``, else unknown."""
    trust = getattr(result, "trust", None)
    if isinstance(trust, Trust) and len(trust.rows) == len(result.index):
        return trust
    if predictor is not None:
        return compute_trust(result, predictor, candidates)
    return unknown_trust(result)


def warn_no_skill(trust: Trust, methods: Sequence[str], *, what: str = "ranking",
                  stacklevel: int = 3) -> None:
    """One :class:`NoSkillWarning` naming every method in ``methods`` without demonstrated
    skill; nothing when the trust has no model context (a bare prediction)."""
    if not trust.context:
        return
    caveats = [c for m in methods
               if (c := trust.skill.get(m, MethodSkill(m, SKILL_UNKNOWN)).caveat(what))]
    if caveats:
        text = " ".join(c.replace(f"the {what} below", f"the {what}") for c in caveats)
        warnings.warn(text, NoSkillWarning, stacklevel=stacklevel)
