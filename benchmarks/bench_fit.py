"""Fit speed of the hierarchical predictor: nutpie (default) vs PyMC's default NUTS.

Same model, same data (the bundled reference results), 4 chains x (1000 tune + 1000 draws),
measured in one run: one structure (``full``, no stacking: the unit every fit is made of) with
both samplers, and the whole stacked fit (inner leave-one-publisher-out + three structures)
with nutpie. Prints wall time (incl. compilation), minimum bulk/tail ESS and ESS/s.

    python benchmarks/bench_fit.py [--draws 1000 --tune 1000 --chains 4] [--skip-pymc]
        [--skip-stack]
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings


def run(sampler: str, draws: int, tune: int, chains: int, seed: int,
        stacked: bool = False) -> dict:
    from rmpredict.exceptions import ConvergenceWarning
    from rmpredict.models import HierarchicalRMPredictor
    from rmpredict.models._sampling import clear_compile_cache

    clear_compile_cache()
    shape = {} if stacked else {"structures": ("full",), "stacking": "none"}
    model = HierarchicalRMPredictor(sampler=sampler, draws=draws, tune=tune, chains=chains,
                                    random_seed=seed, progressbar=False, **shape)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the table instead
        model.fit()
    wall = time.perf_counter() - t0
    d = model.diagnostics_
    return {"sampler": sampler + (" (stacked fit)" if stacked else " (one structure)"),
            "wall_s": wall, "compile_s": d["compile_seconds"],
            "sample_s": d["sample_seconds"], "min_ess_bulk": d["min_ess_bulk"],
            "min_ess_tail": d["min_ess_tail"], "max_rhat": d["max_rhat"],
            "divergences": d["divergences"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-pymc", action="store_true")
    p.add_argument("--skip-stack", action="store_true")
    args = p.parse_args()
    import rmpredict

    rows = [run("nutpie", args.draws, args.tune, args.chains, args.seed)]
    if not args.skip_pymc:
        rows.append(run("pymc", args.draws, args.tune, args.chains, args.seed))
    speedup = rows[1]["wall_s"] / rows[0]["wall_s"] if len(rows) == 2 else None
    if not args.skip_stack:
        rows.append(run("nutpie", args.draws, args.tune, args.chains, args.seed, stacked=True))
    print(f"rmpredict {rmpredict.__version__}, python {platform.python_version()}, "
          f"{args.chains} chains x ({args.tune} tune + {args.draws} draws)")
    print("| sampler | wall s (incl. compile) | compile s | min bulk ESS | min tail ESS | "
          "max r-hat | divergences | bulk ESS/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sampler']} | {r['wall_s']:.1f} | {r['compile_s']:.1f} | "
              f"{r['min_ess_bulk']:.0f} | {r['min_ess_tail']:.0f} | {r['max_rhat']:.4f} | "
              f"{r['divergences']} | {r['min_ess_bulk'] / r['wall_s']:.1f} |")
    if speedup is not None:
        print(f"speed-up (wall, one structure, nutpie vs pymc): {speedup:.2f}x")


if __name__ == "__main__":
    main()
