"""``rmpredict rank`` and ``rmpredict suggest``: decisions from the (released) predictor.

Every output of one command is rendered first (table bytes, plot bytes) and then written
together, each atomically: a failure anywhere leaves none of the requested files behind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path
from typing import Any

# Literal copies of rmpredict.datasets.RESULT_BENCHMARKS (a test keeps them equal): importing
# rmpredict.datasets here would load pandas for every command, `--help` included.
TARGET_CHOICES = ("score", "chat", "chat_hard", "safety", "reasoning", "factuality",
                  "precise_if", "math", "focus", "ties")
"""Targets of either benchmark; one not of ``--benchmark`` is refused when ranking."""
BENCHMARK_CHOICES = ("rewardbench", "rewardbench2")


def add_benchmark_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--benchmark", default=BENCHMARK_CHOICES[0], choices=BENCHMARK_CHOICES,
                   help="benchmark to predict: rewardbench (v1, default) or rewardbench2 "
                        "(needs a model fitted on RewardBench 2 rows)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rank", help="rank candidate base models: P(best), P(top k), regret, vs a default",
        description="Rank candidate base models per RM method from joint posterior draws: "
                    "predicted RewardBench score and interval, P(best) and P(in top k) with "
                    "their Monte Carlo error, expected rank, expected regret and P(better than "
                    "a default), with trust flags (held-out skill of the method, known "
                    "results, extrapolation, new recipes). Methods with demonstrated held-out "
                    "skill are listed first. Uses the newest released model unless --model is "
                    "given; no sampling at run time.")
    _common(p)
    p.add_argument("--default", default=None, metavar="MODEL_ID",
                   help="your habitual base model (e.g. meta-llama/Llama-3.1-8B-Instruct); "
                        "adds P(better than default)")
    p.add_argument("--k", type=int, default=3, help="report P(in top k) (default: 3)")
    p.add_argument("--size-groups", action="store_true",
                   help="rank within size groups <3B, 3-6B, >=6B parameters")
    p.add_argument("--target", default="score", choices=TARGET_CHOICES,
                   help="target to rank on (default: score)")
    p.add_argument("--ci-prob", type=float, default=0.9,
                   help="probability mass of the interval (default: 0.9)")
    p.add_argument("--top", type=int, default=20, metavar="N",
                   help="print the top N candidates per block (default: 20; 0 = all); "
                        "--output always holds every row")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="also write a forest plot and P(best) bars to FILE (png, pdf, svg)")
    p.set_defaults(func=_rank)

    s = sub.add_parser(
        "suggest", help="which K candidates to train next to learn most about the best one",
        description="Suggest which candidates to train RMs for next: the set with the largest "
                    "knowledge gradient (expected gain in the best choice's true score from "
                    "observing them), per RM method. Large candidate sets are pre-screened by "
                    "expected improvement and the exact knowledge gradient is computed on a "
                    "shortlist. Candidates whose result is known are not suggested.")
    _common(s)
    s.add_argument("--budget", type=int, required=True, metavar="K",
                   help="number of RMs you can train")
    s.add_argument("--target", default="score", choices=TARGET_CHOICES,
                   help="target whose best candidate matters (default: score)")
    s.add_argument("--noise-sd", type=float, default=0.0, metavar="POINTS",
                   help="evaluation noise sd of a trained RM's score, in RewardBench points "
                        "(default: 0)")
    s.add_argument("--seed", type=int, default=0, help="seed of the simulated noise")
    s.add_argument("--top", type=int, default=10, metavar="N",
                   help="print the top N candidates per method (default: 10; 0 = all)")
    s.add_argument("--shortlist", type=int, default=200, metavar="N",
                   help="with more candidates, pre-screen by expected improvement to N and "
                        "compute the exact knowledge gradient on them (default: 200)")
    s.add_argument("--include-known", action="store_true",
                   help="also suggest candidates whose result is in the model's fitting data")
    s.set_defaults(func=_suggest)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--candidates", required=True, metavar="FILE",
                   help="candidate base models (CSV, Parquet or JSON Lines with a model column)")
    p.add_argument("--model", default=None, metavar="MODEL.nc",
                   help="a fitted model file (default: the newest bundled release)")
    p.add_argument("--method", "--recipe", dest="method", default="all", metavar="NAME",
                   help="RM method or recipe the model knows (e.g. regression, bradley_terry, "
                        "or one you fitted), 'new' (a recipe not fitted) or 'all' (default: "
                        "all)")
    p.add_argument("--output", default=None, metavar="OUT.csv",
                   help="also write the table (fractions in [0, 1]) to OUT (.csv, .parquet, "
                        ".jsonl), with provenance columns on every row")
    add_benchmark_arg(p)


def _load_predictor(model_path: str | None) -> Any:
    """The predictor in ``model_path``, or the newest bundled release when it is ``None``."""
    from rmpredict.cli._fit import load_predictor

    return load_predictor(model_path)


# -- checks made before any work ------------------------------------------------------------
def check_writable(path: str, argument: str) -> None:
    """Raise a one-line error unless ``path`` can be created (its folder is writable)."""
    from rmpredict import _io

    shared = getattr(_io, "check_writable", None)
    if shared is not None:
        shared(path, argument)
        return
    from rmpredict.exceptions import InvalidParameterError

    target = Path(path)
    if target.is_dir():
        raise InvalidParameterError(f"{argument} {path!r} is a directory; give a file name.")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidParameterError(
            f"{argument} {path!r}: cannot write there ({str(folder)!r} is not a writable "
            "folder); choose another path.")


def _check_table_suffix(path: str, argument: str) -> None:
    from rmpredict._io import TABLE_SUFFIXES
    from rmpredict.exceptions import InvalidParameterError

    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidParameterError(
            f"{argument} {path!r}: unknown table format {suffix!r}; use one of "
            f"{', '.join(TABLE_SUFFIXES)}.")


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path is valid and writable, and ``--target`` is one of ``--benchmark``'s,
    before the prediction."""
    target, benchmark = getattr(args, "target", None), getattr(args, "benchmark", None)
    if target and benchmark:
        from rmpredict.datasets._schema import benchmark_targets
        from rmpredict.exceptions import InvalidParameterError

        if target not in benchmark_targets(benchmark):
            raise InvalidParameterError(
                f"--target {target!r} is not a target of --benchmark {benchmark}; use one of "
                f"{', '.join(benchmark_targets(benchmark))}.")
    if args.output:
        _check_table_suffix(args.output, "--output")
        check_writable(args.output, "--output")
    if getattr(args, "plot", None):
        plot_format(args.plot)
        check_writable(args.plot, "--plot")
    if args.output and getattr(args, "plot", None) and \
            Path(args.output).resolve() == Path(args.plot).resolve():
        from rmpredict.exceptions import InvalidParameterError

        raise InvalidParameterError("--output and --plot name the same file; give two paths.")


