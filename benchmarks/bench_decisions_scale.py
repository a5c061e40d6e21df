"""Decisions at scale: predict, rank and suggest over 100,000 candidates (issue 15, item 4).

Builds a synthetic candidates table of ``--n`` rows whose benchmark columns resemble the
filled example candidates (data/examples/candidates.csv, features from the bundled tables,
jittered; sizes and tokens scaled log-normally; publishers drawn from the example's), then:

1. in one process: load the model, ``predict`` (all methods), ``rank_candidates`` and
   ``suggest_next(budget=1)``, timing each step and recording the peak RSS after it (the
   high-water mark grows by what each step adds on top of the prediction);
2. ``rmpredict rank --candidates FILE --output OUT.csv`` and ``rmpredict suggest --budget 1``
   end to end, each in a fresh interpreter (wall time and peak RSS of that process).

Targets (issue 15): rank <= 15 s printing the top 20, suggest <= 60 s, memory
O(candidates x draws) (never candidates squared). ``predict`` is measured as it is.

    python benchmarks/bench_decisions_scale.py [--n 100000] [--model MODEL.nc] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "examples" / "candidates.csv"
BENCHMARKS = ("ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro", "arc", "hellaswag",
              "mmlu", "truthfulqa", "winogrande", "gsm8k")


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (GB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def synthetic_candidates(n: int, seed: int = 0):
    """``n`` candidates resembling the filled example candidates, with unique model ids."""
    import numpy as np
    import pandas as pd

    from rmpredict.datasets import read_candidates

    base = read_candidates(str(EXAMPLE)).frame
    rng = np.random.default_rng(seed)
    pick = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    out = pd.DataFrame({"model": [f"synthetic/cand-{i:06d}" for i in range(n)],
                        "publisher": pick["publisher"].to_numpy(),
                        "post_training": "instruct"})
    out["params_b"] = np.round(pick["params_b"].to_numpy(dtype=float)
                               * np.exp(rng.normal(0, 0.25, n)), 3)
    tokens = pick["pretrain_tokens_t"].to_numpy(dtype=float)
    tokens = np.where(np.isfinite(tokens), tokens, 10.0)
    out["pretrain_tokens_t"] = np.round(tokens * np.exp(rng.normal(0, 0.2, n)), 2)
    # A shared capability shift per candidate plus per-benchmark noise keeps the benchmarks
    # correlated, as real leaderboard scores are.
    shift = rng.normal(0, 0.03, n)
    for col in BENCHMARKS:
        if col in pick:
            values = pick[col].to_numpy(dtype=float)
            values = np.where(np.isfinite(values), values, np.nanmean(values))
            out[col] = np.round(np.clip(values + shift + rng.normal(0, 0.015, n), 0.0, 1.0), 4)
    return out


def _load(model_path: str | None):
    if model_path:
        from rmpredict.models import HierarchicalRMPredictor

        return HierarchicalRMPredictor.load(model_path)
    from rmpredict.release import load_release

    return load_release()


def phase_api(args: argparse.Namespace) -> dict:
    """predict -> rank -> suggest in this process: seconds and peak RSS after each."""
    import warnings

    from rmpredict.decisions import attach_trust, format_ranking, rank_candidates, suggest_next
    from rmpredict.models._base import as_candidates_frame

    out: dict = {"n_candidates": args.n}
    t0 = time.perf_counter()
    model = _load(args.model)
    out["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = as_candidates_frame(args.candidates)
    out["read_candidates_s"] = time.perf_counter() - t0
    out["rss_before_predict_gb"] = peak_rss_gb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        result = model.predict(frame, method="all", ci_prob=0.9)
        out["predict_s"] = time.perf_counter() - t0
        out["predict_cpu_s"] = time.process_time() - c0
        out["predict_peak_rss_gb"] = peak_rss_gb()
        out["n_rows"] = int(len(result.index))
        # The joint draws are lazy (summaries are closed form): their first access is a step
        # of its own, and the one rank and suggest pay for.
        t0, c0 = time.perf_counter(), time.process_time()
        draws = result.draws
        out["draws_s"] = time.perf_counter() - t0
        out["draws_cpu_s"] = time.process_time() - c0
        out["draws_peak_rss_gb"] = peak_rss_gb()
        out["n_draws"] = int(draws.shape[0])
        out["draws_gb"] = draws.nbytes / 1e9
        t0 = time.perf_counter()
        attach_trust(result, model, frame)
        out["trust_s"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        ranking = rank_candidates(result, k=3)
        text = format_ranking(ranking, max_rows=20)
        out["rank_s"] = time.perf_counter() - t0
        out["rank_cpu_s"] = time.process_time() - c0
        out["rank_printed_lines"] = text.count("\n") + 1
        out["rank_peak_rss_gb"] = peak_rss_gb()
        t0, c0 = time.perf_counter(), time.process_time()
        suggestion = suggest_next(result, budget=1)
        out["suggest_s"] = time.perf_counter() - t0
        out["suggest_cpu_s"] = time.process_time() - c0
        out["suggest_peak_rss_gb"] = peak_rss_gb()
        out["suggest_shortlist"] = {m: s["shortlist"] for m, s in suggestion.screen.items()}
    return out


def phase_cli(args: argparse.Namespace) -> dict:
    """One ``rmpredict`` command in this (fresh) process: wall seconds and peak RSS."""
    import contextlib
    import io
    import warnings

    from rmpredict.cli._main import main

    argv = json.loads(args.argv)
    sink = io.StringIO()
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        code = main(argv)
    return {"argv": argv, "code": code, "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0,
            "peak_rss_gb": peak_rss_gb(), "stdout_lines": sink.getvalue().count("\n")}


def _child(phase: str, **kwargs) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase]
    for key, value in kwargs.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = time.perf_counter() - t0  # including interpreter start-up
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--model", default=None, help="model file (default: the newest release)")
    p.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    p.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    p.add_argument("--candidates", default=None, help=argparse.SUPPRESS)
    p.add_argument("--argv", default=None, help=argparse.SUPPRESS)
    p.add_argument("--skip-cli", action="store_true", help="only the in-process timings")
    args = p.parse_args()
    if args.phase == "api":
        print(json.dumps(phase_api(args)))
        return
    if args.phase == "cli":
        print(json.dumps(phase_cli(args)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        cands = Path(tmp) / f"cand_{args.n}.csv"
        t0 = time.perf_counter()
        synthetic_candidates(args.n).to_csv(cands, index=False)
        report = {"build_table_s": time.perf_counter() - t0}
        report["api"] = _child("api", n=args.n, model=args.model, candidates=cands)
        if not args.skip_cli:
            model = ["--model", args.model] if args.model else []
            rank = ["rank", "--candidates", str(cands), *model, "--output",
                    str(Path(tmp) / "rank.csv")]
            suggest = ["suggest", "--candidates", str(cands), *model, "--budget", "1",
                       "--output", str(Path(tmp) / "suggest.csv")]
            report["cli_rank"] = _child("cli", argv=json.dumps(rank))
            report["cli_suggest"] = _child("cli", argv=json.dumps(suggest))
    api = report["api"]
    rows = [
        ("candidates (rows: x methods)", f"{api['n_candidates']} ({api['n_rows']})"),
        ("joint draws / draws array", f"{api['n_draws']} / {api['draws_gb']:.2f} GB"),
        ("load model", f"{api['load_s']:.2f} s"),
        ("read + validate candidates", f"{api['read_candidates_s']:.2f} s"),
        ("predict (all methods)", f"{api['predict_s']:.2f} s (CPU {api['predict_cpu_s']:.2f} "
                                  f"s), peak RSS {api['predict_peak_rss_gb']:.2f} GB"),
        ("joint draws (first access)", f"{api['draws_s']:.2f} s (CPU {api['draws_cpu_s']:.2f} "
                                       f"s), peak RSS {api['draws_peak_rss_gb']:.2f} GB"),
        ("trust flags", f"{api['trust_s']:.2f} s"),
        ("rank_candidates + top-20 text", f"{api['rank_s']:.2f} s (CPU {api['rank_cpu_s']:.2f} "
                                          f"s), peak RSS {api['rank_peak_rss_gb']:.2f} GB"),
        ("suggest_next(budget=1)", f"{api['suggest_s']:.2f} s (CPU {api['suggest_cpu_s']:.2f} "
                                   f"s), peak RSS {api['suggest_peak_rss_gb']:.2f} GB, "
                                   f"shortlist {api['suggest_shortlist']}"),
    ]
    for key in ("cli_rank", "cli_suggest"):
        if key in report:
            r = report[key]
            rows.append((f"`rmpredict {r['argv'][0]}` end to end (exit {r['code']})",
                         f"{r['process_wall_s']:.1f} s wall incl. start-up (command "
                         f"{r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s), peak RSS "
                         f"{r['peak_rss_gb']:.2f} GB, {r['stdout_lines']} lines printed"))
    import os

    report["load_average"] = os.getloadavg()
    print(f"load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")
    print("| step | result |\n|---|---|")
    for a, b in rows:
        print(f"| {a} | {b} |")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
