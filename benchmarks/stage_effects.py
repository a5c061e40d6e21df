"""Post-training stage effects per benchmark, from one model of the seed study and public RMs.

Fits the ``full`` structure (every feature, stage dummies included; no stacking) on the seed
study plus ``public_training_rows(benchmark="all")`` and prints, per benchmark and recipe, the
posterior of each stage's effect relative to ``instruct``: the stage slope averaged over the
benchmark's categories, on the logit scale and in RewardBench points at the recipe's mean
accuracy (the derivative of the logistic there). The RewardBench 2 paper's stage series of one
base (Llama-3.1-8B: base, SFT, DPO, RL, instruct) identifies the stage effect apart from
capability for its recipe; the seed study (Table/Figure of post-training stages; SFT helps,
DPO/RL slightly hurt) is the other source. The observed RewardBench 2 scores of that series
are printed beside it.

    python benchmarks/stage_effects.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd


def main() -> None:
    from bench_public_orgs import fit_parser  # this folder is on sys.path when run

    args = fit_parser(__doc__).parse_args()

    from rmpredict.datasets import public_training_rows
    from rmpredict.datasets._schema import RESULT_BENCHMARKS
    from rmpredict.models import HierarchicalRMPredictor, as_results_frame
    from rmpredict.models._hier_data import STAGE_DUMMIES

    seed_rows = as_results_frame(None).assign(benchmark="rewardbench")
    public = public_training_rows(benchmark="all")
    table = as_results_frame(pd.concat([seed_rows, public], ignore_index=True))
    t0 = time.perf_counter()
    model = HierarchicalRMPredictor(structures=("full",), stacking="none", draws=args.draws,
                                    tune=args.tune, random_seed=args.seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(table)
    diag = model.diagnostics_
    print(f"fit: {len(table)} rows, {time.perf_counter() - t0:.0f} s; max r-hat "
          f"{diag.get('max_rhat'):.3f}, min bulk ESS {diag.get('min_ess_bulk'):.0f}, "
          f"divergences {diag.get('divergences')}; warnings "
          f"{sorted({type(w.message).__name__ for w in caught})}")
    member = model.members_["full"]
    enc = member.encoding
    post = member.posterior
    beta = post["beta"].to_numpy()  # (chain, draw, method, cell, feature)
    beta = beta.reshape(-1, *beta.shape[2:])
    names = enc.feature_names
    support = enc.stage_support
    print(f"training models per stage: {support}")
    print("| benchmark | recipe | stage | effect (logit) | 90% interval | effect (points) |")
    print("|---|---|---|---|---|---|")
    for bench in enc.benchmarks:
        cells = enc.cell_index(bench)
        for r, recipe in enumerate(enc.methods):
            rows = table[(table["method"] == recipe) & (table["benchmark"] == bench)]
            if rows.empty:
                continue
            acc = rows[list(RESULT_BENCHMARKS[bench])].to_numpy(dtype=float).mean()
            slope = acc * (1 - acc)  # d accuracy / d logit at the recipe's mean accuracy
            for stage in STAGE_DUMMIES:
                j = names.index(f"stage_{stage}")
                eff = beta[:, r, cells, j].mean(axis=1)
                lo, hi = np.quantile(eff, [0.05, 0.95])
                print(f"| {bench} | {recipe} | {stage} (n={support.get(stage, 0)}) | "
                      f"{eff.mean():+.2f} | [{lo:+.2f}, {hi:+.2f}] | "
                      f"{100 * slope * eff.mean():+.1f} |")
    series = public[(public["method"] == "rewardbench2_paper")
                    & (public["benchmark"] == "rewardbench2")]
    print("RewardBench 2 paper series (observed RewardBench 2 score):")
    print(series[["model", "post_training", "score"]].to_string(index=False))


if __name__ == "__main__":
    main()
