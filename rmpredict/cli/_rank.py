"""``rmpredict rank`` and ``rmpredict suggest``: decisions from the (released) predictor."""

from __future__ import annotations

import argparse
import sys
from typing import Any

METHOD_CHOICES = ("regression", "bradley_terry", "all")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank", help="rank candidate base models: P(best), P(top k), regret, vs a default",
        description="Rank candidate base models per RM method from joint posterior draws: "
                    "predicted RewardBench score and interval, P(best), P(in top k), expected "
                    "rank, expected regret and P(better than a default). Uses the newest "
                    "released model unless --model is given; no sampling at run time.")
    _common(p)
    p.add_argument("--default", default=None, metavar="MODEL_ID",
                   help="your habitual base model (e.g. meta-llama/Llama-3.1-8B-Instruct); "
                        "adds P(better than default)")
    p.add_argument("--k", type=int, default=3, help="report P(in top k) (default: 3)")
    p.add_argument("--size-groups", action="store_true",
                   help="rank within size groups <3B, 3-6B, >=6B parameters")
    p.add_argument("--target", default="score",
                   choices=["score", "chat", "chat_hard", "safety", "reasoning"],
                   help="target to rank on (default: score)")
    p.add_argument("--ci-prob", type=float, default=0.9,
                   help="probability mass of the interval (default: 0.9)")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also write a forest plot and P(best) bars to FILE (png, pdf, svg)")
    p.set_defaults(func=_rank)

    s = sub.add_parser(
        "suggest", help="which K candidates to train next to learn most about the best one",
        description="Suggest which candidates to train RMs for next: the set with the largest "
                    "knowledge gradient (expected gain in the best choice's true score from "
                    "observing them), per RM method.")
    _common(s)
    s.add_argument("--budget", type=int, required=True, metavar="K",
                   help="number of RMs you can train")
    s.add_argument("--target", default="score",
                   choices=["score", "chat", "chat_hard", "safety", "reasoning"],
                   help="target whose best candidate matters (default: score)")
    s.add_argument("--noise-sd", type=float, default=0.0, metavar="POINTS",
                   help="evaluation noise sd of a trained RM's score, in RewardBench points "
                        "(default: 0)")
    s.add_argument("--seed", type=int, default=0, help="seed of the simulated noise")
    s.set_defaults(func=_suggest)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--candidates", required=True, metavar="FILE",
                   help="candidate base models (CSV, Parquet or JSON Lines with a model column)")
    p.add_argument("--model", default=None, metavar="MODEL.nc",
                   help="a fitted model file (default: the newest bundled release)")
    p.add_argument("--method", default="all", choices=METHOD_CHOICES,
                   help="RM method (default: all)")
    p.add_argument("--output", default=None, metavar="OUT.csv",
                   help="also write the table (fractions in [0, 1]) to OUT (.csv, .parquet, "
                        ".jsonl)")


def _load_predictor(model_path: str | None) -> Any:
    """The predictor in ``model_path``, or the newest bundled release when it is ``None``."""
    from rmpredict.cli._fit import load_predictor

    return load_predictor(model_path)


def _predict(args: argparse.Namespace, ci_prob: float) -> tuple[Any, Any]:
    """Validated candidates frame and the prediction for it."""
    from rmpredict.models._base import as_candidates_frame

    frame = as_candidates_frame(args.candidates)
    predictor = _load_predictor(args.model)
    result = predictor.predict(frame, method=args.method, ci_prob=ci_prob)
    from rmpredict.cli._fit import report_filled

    result.filled = frame.attrs.get("rmpredict_filled")
    report_filled(result)
    return frame, result


def provenance_columns(provenance: dict[str, Any]) -> dict[str, Any]:
    """Constant trailing columns that keep the provenance with every CSV row."""
    from rmpredict._version import __version__

    return {"rmpredict_version": __version__, "model_id": provenance.get("model_id"),
            "data_hash": provenance.get("data_hash"),
            "random_seed": provenance.get("random_seed")}


