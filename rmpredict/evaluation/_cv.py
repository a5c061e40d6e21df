"""Leave-one-publisher-out cross-validation of RewardBench-accuracy predictors."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets import CATEGORIES, TARGETS
from rmpredict.datasets._schema import DEFAULT_BENCHMARK, result_benchmark
from rmpredict.evaluation import _metrics as metrics
from rmpredict.evaluation._folds import group_folds
from rmpredict.exceptions import InvalidParameterError
from rmpredict.models import (
    BaseRMPredictor,
    as_results_frame,
    mark_validated,
    validate_ci_prob,
)

__all__ = ["EvaluationResult", "leave_one_publisher_out", "PROTOCOL", "METRIC_KEYS"]

PROTOCOL = "leave-one-publisher-out"

METRIC_KEYS: tuple[str, ...] = ("mae", "rmse", "spearman", "coverage_at_k",
                                "interval_coverage_50", "interval_coverage_90", "crps", "n")
"""Keys of every metrics record, in the order of the issue's ``metrics.json``."""

POINT_METRICS: tuple[str, ...] = ("mae", "rmse", "crps")
"""Metrics with the unit of the target: fractions internally, points (x100) in reports."""

UNITS: dict[str, str] = {
    "mae": "points (0-100 scale: RewardBench accuracy x 100)",
    "rmse": "points (0-100 scale: RewardBench accuracy x 100)",
    "crps": "points (0-100 scale: RewardBench accuracy x 100)",
    "spearman": "rank correlation in [-1, 1]",
    "coverage_at_k": "fraction in [0, 1], mean over k = 5..10",
    "interval_coverage_50": "fraction of held-out cells inside the central 50% interval",
    "interval_coverage_90": "fraction of held-out cells inside the central 90% interval",
    "n": "held-out models (score cells) of the method",
}


