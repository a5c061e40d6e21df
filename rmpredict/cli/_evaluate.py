"""``rmpredict evaluate``: leave-one-publisher-out evaluation of every predictor."""

from __future__ import annotations

import argparse
import sys

_DEFAULT_PREDICTORS = "bayes,elastic_net,ridge,ols,best_single,mean"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="leave-one-publisher-out evaluation of the predictors",
        description="Leave-one-publisher-out cross-validation of the Bayesian model and the "
                    "baselines (same folds for all). Writes DIR/metrics.json (MAE, RMSE, CRPS "
                    "in points), DIR/report.md, DIR/predictions.csv and plots.")
    p.add_argument("--data", default=None, metavar="RESULTS",
                   help="results table (CSV, Parquet, JSON Lines) with a publisher column "
                        "(default: the bundled reference data)")
    p.add_argument("--output", default="evaluation", metavar="DIR",
                   help="output folder (default: ./evaluation)")
    p.add_argument("--predictors", default=_DEFAULT_PREDICTORS, metavar="LIST",
                   help=f"comma-separated predictors (default: {_DEFAULT_PREDICTORS})")
    p.add_argument("--ci-prob", type=float, default=0.9, metavar="P",
                   help="mass of the stored predictive intervals (default: 0.9)")
    p.add_argument("--draws", type=_positive_int, default=None, metavar="N",
                   help="posterior draws per chain of the Bayesian model")
    p.add_argument("--tune", type=_positive_int, default=None, metavar="N",
                   help="tuning steps per chain of the Bayesian model")
    p.add_argument("--chains", type=_positive_int, default=None, metavar="N",
                   help="chains of the Bayesian model")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed of every predictor that has one")
    p.add_argument("--sampler", choices=["nutpie", "pymc", "numpyro"], default=None,
                   help="sampler of the Bayesian model (default: the model's, nutpie)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable
    from rmpredict.evaluation import leave_one_publisher_out, write_report
    from rmpredict.evaluation._predictors import make_predictors

    check_writable(args.output, "--output", folder=True)  # before the folds are fitted
    names = [n.strip() for n in args.predictors.split(",") if n.strip()]
    predictors = make_predictors(
        names, seed=args.seed,
        bayes_options={"draws": args.draws, "tune": args.tune, "chains": args.chains,
                       "sampler": args.sampler})
    evaluation = leave_one_publisher_out(predictors, args.data, ci_prob=args.ci_prob)
    paths = write_report(evaluation, args.output)
    metrics = evaluation.metrics()
    print(f"{evaluation.protocol}: {len(evaluation.folds)} folds; MAE in points")
    for rec in metrics.to_dict("records"):
        cov = rec["interval_coverage_90"]
        cov_text = f"{cov:.2f}" if cov == cov else "-"
        print(f"  {rec['predictor']:12s} {rec['method']:14s} MAE {100 * rec['mae']:5.2f}  "
              f"Spearman {rec['spearman']:5.2f}  coverage@5-10 {rec['coverage_at_k']:.2f}  "
              f"cover90 {cov_text}  n {rec['n']}")
    print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0
