"""Does training on public RM results improve seed-study predictions?

The seed study's leave-one-publisher-out (the folds of ``bench_lopo.py``), with the public RMs
(``rmpredict.datasets.public_training_rows``: the recipe group ``public_leaderboard`` and the
RewardBench 2 paper's recipe; RewardBench v1 rows, or with ``--benchmark all`` the RewardBench
2 rows too) added to the training rows of every fold. A fold leaves out the public
rows of its held-out publisher and models, and only seed-study rows are evaluated, so the
numbers compare directly with ``bench_lopo.py --with-bayes`` (same predictors, seeds and
settings; the baselines are fitted per method and so are unchanged by the extra rows).

    python benchmarks/bench_public_model.py [--output DIR] [--include-low] [--benchmark all]
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--include-low", action="store_true",
                        help="also use low-confidence base mappings")
    parser.add_argument("--benchmark", default="rewardbench", choices=["rewardbench", "all"],
                        help="public rows of RewardBench v1 only (default) or of both")
    parser.add_argument("--predictors", nargs="+", default=["bayes", "best_single", "mean"])
    parser.add_argument("--one-structure", action="store_true",
                        help="bayes = the capability structure alone, no stacking, 4 x (1000 + "
                             "1000) (minutes instead of an hour; not the default model)")
    parser.add_argument("--output", default=None, help="also write the report to this folder")
    args = parser.parse_args()

    from bench_lopo import finish, print_metrics_table  # this folder is on sys.path when run

    from rmpredict.datasets import public_training_rows
    from rmpredict.evaluation import leave_one_publisher_out
    from rmpredict.evaluation._predictors import make_predictors

    extra = public_training_rows(include_low_confidence=args.include_low,
                                 benchmark=args.benchmark)
    info = extra.attrs["public_rows"]
    print(f"public training rows: {info['rows']} checkpoints from {info['rms_used']} RMs; "
          f"dropped {json.dumps(info['dropped'])}; publishers "
          f"{extra['publisher'].value_counts().to_dict()}; stages "
          f"{extra['post_training'].value_counts().to_dict()}")
    predictors = make_predictors(args.predictors, seed=args.seed)
    if args.one_structure and "bayes" in predictors:
        from rmpredict.models import HierarchicalRMPredictor

        predictors["bayes"] = HierarchicalRMPredictor(
            structures=("capability",), stacking="none", draws=1000, tune=1000,
            random_seed=args.seed)
        print("bayes: the capability structure alone, no stacking, 4 x (1000 + 1000)")
    t0 = time.perf_counter()
    evaluation = leave_one_publisher_out(predictors, None, extra_train=extra, progress=False)
    wall = time.perf_counter() - t0
    metrics = evaluation.metrics()
    print_metrics_table(metrics)
    print("extra training rows per fold:",
          dict(zip(evaluation.folds["publisher"], evaluation.folds["n_extra_train_rows"])))
    finish(evaluation, wall, args.output)


if __name__ == "__main__":
    main()