@dataclass
class EvaluationResult:
    """Out-of-fold predictions of several predictors and the metrics computed from them.

    Attributes
    ----------
    predictions : pandas.DataFrame
        One row per (predictor, fold, model, method, target): ``publisher``, ``mean``, ``sd``,
        ``lower``, ``upper`` (the ``ci_prob`` interval), ``observed`` — all fractions — and
        per-cell ``in_50``/``in_90`` (1.0/0.0 whether the observed value lies in the central
        50%/90% predictive interval; NaN without intervals), ``crps`` (fraction; NaN without a
        predictive distribution) and ``pit`` (predictive CDF at the observed value).
    folds : pandas.DataFrame
        ``fold, publisher, n_models, n_rows`` of every fold (and ``n_extra_train_rows`` with
        ``extra_train``).
    ci_prob : float
        Mass of the ``lower``/``upper`` interval.
    timings : dict
        Seconds spent fitting and predicting, per predictor (all folds).
    provenance : dict
        rmpredict version, data hash, seeds and predictor parameters.
    diagnostics : list of dict
        MCMC diagnostics of every fold's fit for predictors that sample (fold, publisher,
        predictor, max r-hat, min ESS, divergences, problems), so sampling trouble in any fold
        is recorded with the metrics.
    stacking : list of dict
        Per fold and stacked predictor, the stacking weights ``{method: {structure: w}}``
        estimated inside that fold's training rows.
    """

    predictions: pd.DataFrame
    folds: pd.DataFrame
    ci_prob: float
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    protocol: str = PROTOCOL
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    stacking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def predictors(self) -> list[str]:
        """Predictor names in the order they were given."""
        return list(pd.unique(self.predictions["predictor"]))

    @property
    def methods(self) -> list[str]:
        return sorted(pd.unique(self.predictions["method"]))

    def metrics(self) -> pd.DataFrame:
        """Metrics per predictor and RM method (fractions), the headline of ``metrics.json``.

        ``mae``, ``rmse``, ``spearman``, ``coverage_at_k`` and ``crps`` are computed on the
        overall score of the held-out models. ``interval_coverage_50``/``_90`` are computed
        over the held-out (model, method, category) cells — the four categories — which is
        the calibration target of the issue; their score-only values are in
        :meth:`per_target`. ``n`` is the number of held-out models (score cells).
        """
        rows = []
        for (pred, method), g in self.predictions.groupby(["predictor", "method"], sort=False):
            score = g[g["target"] == "score"]
            cats = g[g["target"].isin(CATEGORIES)]
            rec = _cell_metrics(score)
            rec["interval_coverage_50"] = _nanmean(cats["in_50"])
            rec["interval_coverage_90"] = _nanmean(cats["in_90"])
            rows.append({"predictor": pred, "method": method, **rec})
        return pd.DataFrame(rows, columns=["predictor", "method", *METRIC_KEYS])

    def per_target(self) -> pd.DataFrame:
        """Metrics per predictor, RM method and target (each target's cells alone; fractions)."""
        rows = []
        for (pred, method, target), g in self.predictions.groupby(
                ["predictor", "method", "target"], sort=False):
            rec = _cell_metrics(g)
            rows.append({"predictor": pred, "method": method, "target": target, **rec})
        frame = pd.DataFrame(rows, columns=["predictor", "method", "target", *METRIC_KEYS])
        # Predictors in the order given, methods alphabetically, targets in TARGETS order.
        order = {"predictor": {p: i for i, p in enumerate(self.predictors)},
                 "target": {t: i for i, t in enumerate(TARGETS)}}
        return frame.sort_values(["predictor", "method", "target"],
                                 key=lambda s: s.map(order[s.name]) if s.name in order else s,
                                 kind="stable").reset_index(drop=True)

    def coverage_curve(self, ks: tuple[int, ...] | range = range(1, 21),
                       target: str = "score") -> pd.DataFrame:
        """coverage@k for each k (capped at the model count), per predictor and method."""
        rows = []
        sub = self.predictions[self.predictions["target"] == target]
        for (pred, method), g in sub.groupby(["predictor", "method"], sort=False):
            for k in ks:
                if k > len(g):
                    break
                rows.append({"predictor": pred, "method": method, "k": k,
                             "coverage": metrics.coverage_at_k(g["observed"], g["mean"], k)})
        return pd.DataFrame(rows, columns=["predictor", "method", "k", "coverage"])

    def stacking_summary(self) -> dict[str, Any]:
        """Stacking weights per predictor and method: the mean over folds and every fold's."""
        out: dict[str, Any] = {}
        for rec in self.stacking:
            pred = out.setdefault(rec["predictor"], {})
            for method, weights in rec["weights"].items():
                entry = pred.setdefault(method, {"mean": {}, "per_fold": []})
                entry["per_fold"].append({"publisher": rec["publisher"],
                                          **{s: round(w, 4) for s, w in weights.items()}})
        for pred in out.values():
            for entry in pred.values():
                names = [k for k in entry["per_fold"][0] if k != "publisher"]
                entry["mean"] = {s: round(float(np.mean([f[s] for f in entry["per_fold"]])), 4)
                                 for s in names}
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``metrics.json`` document (MAE, RMSE and CRPS in points; see ``units``)."""
        results: dict[str, dict[str, Any]] = {}
        for rec in self.metrics().to_dict("records"):
            results.setdefault(rec["predictor"], {})[rec["method"]] = _json_record(rec)
        per_target: dict[str, dict[str, dict[str, Any]]] = {}
        for rec in self.per_target().to_dict("records"):
            per_target.setdefault(rec["predictor"], {}).setdefault(rec["method"], {})[
                rec["target"]] = _json_record(rec)
        return {
            "protocol": self.protocol,
            "units": dict(UNITS),
            "ci_prob": self.ci_prob,
            "results": results,
            "per_target": per_target,
            "folds": self.folds.to_dict("records"),
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
            "sampling_diagnostics": self.diagnostics,
            "stacking": self.stacking_summary(),
            "provenance": self.provenance,
        }


def _nanmean(values: pd.Series) -> float:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")


def _cell_metrics(g: pd.DataFrame) -> dict[str, Any]:
    y, m = g["observed"].to_numpy(float), g["mean"].to_numpy(float)
    ok = np.isfinite(y) & np.isfinite(m)
    y, m = y[ok], m[ok]
    return {"mae": metrics.mae(y, m), "rmse": metrics.rmse(y, m),
            "spearman": metrics.spearman(y, m),
            "coverage_at_k": metrics.mean_coverage_at_k(y, m),
            "interval_coverage_50": _nanmean(g["in_50"]),
            "interval_coverage_90": _nanmean(g["in_90"]),
            "crps": _nanmean(g["crps"]), "n": int(ok.sum())}


def _json_record(rec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in METRIC_KEYS:
        value = rec[key]
        if key == "n":
            out[key] = int(value)
            continue
        value = float(value)
        if not np.isfinite(value):
            out[key] = None  # JSON has no NaN: "not available" (e.g. no intervals)
            continue
        out[key] = round(value * 100.0 if key in POINT_METRICS else value, 6)
    return out


def _check_predictors(predictors: Any) -> dict[str, BaseRMPredictor]:
    if not isinstance(predictors, dict) or not predictors:
        raise InvalidParameterError(
            "The 'predictors' parameter of leave_one_publisher_out must be a non-empty dict "
            f"mapping names to predictors. Got {type(predictors).__name__} instead.")
    for name, est in predictors.items():
        if not isinstance(est, BaseRMPredictor):
            raise InvalidParameterError(
                f"The predictor {name!r} passed to leave_one_publisher_out must be a "
                f"BaseRMPredictor (e.g. rmpredict.models.RidgeBaseline()). Got "
                f"{type(est).__name__} instead.")
    return dict(predictors)


def _extra_rows(frame: pd.DataFrame, extra_train: Any) -> pd.DataFrame:
    """Validated extra training rows; they must not repeat an evaluated (model, method)."""
    extra = as_results_frame(extra_train).reset_index(drop=True)
    both = extra.merge(frame[["model", "method"]], on=["model", "method"])
    if len(both):
        pairs = ", ".join(f"{m} ({r})" for m, r in both[["model", "method"]].head(5)
                          .itertuples(index=False))
        raise InvalidParameterError(
            f"The 'extra_train' rows repeat {len(both)} (model, method) pair(s) of the "
            f"evaluated table: {pairs}; give the extra rows their own method name (e.g. "
            "'public_leaderboard') or drop them.")
    return extra


def leave_one_publisher_out(predictors: dict[str, BaseRMPredictor], results: Any = None, *,
                            ci_prob: float = 0.9, extra_train: Any = None,
                            progress: bool | None = None) -> EvaluationResult:
    """Leave-one-publisher-out cross-validation with the same folds for every predictor.

    One fold per publisher: every row (all RM methods) of that publisher's models is held
    out together. In each fold each predictor is cloned (``sklearn.base.clone``), fitted on
    the remaining rows of all methods at once, and predicts the held-out models for the
    methods they were observed with. Held-out targets are removed from the candidates.

    Parameters
    ----------
    predictors : dict of str to BaseRMPredictor
        Named, unfitted (or fitted: they are cloned) predictors.
    results : DataFrame, path or None, default=None
        Results table (validated like ``fit``); ``None`` uses the bundled reference data.
    ci_prob : float, default=0.9
        Mass of the ``lower``/``upper`` interval kept in ``predictions``. Coverage is
        always computed for the central 50% and 90% intervals.
    extra_train : DataFrame or None, default=None
        More results rows (same schema; e.g.
        :func:`~rmpredict.datasets.public_training_rows`) added to the training rows of every
        fold and never evaluated. A fold leaves out the extra rows of its held-out publisher
        and of its held-out models, so nothing about them reaches training.
    progress : bool or None, default=None
        Show a tqdm progress bar; ``None`` shows one only when stderr is a terminal.

    Returns
    -------
    EvaluationResult

    Notes
    -----
    Interval metrics come from the predictive draws when a result has them, otherwise from
    the predictor's own intervals (it is asked again at 50% and 90%); predictors without
    intervals get NaN (left out). CRPS uses draws (energy form) or, without draws, a normal
    predictive with the result's ``sd``.
    """
    from sklearn.base import clone

    from rmpredict._provenance import hash_frame, library_versions, provenance

    predictors = _check_predictors(predictors)
    ci_prob = validate_ci_prob(ci_prob, "leave_one_publisher_out")
    frame = as_results_frame(results)  # returns a still-validated frame unchanged
    frame = frame.reset_index(drop=True)
    extra = None if extra_train is None else _extra_rows(frame, extra_train)
    folds = list(group_folds(frame, "publisher"))
    pubs = [f.group for f in folds]
    from rmpredict._progress import progress_enabled

    show = progress_enabled(progress)

    pieces: list[pd.DataFrame] = []
    fold_rows = []
    diagnostics: list[dict[str, Any]] = []
    stacking: list[dict[str, Any]] = []
    timings = dict.fromkeys(predictors, 0.0)
    from tqdm import tqdm

    bar = tqdm(total=len(folds) * len(predictors), disable=not show, desc="LOPO", unit="fit",
               file=sys.stderr)
    try:
        for fold in folds:
            pub, test = fold.group, fold.test
            fold_rows.append({"fold": fold.fold, "publisher": pub,
                              "n_models": int(test["model"].nunique()),
                              "n_rows": int(len(test))})
            candidates = mark_validated(fold.candidates)
            train = fold.train
            if extra is not None:
                keep = ((extra["publisher"].astype(str) != pub)
                        & ~extra["model"].isin(set(test["model"])))
                train = pd.concat([train, extra[keep]], ignore_index=True)
                fold_rows[-1]["n_extra_train_rows"] = int(keep.sum())
            train = mark_validated(train)
            for name, est in predictors.items():
                bar.set_postfix_str(f"{pub}: {name}")
                t0 = time.perf_counter()
                # Fitted on the training rows only: every choice (scaling, vocabularies,
                # stacking weights) is made without the held-out publisher.
                fitted = clone(est).fit(_learnable_rows(est, train))
                diag = getattr(fitted, "diagnostics_", None)
                if diag:
                    diagnostics.append({
                        "fold": fold.fold, "publisher": pub, "predictor": name,
                        **{k: diag.get(k) for k in ("max_rhat", "min_ess_bulk", "min_ess_tail",
                                                    "divergences", "ok", "problems")}})
                weights = getattr(fitted, "stacking_weights_", None)
                if weights:
                    stacking.append({"fold": fold.fold, "publisher": pub, "predictor": name,
                                     "weights": weights})
                piece = _predict_fold(fitted, candidates, test, ci_prob)
                timings[name] += time.perf_counter() - t0
                piece.insert(0, "publisher", pub)
                piece.insert(0, "fold", fold.fold)
                piece.insert(0, "predictor", name)
                pieces.append(piece)
                bar.update(1)
    finally:
        bar.close()

    predictions = pd.concat(pieces, ignore_index=True)
    seeds = {}
    for name, est in predictors.items():
        params = est.get_params(deep=False)
        for key in ("random_seed", "seed"):
            if key in params:
                seeds[name] = params[key]
    prov = provenance(
        protocol=PROTOCOL, data_hash=hash_frame(frame), n_rows=int(len(frame)),
        extra_train=None if extra is None else {"data_hash": hash_frame(extra),
                                                "n_rows": int(len(extra)),
                                                "methods": sorted(extra["method"].unique())},
        n_publishers=len(pubs), seed=seeds, ci_prob=ci_prob,
        predictors={name: {"class": type(est).__name__,
                           "params": {k: repr(v) for k, v in est.get_params(deep=False).items()}}
                    for name, est in predictors.items()},
        libraries=library_versions())
    return EvaluationResult(predictions=predictions, folds=pd.DataFrame(fold_rows),
                            ci_prob=ci_prob, timings=timings, provenance=prov,
                            diagnostics=diagnostics, stacking=stacking)


def _learnable_rows(est: BaseRMPredictor, train: pd.DataFrame) -> pd.DataFrame:
    """``train`` without rows of benchmarks ``est`` cannot learn from (a baseline fits
    RewardBench v1 only; extra training rows may hold RewardBench 2)."""
    fits = getattr(est, "fits_benchmarks", None)
    if fits is None or "benchmark" not in train.columns:
        return train
    keep = result_benchmark(train).isin(fits).to_numpy()
    return train if keep.all() else mark_validated(train[keep].reset_index(drop=True))


def _predict_fold(fitted: BaseRMPredictor, candidates: pd.DataFrame, test: pd.DataFrame,
                  ci_prob: float) -> pd.DataFrame:
    """Long frame of held-out predictions with per-cell interval hits, CRPS and PIT."""
    from scipy import stats

    # The metrics are RewardBench v1's; held-out RewardBench 2 rows are left out of them
    # (benchmarks/bench_public_rb2.py evaluates RewardBench 2), never compared with v1.
    test = test[(result_benchmark(test) == DEFAULT_BENCHMARK).to_numpy()]
    res = fitted.predict(candidates, method="all", ci_prob=ci_prob)
    # Keep only the (model, method) pairs observed in the held-out rows, in their order.
    key = res.index[["model", "method"]].reset_index(drop=True)
    key["_pos"] = np.arange(len(key))
    obs = test[["model", "method", *TARGETS]].reset_index(drop=True)
    joined = obs.merge(key, on=["model", "method"], how="inner", sort=False)
    pos = joined["_pos"].to_numpy()
    y = joined[list(TARGETS)].to_numpy(float)  # (rows, targets), fractions
    tidx = [res.target(t) for t in TARGETS]
    mean, sd = res.mean[pos][:, tidx], res.sd[pos][:, tidx]
    lower, upper = res.lower[pos][:, tidx], res.upper[pos][:, tidx]

    nan = np.full_like(y, np.nan)
    in50, in90, crps, pit = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    if res.logit_mean is not None or res.has_draws:
        # The result's own intervals at any level: closed form where it has one (the
        # hierarchical predictor's deterministic summaries), else from its draws.
        for level, hits in ((0.5, in50), (0.9, in90)):
            lo, hi = res.interval(level)
            hits[:] = ((lo[pos][:, tidx] <= y) & (y <= hi[pos][:, tidx])).astype(float)
    elif res.has_intervals:
        for level, hits in ((0.5, in50), (0.9, in90)):
            if np.isclose(level, ci_prob):
                lo, hi = lower, upper
            else:
                again = fitted.predict(candidates, method="all", ci_prob=level)
                lo, hi = again.lower[pos][:, tidx], again.upper[pos][:, tidx]
            ok = np.isfinite(lo) & np.isfinite(hi)
            hits[ok] = ((lo <= y) & (y <= hi))[ok].astype(float)
    if res.has_draws:
        draws = res.draws[:, pos][:, :, tidx]
        crps = metrics.crps_draws(draws, y)
        pit = np.mean(draws <= y[None], axis=0)
    elif np.isfinite(sd).any():
        ok = np.isfinite(sd) & (sd > 0)
        crps[ok] = metrics.crps_gaussian(mean[ok], sd[ok], y[ok])
        pit[ok] = stats.norm.cdf((y[ok] - mean[ok]) / sd[ok])
    missing = ~np.isfinite(y)  # a partial user table: no observation, no metric
    for arr in (in50, in90, crps, pit):
        arr[missing] = np.nan

    n, t = y.shape
    out = pd.DataFrame({
        "model": np.repeat(joined["model"].to_numpy(), t),
        "method": np.repeat(joined["method"].to_numpy(), t),
        "target": np.tile(np.array(TARGETS, dtype=object), n),
        "mean": mean.ravel(), "sd": sd.ravel(), "lower": lower.ravel(),
        "upper": upper.ravel(), "observed": y.ravel(), "in_50": in50.ravel(),
        "in_90": in90.ravel(), "crps": crps.ravel(), "pit": pit.ravel(),
    })
    return out[np.isfinite(out["observed"]).to_numpy()].reset_index(drop=True)