def _rank(args: argparse.Namespace) -> int:
    from rmpredict.decisions import rank_candidates
    from rmpredict.exceptions import InvalidParameterError

    if args.k < 1:
        raise InvalidParameterError(f"--k must be >= 1, got {args.k}")
    if args.plot:
        plot_format(args.plot)  # fail before the prediction, not after
    frame, result = _predict(args, args.ci_prob)
    sizes = None
    if args.size_groups:
        if "params_b" not in frame.columns or frame["params_b"].isna().any():
            bad = frame.loc[frame["params_b"].isna(), "model"].tolist() \
                if "params_b" in frame.columns else frame["model"].tolist()
            raise InvalidParameterError(
                f"--size-groups needs params_b for every candidate; missing for {bad[:5]}. "
                "Add a params_b column (billions of parameters) to the candidates table.")
        sizes = dict(zip(frame["model"], frame["params_b"].astype(float)))
    ranking = rank_candidates(result, target=args.target, k=args.k, default=args.default,
                              size_groups=args.size_groups, sizes=sizes)
    print(ranking)
    write_ranking_outputs(ranking, args)
    return 0


def write_ranking_outputs(ranking: Any, args: argparse.Namespace) -> None:
    """Write ``--output`` (table with provenance columns) and ``--plot`` atomically."""
    if args.output:
        from rmpredict._io import write_table_atomic

        write_table_atomic(args.output, ranking.to_frame(),
                           provenance=provenance_columns(ranking.provenance))
        print(f"wrote {len(ranking.table)} rows to {args.output}", file=sys.stderr)
    if args.plot:
        save_ranking_plot(ranking, args.plot)
        print(f"wrote plot to {args.plot}", file=sys.stderr)


def plot_format(path: str) -> str:
    """Image format from the suffix of ``path``; raise a one-line error if unsupported."""
    from pathlib import Path

    from matplotlib.figure import Figure

    from rmpredict.exceptions import InvalidParameterError

    suffix = Path(path).suffix.lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if suffix not in supported:
        raise InvalidParameterError(
            f"--plot {path!r}: unknown image format {suffix!r}; use a suffix among "
            f"{', '.join(sorted(supported))} (e.g. ranking.png).")
    return suffix


def save_ranking_plot(ranking: Any, path: str) -> None:
    """Forest plot (left) and P(best) bars (right) per method, saved atomically to ``path``."""
    from matplotlib.figure import Figure

    from rmpredict._io import atomic_path
    from rmpredict.plots import plot_forest, plot_p_best

    methods = ranking.methods
    n_rows = int(ranking.table.groupby("method").size().max())
    fig = Figure(figsize=(13, len(methods) * max(2.5, 0.28 * min(n_rows, 40) + 1.2)),
                 layout="constrained")
    axes = fig.subplots(len(methods), 2, squeeze=False)
    for row, meth in zip(axes, methods):
        plot_forest(ranking, method=meth, ax=row[0])
        plot_p_best(ranking, method=meth, ax=row[1])
    suffix = plot_format(path)
    with atomic_path(path) as tmp:
        # The temp file has a .tmp suffix, so the format is given explicitly.
        fig.savefig(tmp, format=suffix, dpi=150)


def _suggest(args: argparse.Namespace) -> int:
    from rmpredict.decisions import suggest_next
    from rmpredict.exceptions import InvalidParameterError

    if args.budget < 1:
        raise InvalidParameterError(f"--budget must be >= 1, got {args.budget}")
    _, result = _predict(args, 0.9)
    suggestion = suggest_next(result, budget=args.budget, target=args.target,
                              method=None if args.method == "all" else args.method,
                              noise_sd=args.noise_sd / 100.0, random_seed=args.seed)
    print(suggestion)
    if args.output:
        from rmpredict._io import write_table_atomic

        write_table_atomic(args.output, suggestion.to_frame(),
                           provenance=provenance_columns(suggestion.provenance))
        print(f"wrote {len(suggestion.table)} rows to {args.output}", file=sys.stderr)
    return 0
