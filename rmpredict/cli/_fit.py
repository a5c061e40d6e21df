"""``rmpredict fit`` and ``rmpredict predict``: the hierarchical predictor from the shell."""

from __future__ import annotations

import argparse
import sys


def add_sampler_args(p: argparse.ArgumentParser) -> None:
    """Sampler options shared by fit, evaluate and release build."""
    p.add_argument("--sampler", choices=["nutpie", "pymc", "numpyro"], default="nutpie",
                   help="MCMC backend (default: nutpie, compiled once and reused)")
    p.add_argument("--draws", type=int, default=2000, metavar="N",
                   help="posterior draws per chain (default: 2000)")
    p.add_argument("--tune", type=int, default=2000, metavar="N",
                   help="tuning steps per chain (default: 2000)")
    p.add_argument("--chains", type=int, default=4, metavar="N", help="chains (default: 4)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default: 0)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit", help="fit the Bayesian hierarchical predictor and save it as netCDF",
        description="Fit the hierarchical predictor on a results table (default: the bundled "
                    "reference data) and save the posterior to MODEL.nc.")
    p.add_argument("--data", default=None, metavar="RESULTS",
                   help="results table (CSV, Parquet, JSON Lines); default: bundled data")
    add_sampler_args(p)
    p.add_argument("--output", required=True, metavar="MODEL.nc", help="where to save the model")
    p.set_defaults(func=_fit)

    q = sub.add_parser(
        "predict", help="predict RewardBench accuracy of RMs from candidate base models",
        description="Predict chat, chat_hard, safety, reasoning and score (fractions in [0, 1]) "
                    "with predictive intervals for each candidate and RM method.")
    q.add_argument("--candidates", required=True, metavar="FILE",
                   help="candidates table; a 'model' column of ids the bundled tables know is "
                        "enough (features are filled from them)")
    q.add_argument("--model", default=None, metavar="MODEL.nc",
                   help="fitted model (default: the newest released model)")
    q.add_argument("--method", "--recipe", dest="method", default="all", metavar="METHOD",
                   help="RM method or recipe (regression, bradley_terry, one you fitted, "
                        "'new' for a recipe not fitted) or 'all' (default)")
    q.add_argument("--ci-prob", type=float, default=0.9, metavar="P",
                   help="central interval probability (default: 0.9)")
    q.add_argument("--output", default=None, metavar="OUT.csv",
                   help="write the table here (CSV/Parquet/JSONL) instead of stdout")
    from rmpredict.cli._rank import add_benchmark_arg

    add_benchmark_arg(q)
    q.set_defaults(func=_predict)


def _fit(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable
    from rmpredict.models import HierarchicalRMPredictor

    check_writable(args.output, "--output")  # before minutes of sampling, not after

    model = HierarchicalRMPredictor(sampler=args.sampler, draws=args.draws, tune=args.tune,
                                    chains=args.chains, random_seed=args.seed)
    model.fit(args.data)
    digest = model.save(args.output)
    print(model.summary().as_text())
    print(f"\nsaved {args.output} (sha256 {digest})")
    return 0


def load_predictor(path: str | None):
    """The model at ``path``, or the newest released model when ``path`` is None."""
    if path is None:
        from rmpredict.release import load_release

        return load_release()
    from rmpredict.models import HierarchicalRMPredictor

    return HierarchicalRMPredictor.load(path)


def report_filled(result) -> None:
    """One stderr line saying which features came from the bundled tables."""
    filled = getattr(result, "filled", None)
    if filled is not None and len(filled):
        cols = ", ".join(sorted(filled["column"].unique()))
        print(f"note: filled {len(filled)} missing value(s) of {filled['model'].nunique()} "
              f"model(s) from the bundled tables ({cols}); `rmpredict validate FILE` lists them",
              file=sys.stderr)


def _predict(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable, write_table_atomic
    from rmpredict.cli._rank import _predict as predict_with_trust
    from rmpredict.cli._rank import provenance_columns
    from rmpredict.decisions._trust import warn_no_skill

    if args.output:
        check_writable(args.output, "--output")
    _, result = predict_with_trust(args, args.ci_prob)
    # Each method's held-out skill travels with the table; a method without it is named once.
    warn_no_skill(result.trust, list(dict.fromkeys(result.index["method"])), what="prediction")
    frame = result.to_frame()
    prov = {k: ("" if v is None else v)
            for k, v in provenance_columns(result.provenance).items()}
    if args.output:
        write_table_atomic(args.output, frame, provenance=prov)
        print(f"wrote {len(frame)} rows to {args.output}", file=sys.stderr)
    else:
        frame.assign(**prov).to_csv(sys.stdout, index=False, float_format="%.4f")
    return 0
