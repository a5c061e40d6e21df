"""Prediction and decision speed from the released model (no sampling at run time).

1. predict 10,000 candidates (all methods and targets) from a loaded model: wall time and
   peak memory;
2. ``rmpredict rank`` on 100 candidates, wall time including interpreter start-up;
3. ``rmpredict suggest --budget 2`` over 20 candidates, wall time;
4. ``--accuracy``: the closed-form summaries (mean, sd, 90% bounds of every target) against
   summaries of pooled Monte-Carlo joint draws on 60 candidates (points, closed form minus MC).

    python benchmarks/bench_predict.py [--n 10000] [--accuracy [--mc-seeds 16]]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def candidates(n: int, seed: int = 0):
    """``n`` leaderboard-v2 models (sampled with replacement, renamed to be unique)."""
    import numpy as np

    from rmpredict.datasets import load_leaderboard

    lb = load_leaderboard(2)
    lb = lb[(lb["params_b"] > 0.3) & (lb["params_b"] < 12)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = lb.iloc[rng.integers(0, len(lb), n)].reset_index(drop=True)
    pick["model"] = [f"{m}~{i}" for i, m in enumerate(pick["model"])]
    pick["post_training"] = "instruct"
    pick["pretrain_tokens_t"] = 10.0
    return pick.drop(columns=["precision", "architecture"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--predictive-draws", type=int, nargs="*", default=[1000, 250],
                   help="posterior draws used per prediction (each value is timed)")
    p.add_argument("--accuracy", action="store_true",
                   help="only compare closed-form summaries with Monte-Carlo draws")
    p.add_argument("--mc-seeds", type=int, default=16,
                   help="noise seeds pooled for the Monte-Carlo reference of --accuracy")
    args = p.parse_args()
    from rmpredict.release import load_release

    model = load_release()
    if args.accuracy:
        accuracy(model, args.mc_seeds)
        return
    for n_draws in args.predictive_draws[1:]:
        model.set_params(n_predictive_draws=n_draws)
        model._post_cache = None
        t0 = time.perf_counter()
        model.predict(candidates(args.n), method="all", ci_prob=0.9)
        print(f"| predict {args.n} candidates with {n_draws} draws | "
              f"{time.perf_counter() - t0:.2f} s |")
    model.set_params(n_predictive_draws=args.predictive_draws[0])
    model._post_cache = None
    cand = candidates(args.n)
    t0 = time.perf_counter()
    res = model.predict(cand, method="all", ci_prob=0.9)
    predict_s = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"| predict {args.n} candidates x {len(model.methods_)} methods x 5 targets | "
          f"{predict_s:.2f} s | peak RSS {peak_gb:.2f} GB | joint draws: {res!r} |")
    with tempfile.TemporaryDirectory() as tmp:
        for n, cmd in ((100, ["rank"]), (20, ["suggest", "--budget", "2"])):
            path = Path(tmp) / f"c{n}.csv"
            candidates(n, seed=1).to_csv(path, index=False)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "rmpredict", *cmd, "--candidates",
                                  str(path)], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            status = "ok" if out.returncode == 0 else f"exit {out.returncode}: {out.stderr[-200:]}"
            print(f"| rmpredict {' '.join(cmd)} on {n} candidates | {wall:.2f} s wall incl. "
                  f"start-up | {status} |")


def accuracy(model, n_seeds: int, n: int = 60) -> None:
    """Closed-form summaries minus summaries of Monte-Carlo joint draws, in points.

    The closed form averages over the posterior samples the model predicts from; the reference
    draws the predictive noise for those same samples under ``n_seeds`` random seeds and pools
    them, so the difference is the one-Gaussian approximation plus the reference's own error.
    """
    import numpy as np

    cand = candidates(n, seed=2)
    res = model.predict(cand, method="all", ci_prob=0.9)
    parts = []
    for k in range(n_seeds):
        model.set_params(random_seed=k)
        parts.append(model.predict(cand, method="all", ci_prob=0.9).draws)
    draws = np.concatenate(parts, axis=0).astype(np.float64)
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    mc = {"mean": draws.mean(axis=0), "sd": draws.std(axis=0, ddof=1), "lower 90%": lo,
          "upper 90%": hi}
    closed = {"mean": res.mean, "sd": res.sd, "lower 90%": res.lower, "upper 90%": res.upper}
    # Reference error if the draws were independent (posterior samples repeat across seeds, so
    # this is a lower bound): mean, and a 5% quantile via the normal-density approximation.
    n_mc = draws.shape[0]
    se_mean = np.median(mc["sd"][:, -1]) / np.sqrt(n_mc)
    se_q = np.sqrt(0.05 * 0.95 / n_mc) * np.median(mc["sd"][:, -1]) / 0.1031
    print(f"closed form vs {n_mc} Monte-Carlo draws ({n_mc // n_seeds} posterior samples x "
          f"{n_seeds} noise seeds), {len(res.index)} rows x {len(res.targets)} targets; points; "
          f"reference error of the score >= {100 * se_mean:.3f} (mean), "
          f">= {100 * se_q:.3f} (5%/95% quantile)")
    print("| statistic | target | mean abs diff | max abs diff | mean signed diff |")
    print("|---|---|---|---|---|")
    for name in closed:
        diff = 100 * (closed[name] - mc[name])
        for t, target in enumerate(res.targets):
            d = diff[:, t]
            print(f"| {name} | {target} | {np.abs(d).mean():.3f} | {np.abs(d).max():.3f} | "
                  f"{d.mean():+.3f} |")


if __name__ == "__main__":
    main()