def _check_top(top: int) -> int | None:
    from rmpredict.exceptions import InvalidParameterError

    if top < 0:
        raise InvalidParameterError(f"--top must be >= 0 (0 = all), got {top}")
    return None if top == 0 else top


# -- prediction with trust flags ------------------------------------------------------------
def _predict(args: argparse.Namespace, ci_prob: float) -> tuple[Any, Any]:
    """Validated candidates frame and the prediction for it, with trust flags attached."""
    from rmpredict.cli._fit import report_filled
    from rmpredict.decisions import attach_trust, resolve_method
    from rmpredict.decisions._trust import new_method_name
    from rmpredict.models._base import as_candidates_frame

    predictor = _load_predictor(args.model)
    known = getattr(predictor, "methods_", None)
    method = args.method
    if known:
        from rmpredict.models import HierarchicalRMPredictor

        new = new_method_name() if isinstance(predictor, HierarchicalRMPredictor) else None
        method = resolve_method(args.method, known, extra=(new,) if new else ())
    frame = as_candidates_frame(args.candidates)
    result = predictor.predict(frame, method=method, ci_prob=ci_prob,
                               benchmark=getattr(args, "benchmark", "rewardbench"))
    result.filled = frame.attrs.get("rmpredict_filled")
    report_filled(result)
    model_path = args.model if args.model and Path(args.model).is_file() else None
    attach_trust(result, predictor, frame, model_path=model_path)
    return frame, result


def provenance_columns(provenance: dict[str, Any]) -> dict[str, Any]:
    """Constant trailing columns that keep the provenance with every output row."""
    from rmpredict._version import __version__

    return {"rmpredict_version": __version__, "model_id": provenance.get("model_id"),
            "data_hash": provenance.get("data_hash"),
            "random_seed": provenance.get("random_seed"),
            "release": provenance.get("release"),
            "benchmark": provenance.get("benchmark", "rewardbench"),
            "model_sha256": provenance.get("model_sha256")}


# -- rendering and writing ------------------------------------------------------------------
def render_table(frame: Any, path: str, provenance: dict[str, Any]) -> bytes:
    """The bytes of ``frame`` (plus provenance columns) in the format of ``path``'s suffix."""
    cols = {k: ("" if v is None else v) for k, v in provenance_columns(provenance).items()}
    frame = frame.assign(**cols)
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return frame.to_csv(index=False).encode("utf-8")
    if suffix in (".parquet", ".pq"):
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    return frame.to_json(orient="records", lines=True).encode("utf-8")


