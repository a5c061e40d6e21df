"""The hierarchical model on public RewardBench v1 RMs, leave one submitting organisation out.

Target: the overall RewardBench v1 score (mean of the four categories) of each public RM whose
four categories are published and whose base model has leaderboard-v2 scores (the rows of
``public_training_rows``, not averaged). One fold per organisation (``org_group``): the
model is fitted on the seed study plus ``public_training_rows(exclude_organisations=[org])``
(the held-out organisation's RMs are removed before the per-checkpoint averages), then predicts
the ``public_leaderboard`` recipe for the held-out RMs' base models; every RM of one base gets
the same prediction. The baselines of ``bench_public_baselines.py`` (mean, MMLU-PRO alone, best
single benchmark, ridge) run on the same rows and folds with the same target.

To keep the run to minutes the Bayesian model uses one structure (``capability``: factors and
size, pooled slopes), no stacking, 4 x (1000 + 1000) draws — a cheaper model than the default
stack, stated in the output.

    python benchmarks/bench_public_orgs.py
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from bench_public_baselines import PREDICTORS, predict_fold  # this folder is on sys.path
from scipy.stats import spearmanr

CATS = ["chat", "chat_hard", "safety", "reasoning"]


def fit_parser(doc: str) -> argparse.ArgumentParser:
    """``--seed``, ``--draws``, ``--tune`` of the one-structure fits these scripts run."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    return parser


def prediction_arrays(n: int) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """NaN-filled point predictions (bayes and the baselines) and ``bayes``'s 50%/90% bounds
    ``[lo50, hi50, lo90, hi90]`` for ``n`` held-out RMs."""
    preds = {name: np.full(n, np.nan) for name in ("bayes", *PREDICTORS)}
    return preds, [np.full(n, np.nan) for _ in range(4)]


def print_public_table(preds: dict[str, np.ndarray], y: np.ndarray, band50: tuple,
                       band90: tuple, n_folds: int) -> None:
    """MAE (points), Spearman and, for ``bayes``, 50%/90% coverage of each predictor."""
    print("| predictor | MAE (points) | Spearman | cover 50% | cover 90% | n RMs | n folds |")
    print("|---|---|---|---|---|---|---|")
    for name, p in preds.items():
        cov = ("–", "–")
        if name == "bayes":
            cov = tuple(f"{np.mean((lo <= y) & (y <= hi)):.2f}" for lo, hi in (band50, band90))
        print(f"| {name} | {100 * np.mean(np.abs(p - y)):.2f} | "
              f"{spearmanr(p, y).statistic:.3f} | {cov[0]} | {cov[1]} | {len(y)} | "
              f"{n_folds} |")


def print_sampling(diagnostics: list[tuple], wall: float) -> None:
    """Worst r-hat and ESS, total divergences over the folds' fits ``(fold, rhat, ess, div)``."""
    worst = max(diagnostics, key=lambda d: d[1] or 0)
    print(f"sampling: max r-hat {worst[1]:.3f} (fold {worst[0]}), min bulk ESS "
          f"{min(d[2] for d in diagnostics):.0f}, divergences "
          f"{sum(d[3] for d in diagnostics)}; wall {wall:.0f} s")


def public_rms() -> pd.DataFrame:
    """The per-RM rows behind ``public_training_rows``, with their overall score."""
    from rmpredict.datasets._public_training import usable_public_rms

    pub = usable_public_rms()[0]
    pub["score"] = pub[CATS].mean(axis=1)
    return pub


def main() -> None:
    args = fit_parser(__doc__).parse_args()

    from rmpredict.datasets import PUBLIC_RECIPE, public_training_rows
    from rmpredict.models import HierarchicalRMPredictor, as_results_frame

    rms = public_rms()
    seed_rows = as_results_frame(None)
    orgs = sorted(rms["org_group"].unique())
    print(f"{len(rms)} public RMs, {rms['base_model'].nunique()} base models, {len(orgs)} "
          f"organisations {rms['org_group'].value_counts().to_dict()}")
    preds, (lo50, hi50, lo90, hi90) = prediction_arrays(len(rms))
    t0 = time.perf_counter()
    diagnostics = []
    for org in orgs:
        test = (rms["org_group"] == org).to_numpy()
        for name in PREDICTORS:
            preds[name][test] = predict_fold(name, rms[~test], rms[test])[0]
        extra = public_training_rows(exclude_organisations=[org])
        train = pd.concat([seed_rows, as_results_frame(extra)], ignore_index=True)
        model = HierarchicalRMPredictor(structures=("capability",), stacking="none",
                                        draws=args.draws, tune=args.tune,
                                        random_seed=args.seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(train)
            bases = pd.DataFrame({"model": rms.loc[test, "base_model"].unique()})
            res = model.predict(bases, method=PUBLIC_RECIPE, ci_prob=0.9)
        frame = res.to_frame()
        frame = frame[frame["target"] == "score"].set_index("model")
        lo, hi = res.interval(0.5)
        half = pd.DataFrame({"lo": lo[:, -1], "hi": hi[:, -1]}, index=res.index["model"])
        at = rms.loc[test, "base_model"]
        preds["bayes"][test] = frame.loc[at, "mean"].to_numpy()
        lo90[test], hi90[test] = frame.loc[at, "lower"], frame.loc[at, "upper"]
        lo50[test], hi50[test] = half.loc[at, "lo"], half.loc[at, "hi"]
        diag = model.diagnostics_
        diagnostics.append((org, diag.get("max_rhat"), diag.get("min_ess_bulk"),
                            diag.get("divergences")))
        print(f"  fold {org}: {int(test.sum())} RMs, {len(train)} training rows, "
              f"{time.perf_counter() - t0:.0f} s; warnings: "
              f"{sorted({type(w.message).__name__ for w in caught})}", flush=True)
    y = rms["score"].to_numpy()
    print_public_table(preds, y, (lo50, hi50), (lo90, hi90), len(orgs))
    print_sampling(diagnostics, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
