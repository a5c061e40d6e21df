"""How well the predictor transfers to the study's models, and whether presence scores recover
the ladder's known pre-training mixtures.

Every number is out of sample: the study's models are predicted by a fit on the 34 reference
models alone (the study's method is then a *new* member of the method level), or by a joint fit
from which the predicted model (leave one model out) or its whole publisher (leave one
publisher out; the ladder is one publisher) was held out.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.study._config import STUDY_METHOD

__all__ = ["evaluate_study", "StudyReport", "presence_recovery", "transfer_metrics"]

_CATS = ("chat", "chat_hard", "safety", "reasoning")
_TARGETS = (*_CATS, "score")


def _noop(_: str) -> None:
    pass


# ---- presence scores vs known mixtures -------------------------------------------------------
def presence_recovery(features: pd.DataFrame, mixtures: dict[str, dict[str, float]],
                      groups: dict[str, str]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Compare presence features of ladder models with their known mixtures.

    Raw presence mixes three things: how much of a domain the model saw, how predictable the
    domain is, and how good the model is overall. Double centring removes the last two:
    within each group of models that differ only in mixture (same size), subtract each
    domain's mean over the group, then each model's mean over domains. The same is done to
    ``log(weight)``. Recovery means the centred presence tracks the centred log-weight.

    Parameters
    ----------
    features : DataFrame
        ``model`` plus ``datadist_<domain>`` (nats/token).
    mixtures : dict
        Model -> {domain: weight}.
    groups : dict
        Model -> group label (models compared with each other, e.g. the size).

    Returns
    -------
    table : DataFrame
        One row per (model, domain): weight, presence, centred values.
    stats : dict
        ``spearman_centred`` and ``pearson_centred`` over all cells, ``spearman_raw`` (no
        centring), ``top_domain_hits`` (models whose highest centred presence is their
        highest-weight domain), ``n_models``, and ``pairwise_sign_agreement`` out of
        ``pairwise_comparisons``: for two models of a group and a domain whose weights differ,
        whether the model with the larger weight has the larger presence. With two models per
        group the centred values of the pair mirror each other, so the pairwise count is the
        statistic without double counting.
    """
    from scipy.stats import pearsonr, spearmanr

    rows = []
    for _, r in features.iterrows():
        m = r["model"]
        if m not in mixtures:
            continue
        for dom, w in mixtures[m].items():
            col = f"datadist_{dom}"
            if col in r and np.isfinite(r[col]):
                rows.append({"model": m, "group": groups[m], "domain": dom, "weight": float(w),
                             "log_weight": float(np.log(w)), "presence": float(r[col])})
    table = pd.DataFrame(rows)
    if table.empty or table["model"].nunique() < 2:
        raise InvalidParameterError("presence_recovery needs presence features of at least "
                                    "two ladder models with known mixtures")
    for col in ("presence", "log_weight"):
        c = table[col] - table.groupby(["group", "domain"])[col].transform("mean")
        c = c - c.groupby(table["model"]).transform("mean")
        table[f"{col}_centred"] = c
    # Pairwise: within a group, for each pair of models and each domain whose weights differ,
    # does the model with more of the domain have the higher presence? (No double counting.)
    agree = total = 0
    for _, g in table.groupby("group"):
        wide_p = g.pivot(index="model", columns="domain", values="presence")
        wide_w = g.pivot(index="model", columns="domain", values="weight")
        models = list(wide_p.index)
        for i in range(len(models)):
            for j in range(i + 1, len(models)):
                dw = wide_w.iloc[i] - wide_w.iloc[j]
                dp = wide_p.iloc[i] - wide_p.iloc[j]
                keep = dw.abs() > 1e-12
                agree += int((np.sign(dw[keep]) == np.sign(dp[keep])).sum())
                total += int(keep.sum())
    tops = []
    for _, g in table.groupby("model"):
        tops.append(g.loc[g["presence_centred"].idxmax(), "domain"]
                    == g.loc[g["log_weight_centred"].idxmax(), "domain"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input for a degenerate tiny run -> nan
        stats = {
            "spearman_centred": float(spearmanr(table["presence_centred"],
                                                table["log_weight_centred"])[0]),
            "pearson_centred": float(pearsonr(table["presence_centred"],
                                              table["log_weight_centred"])[0]),
            "spearman_raw": float(spearmanr(table["presence"], table["log_weight"])[0]),
            "top_domain_hits": int(sum(tops)), "n_models": int(table["model"].nunique()),
            "pairwise_sign_agreement": agree, "pairwise_comparisons": total}
    return table, stats


# ---- predictor transfer ----------------------------------------------------------------------
def transfer_metrics(pred: pd.DataFrame, observed: pd.DataFrame) -> dict[str, float]:
    """MAE (points), interval coverage and Spearman of ``score`` against observed values.

    ``pred`` has ``model, target, mean, lower, upper, lower50, upper50``.
    """
    from rmpredict.evaluation import interval_coverage, mae, spearman

    obs = observed.set_index("model")
    out: dict[str, float] = {}
    cells = pred[pred["target"].isin(_CATS)]
    y = np.array([obs.loc[m, t] for m, t in zip(cells["model"], cells["target"])], dtype=float)
    out["mae_categories"] = 100 * mae(y, cells["mean"].to_numpy())
    out["coverage90_categories"] = interval_coverage(y, cells["lower"].to_numpy(),
                                                     cells["upper"].to_numpy())
    out["coverage50_categories"] = interval_coverage(y, cells["lower50"].to_numpy(),
                                                     cells["upper50"].to_numpy())
    sc = pred[pred["target"] == "score"]
    ys = obs.loc[sc["model"], "score"].to_numpy(dtype=float)
    out["mae_score"] = 100 * mae(ys, sc["mean"].to_numpy())
    out["coverage90_score"] = interval_coverage(ys, sc["lower"].to_numpy(), sc["upper"].to_numpy())
    out["spearman_score"] = spearman(ys, sc["mean"].to_numpy()) if len(ys) > 2 else float("nan")
    out["mean_interval_width90_score"] = float(100 * np.mean(sc["upper"] - sc["lower"]))
    out["n_models"] = int(len(sc))
    return out


def _predict_both(est: Any, candidates: pd.DataFrame, method: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        # Extrapolation and new-method warnings are expected here and recorded in notes.
        warnings.simplefilter("ignore")
        # A fold that holds out every model of the study's method predicts it as a new recipe.
        known = method in est.methods_ or method == "all"
        res = est.predict(candidates, method=method if known else "new", ci_prob=0.9)
    frame = res.to_frame()
    frame["method"] = method
    lo50, hi50 = res.interval(0.5)  # from the same joint draws
    frame["lower50"], frame["upper50"] = lo50.ravel(), hi50.ravel()
    return frame


@dataclass
class StudyReport:
    """Out-of-sample predictions of the study's models and the presence check.

    Attributes
    ----------
    predictions : DataFrame
        ``setting, model, target, mean, sd, lower, upper, lower50, upper50, observed``.
    metrics : DataFrame
        One row per setting (see :func:`transfer_metrics`), plus the study-mean baseline.
    presence : DataFrame
        Per (ladder model, domain) presence and weights (empty without a ladder).
    presence_stats : dict
    diagnostics : dict
        Sampler diagnostics of every fit, by setting.
    provenance : dict
    """

    predictions: pd.DataFrame
    metrics: pd.DataFrame
    presence: pd.DataFrame
    presence_stats: dict[str, Any]
    diagnostics: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary_text(self) -> str:
        lines = ["Predicting the study's models (score MAE in points, coverage of 90% "
                 "intervals):"]
        lines.append(self.metrics.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        if self.presence_stats:
            lines.append("Presence vs known ladder mixtures: " + ", ".join(
                f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in self.presence_stats.items()))
        return "\n".join(lines)

    def write(self, outdir: str | Path) -> dict[str, Path]:
        """Write predictions.csv, metrics.csv, presence.csv and report.json (atomic)."""
        from rmpredict._io import write_json_atomic, write_table_atomic

        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"predictions": out / "predictions.csv", "metrics": out / "metrics.csv",
                 "presence": out / "presence.csv", "report": out / "report.json"}
        write_table_atomic(paths["predictions"], self.predictions)
        write_table_atomic(paths["metrics"], self.metrics)
        write_table_atomic(paths["presence"], self.presence)
        write_json_atomic(paths["report"], {
            "metrics": self.metrics.to_dict(orient="records"),
            "presence_stats": self.presence_stats, "diagnostics": self.diagnostics,
            "provenance": self.provenance})
        return paths


def _baseline(study: pd.DataFrame, folds: dict[str, list[str]]) -> pd.DataFrame:
    """Predict each held-out model by the mean of the other study models (no features)."""
    rows = []
    for held in folds.values():
        rest = study[~study["model"].isin(held)]
        for m in held:
            for t in _TARGETS:
                mu = float(rest[t].mean())
                rows.append({"model": m, "target": t, "mean": mu, "lower": np.nan,
                             "upper": np.nan, "lower50": np.nan, "upper50": np.nan})
    return pd.DataFrame(rows)


def evaluate_study(work: str | Path, *, results: str | Path | None = None, draws: int = 2000,
                   tune: int = 2000, chains: int = 4, random_seed: int = 0,
                   datadist: bool = True, outdir: str | Path | None = None,
                   log: Callable[[str], None] = _noop) -> StudyReport:
    """Fit the predictor without and with the study and predict the study's models out of sample.

    Settings (rows of ``metrics``):

    - ``reference_only:new_method`` -- fit on the 34 reference models; the study's models are
      predicted as a new method drawn from the fitted population of methods.
    - ``reference_only:as_bradley_terry`` -- the same fit, predicting them as if scored like the
      reference Bradley-Terry RMs on RewardBench (the naive transfer).
    - ``joint:leave_one_model_out`` -- fit on reference + study minus one study model.
    - ``joint:leave_one_publisher_out`` -- the same, holding out a whole publisher at a time
      (all ladder models together).
    - ``joint+datadist:leave_one_model_out`` -- as LOMO, with the presence features
      (``datadist_*``) as predictors (``datadist=True`` and at least 3 models with them).
    - ``baseline:study_mean`` -- the mean of the other study models under the LOMO folds.

    Results go to ``outdir`` (default ``WORK/evaluation``).
    """
    from rmpredict import __version__
    from rmpredict._io import read_table
    from rmpredict._provenance import hash_frame
    from rmpredict.datasets import load_reference
    from rmpredict.models import NEW_METHOD, HierarchicalRMPredictor

    work = Path(work)
    full = read_table(Path(results) if results else work / "results.csv")
    full = full.drop(columns=[c for c in ("record", "record_sha256") if c in full.columns])
    dd_cols = [c for c in full.columns if c.startswith("datadist_")]
    study = full.drop(columns=dd_cols)
    if len(study) < 2:
        raise InvalidParameterError("evaluate needs at least two study models in the results")
    reference = load_reference()
    features = study.drop(columns=list(_TARGETS) + ["method"])

    def make() -> HierarchicalRMPredictor:
        return HierarchicalRMPredictor(draws=draws, tune=tune, chains=chains,
                                       random_seed=random_seed, progressbar=False)

    preds, diags = [], {}
    log("fit: reference only")
    ref_fit = make().fit(reference)
    diags["reference_only"] = ref_fit.diagnostics_
    for setting, method in (("reference_only:new_method", NEW_METHOD),
                            ("reference_only:as_bradley_terry", "bradley_terry")):
        preds.append(_predict_both(ref_fit, features, method).assign(setting=setting))

    joint = pd.concat([reference, study], ignore_index=True)
    lomo = {m: [m] for m in study["model"]}
    lopo: dict[str, list[str]] = {}
    for m, p in zip(study["model"], study["publisher"].fillna(study["model"])):
        lopo.setdefault(str(p), []).append(m)
    runs = [("joint:leave_one_model_out", lomo, joint, features),
            ("joint:leave_one_publisher_out", lopo, joint, features)]
    if datadist and dd_cols and full[dd_cols].notna().sum().min() >= 3:
        # Presence features are observed for the study's causal LMs only; for the reference
        # models (and encoders) they are latent, so their slopes are learnt from the study.
        joint_dd = pd.concat([reference, full], ignore_index=True)
        runs.append(("joint+datadist:leave_one_model_out", lomo, joint_dd,
                     full.drop(columns=list(_TARGETS) + ["method"])))
    ests: dict[int, HierarchicalRMPredictor] = {}
    done: dict[tuple[int, tuple[str, ...]], pd.DataFrame] = {}
    for name, folds, table, feats in runs:
        est = ests.setdefault(id(table), make())
        for fold, held in folds.items():
            key = (id(table), tuple(sorted(held)))
            if key not in done:  # a one-model publisher's LOPO fold is its LOMO fold
                log(f"fit: {name} without {fold}")
                est.fit(table, holdout=held)
                diags[f"{name}:{fold}"] = est.diagnostics_
                done[key] = _predict_both(est, feats[feats["model"].isin(held)], STUDY_METHOD)
            preds.append(done[key].assign(setting=name))
    preds.append(_baseline(study, lomo).assign(setting="baseline:study_mean"))
    pred = pd.concat(preds, ignore_index=True)
    obs = study.set_index("model")
    pred["observed"] = [float(obs.loc[m, t]) for m, t in zip(pred["model"], pred["target"])]

    metrics = []
    for setting, g in pred.groupby("setting", sort=False):
        metrics.append({"setting": setting, **transfer_metrics(g, study)})
    metrics_df = pd.DataFrame(metrics)

    presence, pstats = _presence_part(work, log)
    report = StudyReport(
        predictions=pred[["setting", "model", "target", "mean", "lower", "upper", "lower50",
                          "upper50", "observed"]],
        metrics=metrics_df, presence=presence, presence_stats=pstats, diagnostics=diags,
        provenance={"rmpredict_version": __version__, "study_data_sha256": hash_frame(study),
                    "reference_data_sha256": hash_frame(reference), "random_seed": random_seed,
                    "draws": draws, "tune": tune, "chains": chains})
    report.write(Path(outdir) if outdir else work / "evaluation")
    return report


def _presence_part(work: Path, log: Callable[[str], None]
                   ) -> tuple[pd.DataFrame, dict[str, Any]]:
    rows, mixtures, groups = [], {}, {}
    for info_path in sorted((work / "bases").glob("*/base.json")):
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("kind") != "ladder":
            continue
        pres = work / "presence" / f"{info['key']}.json"
        if not pres.is_file():
            continue
        feats = json.loads(pres.read_text(encoding="utf-8")).get("features", {})
        rows.append({"model": info["model"], **feats})
        mixtures[info["model"]] = info["mixture"]
        spec = info.get("ladder", {}).get("spec", {})
        groups[info["model"]] = str((spec.get("hidden_size"), spec.get("num_layers")))
    if len(rows) < 2:
        log("presence check skipped: fewer than two ladder models with presence scores")
        return pd.DataFrame(), {}
    table, stats = presence_recovery(pd.DataFrame(rows), mixtures, groups)
    return table, stats
