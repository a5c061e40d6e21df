"""Simple baselines on the public RM results: the anchors a hierarchical model must beat.

Two evaluations on :func:`rmpredict.datasets.load_public_results` (low-confidence base mappings
left out unless ``--include-low``), each with the same folds for every predictor:

- RewardBench v1 overall, leave-one-submitting-organisation-out (folds by ``org_group``: the
  submitting organisation, with the leaderboard's ``ai2/`` runs counted as ``allenai``);
- RewardBench 2 overall, leave-one-base-publisher-out (folds by ``base_publisher``, the publisher
  of the pretrained foundation model).

The target is the published overall ``score``. Features are the base model's six Open LLM
Leaderboard v2 scores; rows whose base model is not in leaderboard v2 are left out (counted).
Predictors, every one fitted on the training fold only:

- ``mean``: the training fold's mean score;
- ``mmlu_pro``: linear fit on the base model's MMLU-PRO alone;
- ``best_single``: linear fit on the one v2 benchmark with the largest absolute Pearson
  correlation with the score in the training fold (the rule of
  :class:`rmpredict.models.BestSingleBenchmark`);
- ``ridge``: standardised six v2 benchmarks, ``RidgeCV(alphas=logspace(-3, 3, 13))`` (penalty
  by efficient leave-one-out on the training fold; the rule of
  :class:`rmpredict.models.RidgeBaseline`).

Metrics over the pooled out-of-fold predictions: MAE in points (0-100) and Spearman correlation
between predicted and published score.

Usage::

    python benchmarks/bench_public_baselines.py [--include-low]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rmpredict._provenance import library_versions
from rmpredict.datasets import V2_BENCHMARKS, load_public_results

PREDICTORS = ("mean", "mmlu_pro", "best_single", "ridge")
SETTINGS = (
    ("rewardbench", "org_group", "leave-one-submitting-organisation-out"),
    ("rewardbench2", "base_publisher", "leave-one-base-publisher-out"),
)
ALPHAS = tuple(np.logspace(-3, 3, 13))


def _linear(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    if np.ptp(x) == 0:  # one distinct feature value in the fold: the slope is not identified
        return np.full(len(x_new), y.mean())
    slope, intercept = np.polyfit(x, y, 1)
    return intercept + slope * x_new


def _best_feature(train: pd.DataFrame) -> str:
    best, best_r = V2_BENCHMARKS[0], -1.0
    for col in V2_BENCHMARKS:
        x = train[col].to_numpy(float)
        if np.ptp(x) == 0:
            continue
        r = abs(np.corrcoef(x, train["score"].to_numpy(float))[0, 1])
        if np.isfinite(r) and r > best_r:  # ties keep the first in V2_BENCHMARKS order
            best, best_r = col, r
    return best


def predict_fold(name: str, train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Out-of-fold predictions of one predictor, fitted on ``train`` only."""
    y = train["score"].to_numpy(float)
    if name == "mean":
        return np.full(len(test), y.mean()), ""
    if name in ("mmlu_pro", "best_single"):
        col = "mmlu_pro" if name == "mmlu_pro" else _best_feature(train)
        return _linear(train[col].to_numpy(float), y, test[col].to_numpy(float)), col
    if name == "ridge":
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=ALPHAS))
        model.fit(train[list(V2_BENCHMARKS)].to_numpy(float), y)
        return model.predict(test[list(V2_BENCHMARKS)].to_numpy(float)), ""
    raise ValueError(name)


def evaluate(frame: pd.DataFrame, group: str) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    preds = {name: np.full(len(frame), np.nan) for name in PREDICTORS}
    chosen: dict[str, list[str]] = {"best_single": []}
    groups = frame[group].to_numpy()
    for g in sorted(set(groups)):
        test = groups == g
        for name in PREDICTORS:
            p, col = predict_fold(name, frame[~test], frame[test])
            preds[name][test] = p
            if name == "best_single":
                chosen[name].append(col)
    y = frame["score"].to_numpy(float)
    rows = []
    for name in PREDICTORS:
        rho = spearmanr(preds[name], y).statistic
        rows.append({"predictor": name, "mae_points": 100 * np.mean(np.abs(preds[name] - y)),
                     "spearman": float(rho)})
    return pd.DataFrame(rows), chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--include-low", action="store_true",
                        help="also use rows whose base-model mapping is low confidence")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    versions = library_versions(("numpy", "pandas", "scikit-learn", "scipy"))
    print(f"public RM results baselines; {platform.machine()} "
          f"{platform.processor() or ''}".rstrip() + "; "
          + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("| benchmark (overall) | folds | predictor | MAE (points) | Spearman | n rows | "
          "n folds |")
    print("|---|---|---|---|---|---|---|")
    notes = []
    for bench, group, label in SETTINGS:
        pub = load_public_results(include_low_confidence=args.include_low, benchmark=bench)
        usable = pub[pub["in_leaderboard_v2"]].reset_index(drop=True)
        metrics, chosen = evaluate(usable, group)
        n_folds = usable[group].nunique()
        for rec in metrics.to_dict("records"):
            print(f"| {bench} | {label} | {rec['predictor']} | {rec['mae_points']:.2f} | "
                  f"{rec['spearman']:.3f} | {len(usable)} | {n_folds} |")
        picks = pd.Series(chosen["best_single"]).value_counts().to_dict()
        notes.append(f"{bench}: {len(pub)} rows loaded (data hash "
                     f"{pub.attrs['provenance']['data_hash']}), {len(pub) - len(usable)} "
                     f"without leaderboard-v2 base scores left out; folds "
                     f"{usable[group].value_counts().to_dict()}; best_single picked {picks}")
    print()
    for note in notes:
        print(note)
    print(f"wall time {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
