"""Prediction and decision speed from the released model (no sampling at run time).

1. predict 10,000 candidates (all methods and targets) from a loaded model: wall time and
   peak memory;
2. ``rmpredict rank`` on 100 candidates, wall time including interpreter start-up;
3. ``rmpredict suggest --budget 2`` over 20 candidates, wall time.

    python benchmarks/bench_predict.py [--n 10000]
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
    args = p.parse_args()
    from rmpredict.release import load_release

    model = load_release()
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


if __name__ == "__main__":
    main()
