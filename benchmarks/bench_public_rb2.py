"""RewardBench 2 from one model of both benchmarks: public RMs, leave one base publisher out.

Target: the overall RewardBench 2 score (mean of its six categories) of each public RM whose
base model has leaderboard-v2 scores (``usable_public_rms(benchmark="rewardbench2")``, one row
per RM). One fold per base publisher (``base_publisher``, the folds of
``bench_public_baselines.py``). Every predictor leaves out, besides the held-out RMs, every
training row of a model from the held-out publisher or from a publisher of a held-out RM's
checkpoint (seed naming: e.g. Ai2's Tulu checkpoints of Meta's Llama), on both benchmarks — so
no RM's RewardBench v1 result of a held-out checkpoint is seen either.

The hierarchical model is fitted on the seed study (RewardBench v1, two recipes) plus the
public rows of both benchmarks (``public_training_rows(benchmark="all")``), and predicts
``benchmark="rewardbench2"`` for each held-out RM's recipe: ``rewardbench2_paper`` for the
RewardBench 2 paper's RMs when that recipe is still in the training rows, else ``new`` (the
population of recipes); ``public_leaderboard`` for the other leaderboard RMs. The baselines
of ``bench_public_baselines.py`` (mean, MMLU-PRO alone, best single benchmark, ridge) are
fitted on the training RewardBench 2 RMs of the same fold.

To keep the run to minutes the Bayesian model uses one structure (``capability``: factors and
size, pooled slopes), no stacking, 4 x (1000 + 1000) draws — a cheaper model than the default
stack, stated in the output.

    python benchmarks/bench_public_rb2.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from bench_public_baselines import PREDICTORS, predict_fold  # this folder is on sys.path
from bench_public_orgs import fit_parser, prediction_arrays, print_public_table, print_sampling

RB2 = ["factuality", "precise_if", "math", "safety", "focus", "ties"]


def main() -> None:
    parser = fit_parser(__doc__)
    parser.add_argument("--output", default=None, metavar="PRED.csv",
                        help="also write every held-out RM's predictions and observation")
    args = parser.parse_args()

    from rmpredict.datasets import PUBLIC_RECIPE, public_training_rows
    from rmpredict.datasets._public_training import STUDY_RECIPES, usable_public_rms
    from rmpredict.models import HierarchicalRMPredictor, as_results_frame

    rms = usable_public_rms(benchmark="rewardbench2")[0]
    rms["score"] = rms[RB2].mean(axis=1)
    seed_rows = as_results_frame(None)
    public = public_training_rows(benchmark="all")
    table = pd.concat([seed_rows, public], ignore_index=True)
    table["benchmark"] = table["benchmark"].fillna("rewardbench")
    # Each public checkpoint's publisher in the seed study's naming (Ai2 for Tulu).
    seed_pub = dict(zip(public["model"], public["publisher"]))
    groups = sorted(rms["base_publisher"].unique())
    print(f"{len(rms)} public RewardBench 2 RMs, {rms['base_model'].nunique()} base models, "
          f"folds by base publisher {rms['base_publisher'].value_counts().to_dict()}")
    print(f"training table: {len(seed_rows)} seed rows, {len(public)} public rows "
          f"{public.groupby(['benchmark', 'method']).size().to_dict()}")
    preds, (lo50, hi50, lo90, hi90) = prediction_arrays(len(rms))
    t0 = time.perf_counter()
    diagnostics = []
    for held in groups:
        test = (rms["base_publisher"] == held).to_numpy()
        # The held-out publisher and the seed-style publisher of every held-out checkpoint.
        out = {held} | {seed_pub[m] for m in rms.loc[test, "base_model"] if m in seed_pub}
        train_rms = rms[~test & ~rms["base_model"].map(seed_pub).isin(out).to_numpy()]
        for name in PREDICTORS:
            preds[name][test] = predict_fold(name, train_rms, rms[test])[0]
        train = table[~table["publisher"].isin(out)
                      & ~table["model"].isin(set(rms.loc[test, "base_model"]))]
        train = as_results_frame(train.reset_index(drop=True))
        model = HierarchicalRMPredictor(structures=("capability",), stacking="none",
                                        draws=args.draws, tune=args.tune,
                                        random_seed=args.seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(train)
            idx = np.flatnonzero(test)
            recipe = [STUDY_RECIPES.get(s, PUBLIC_RECIPE) if isinstance(s, str)
                      else PUBLIC_RECIPE for s in rms["study"].iloc[idx]]
            recipe = [r if r in model.methods_ else "new" for r in recipe]
            for r in sorted(set(recipe)):
                sel = idx[np.array(recipe) == r]
                bases = pd.DataFrame({"model": rms["base_model"].iloc[sel].unique()})
                res = model.predict(bases, method=r, ci_prob=0.9, benchmark="rewardbench2")
                at = res.index.reset_index().set_index("model").loc[
                    rms["base_model"].iloc[sel], "index"].to_numpy()
                preds["bayes"][sel] = res.mean[at, -1]
                lo90[sel], hi90[sel] = res.lower[at, -1], res.upper[at, -1]
                lo, hi = res.interval(0.5)
                lo50[sel], hi50[sel] = lo[at, -1], hi[at, -1]
        diag = model.diagnostics_
        diagnostics.append((held, diag.get("max_rhat"), diag.get("min_ess_bulk"),
                            diag.get("divergences")))
        print(f"  fold {held}: {int(test.sum())} RMs (recipes {sorted(set(recipe))}), "
              f"publishers left out {sorted(out)}, {len(train)} training rows "
              f"({int((train['benchmark'] == 'rewardbench2').sum())} RewardBench 2), "
              f"{len(train_rms)} baseline RMs, {time.perf_counter() - t0:.0f} s; warnings: "
              f"{sorted({type(w.message).__name__ for w in caught})}", flush=True)
    y = rms["score"].to_numpy()
    print_public_table(preds, y, (lo50, hi50), (lo90, hi90), len(groups))
    per_rm = pd.DataFrame({"rm_id": rms["rm_id"].to_numpy(),
                           "fold": rms["base_publisher"].to_numpy(),
                           "base_model": rms["base_model"].to_numpy(), "observed": y,
                           **{f"pred_{k}": v for k, v in preds.items()},
                           "bayes_lower_90": lo90, "bayes_upper_90": hi90})
    err = per_rm.assign(**{k: 100 * np.abs(per_rm[f"pred_{k}"] - y) for k in preds})
    print("MAE per fold (points):")
    print(err.groupby("fold")[list(preds)].mean().round(2).to_string())
    if args.output:
        from rmpredict._io import write_table_atomic

        write_table_atomic(args.output, per_rm)
    print_sampling(diagnostics, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
