"""Leave-one-publisher-out evaluation of every baseline (and the Bayesian model, if present).

Prints a table comparable to ``shared/reference/anchors-measured.md`` section 1 (overall score:
MAE in points, Spearman, coverage@5-10 per RM method) plus interval metrics and wall times.

Usage::

    python benchmarks/bench_lopo.py                 # baselines only
    python benchmarks/bench_lopo.py --with-bayes    # also HierarchicalRMPredictor, if importable
    python benchmarks/bench_lopo.py --output DIR    # also write metrics.json, report.md, plots
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

BASELINES = ("elastic_net", "ridge", "ols", "best_single", "mean")


def print_metrics_table(metrics) -> None:
    """The Markdown table of ``EvaluationResult.metrics()`` printed by the LOPO benchmarks."""
    def fmt(v: float, scale: float = 1.0) -> str:
        return "–" if v != v else f"{scale * v:.2f}"

    print("| method | predictor | MAE (points) | Spearman | coverage@5-10 | cover 50% | "
          "cover 90% | CRPS (points) | n |")
    print("|---|---|---|---|---|---|---|---|---|")
    for method in ("regression", "bradley_terry"):
        for rec in metrics[metrics["method"] == method].to_dict("records"):
            print(f"| {method} | {rec['predictor']} | {fmt(rec['mae'], 100)} | "
                  f"{fmt(rec['spearman'])} | {fmt(rec['coverage_at_k'])} | "
                  f"{fmt(rec['interval_coverage_50'])} | {fmt(rec['interval_coverage_90'])} | "
                  f"{fmt(rec['crps'], 100)} | {rec['n']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-bayes", action="store_true",
                        help="include the Bayesian model (skipped if not importable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="also write the report to this folder")
    args = parser.parse_args()

    from rmpredict.evaluation import leave_one_publisher_out
    from rmpredict.evaluation._predictors import make_predictors

    names = list(BASELINES)
    if args.with_bayes:
        try:
            from rmpredict.models import HierarchicalRMPredictor  # noqa: F401

            names.insert(0, "bayes")
        except ImportError:
            print("bayes: rmpredict.models.HierarchicalRMPredictor not importable; skipped")
    predictors = make_predictors(names, seed=args.seed)
    t0 = time.perf_counter()
    evaluation = leave_one_publisher_out(predictors, None, progress=False)
    wall = time.perf_counter() - t0
    metrics = evaluation.metrics()

    print(f"leave-one-publisher-out on the bundled data ({len(evaluation.folds)} folds), "
          f"{platform.processor() or platform.machine()}, seed {args.seed}")
    print_metrics_table(metrics)
    finish(evaluation, wall, args.output)


def finish(evaluation, wall: float, output: str | None) -> None:
    """Print wall times and peak memory; write the report to ``output`` if given."""
    from rmpredict.evaluation import write_report

    print("\nwall time (fit + predict over all folds):")
    for name, secs in evaluation.timings.items():
        print(f"  {name:12s} {secs:7.1f} s")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  total        {wall:7.1f} s; peak RSS {peak_mb:.0f} MB")
    if output:
        write_report(evaluation, output)
        print(f"wrote {output}/metrics.json, report.md and plots")


if __name__ == "__main__":
    main()