def write_together(outputs: list[tuple[str, bytes]]) -> None:
    """Write every ``(path, data)`` through its own temporary file; rename only when all are
    written, so an error leaves none of them (nor a temporary file) behind."""
    from rmpredict._io import atomic_path

    with contextlib.ExitStack() as stack:
        staged = [(stack.enter_context(atomic_path(path)), data) for path, data in outputs]
        for tmp, data in staged:
            tmp.write_bytes(data)


def _emit(text: str) -> None:
    """Print ``text``; a closed pipe (``| head``) ends quietly instead of with a traceback."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _rank(args: argparse.Namespace) -> int:
    from rmpredict.decisions import format_ranking, rank_candidates
    from rmpredict.exceptions import InvalidParameterError

    if args.k < 1:
        raise InvalidParameterError(f"--k must be >= 1, got {args.k}")
    top = _check_top(args.top)
    _check_outputs(args)  # fail before the prediction, not after
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
    text = format_ranking(ranking, max_rows=top)
    write_ranking_outputs(ranking, args)
    _emit(text)
    return 0


def write_ranking_outputs(ranking: Any, args: argparse.Namespace) -> None:
    """Render ``--output`` (table with provenance columns) and ``--plot``, then write both."""
    outputs = []
    if args.output:
        outputs.append((args.output, render_table(ranking.to_frame(), args.output,
                                                  ranking.provenance)))
    if args.plot:
        outputs.append((args.plot, render_ranking_plot(ranking, plot_format(args.plot))))
    if outputs:
        write_together(outputs)
    if args.output:
        print(f"wrote {len(ranking.table)} rows to {args.output}", file=sys.stderr)
    if args.plot:
        print(f"wrote plot to {args.plot}", file=sys.stderr)


def plot_format(path: str) -> str:
    """Image format from the suffix of ``path``; raise a one-line error if unsupported."""
    from matplotlib.figure import Figure

    from rmpredict.exceptions import InvalidParameterError

    suffix = Path(path).suffix.lstrip(".").lower()
    supported = Figure().canvas.get_supported_filetypes()
    if suffix not in supported:
        raise InvalidParameterError(
            f"--plot {path!r}: unknown image format {suffix!r}; use a suffix among "
            f"{', '.join(sorted(supported))} (e.g. ranking.png).")
    return suffix


def render_ranking_plot(ranking: Any, fmt: str) -> bytes:
    """Forest plot (left) and P(best) bars (right) per method, with a provenance footer and
    metadata, rendered to bytes of image format ``fmt``."""
    from matplotlib.figure import Figure

    from rmpredict.plots._ranking_plots import (
        add_provenance_footer,
        plot_forest,
        plot_metadata,
        plot_p_best,
    )

    methods = ranking.methods
    n_rows = int(min(ranking.table.groupby("method").size().max(), 41))
    fig = Figure(figsize=(13, len(methods) * max(2.5, 0.28 * n_rows + 1.2) + 0.3),
                 layout="constrained")
    axes = fig.subplots(len(methods), 2, squeeze=False)
    for row, meth in zip(axes, methods):
        plot_forest(ranking, method=meth, ax=row[0])
        plot_p_best(ranking, method=meth, ax=row[1])
    add_provenance_footer(fig, ranking.provenance)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150, metadata=plot_metadata(ranking.provenance, fmt))
    return buf.getvalue()


def save_ranking_plot(ranking: Any, path: str) -> None:
    """Render the ranking plot and save it atomically to ``path``."""
    write_together([(path, render_ranking_plot(ranking, plot_format(path)))])


def _suggest(args: argparse.Namespace) -> int:
    from rmpredict.decisions import format_suggestion, suggest_next
    from rmpredict.exceptions import InvalidParameterError

    if args.budget < 1:
        raise InvalidParameterError(f"--budget must be >= 1, got {args.budget}")
    if args.shortlist < 1:
        raise InvalidParameterError(f"--shortlist must be >= 1, got {args.shortlist}")
    top = _check_top(args.top)
    _check_outputs(args)
    _, result = _predict(args, 0.9)
    suggestion = suggest_next(result, budget=args.budget, target=args.target,
                              method=None if args.method == "all" else args.method,
                              noise_sd=args.noise_sd / 100.0, random_seed=args.seed,
                              shortlist=args.shortlist, exclude_known=not args.include_known)
    text = format_suggestion(suggestion, max_rows=top)
    if args.output:
        write_together([(args.output, render_table(suggestion.to_frame(), args.output,
                                                   suggestion.provenance))])
        print(f"wrote {len(suggestion.table)} rows to {args.output}", file=sys.stderr)
    _emit(text)
    return 0
