"""MCMC diagnostics: r-hat, bulk/tail ESS and divergences, checked after every fit."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rmpredict.exceptions import ConvergenceWarning
from rmpredict.models._backend import import_arviz

__all__ = ["RHAT_MAX", "ESS_MIN", "check_diagnostics", "combine_diagnostics"]

RHAT_MAX = 1.01
ESS_MIN = 400


def check_diagnostics(idata: Any, var_names: list[str] | None = None, *,
                      warn: bool = True) -> dict[str, Any]:
    """Compute r-hat, ESS and divergences; warn with the offending parameters.

    Returns
    -------
    dict
        ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences``, ``n_draws``,
        ``n_chains``, ``problems`` (list of str) and ``ok`` (bool).
    """
    az = import_arviz()
    post = idata.posterior
    names = var_names or [v for v in post.data_vars]
    with warnings.catch_warnings():
        # Constant parameters (e.g. an unused slot) give NaN diagnostics with a RuntimeWarning.
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post, var_names=names)
        ess_b = az.ess(post, var_names=names, method="bulk")
        ess_t = az.ess(post, var_names=names, method="tail")

    def flagged(ds, cond) -> list[str]:
        out = []
        for name, arr in ds.data_vars.items():
            a = np.asarray(arr, dtype=float)
            if np.any(cond(a[np.isfinite(a)])):
                out.append(str(name))
        return out

    def extreme(ds, fn) -> float:
        vals = [fn(a[np.isfinite(a)]) for a in (np.asarray(v, float)
                                                for v in ds.data_vars.values())
                if np.isfinite(a).any()]
        return float(fn(vals)) if vals else float("nan")

    max_rhat, min_bulk, min_tail = extreme(rhat, np.max), extreme(ess_b, np.min), \
        extreme(ess_t, np.min)
    div = 0
    if "sample_stats" in idata and "diverging" in idata.sample_stats:
        div = int(np.asarray(idata.sample_stats["diverging"]).sum())
    problems = []
    if post.sizes["chain"] < 2:
        problems.append("r-hat needs at least 2 chains (1 was run), so convergence is "
                        "unchecked")
    bad_r = flagged(rhat, lambda a: a > RHAT_MAX)
    if bad_r:
        problems.append(f"r-hat {max_rhat:.3f} > {RHAT_MAX} for {', '.join(bad_r[:8])}")
    bad_b = flagged(ess_b, lambda a: a < ESS_MIN)
    if bad_b:
        problems.append(f"bulk ESS {min_bulk:.0f} < {ESS_MIN} for {', '.join(bad_b[:8])}")
    bad_t = flagged(ess_t, lambda a: a < ESS_MIN)
    if bad_t:
        problems.append(f"tail ESS {min_tail:.0f} < {ESS_MIN} for {', '.join(bad_t[:8])}")
    if div:
        problems.append(f"{div} divergent transition(s)")
    report = {
        "max_rhat": max_rhat, "min_ess_bulk": min_bulk, "min_ess_tail": min_tail,
        "divergences": div, "n_chains": int(post.sizes["chain"]),
        "n_draws": int(post.sizes["draw"]), "rhat_max_allowed": RHAT_MAX,
        "ess_min_required": ESS_MIN, "problems": problems, "ok": not problems,
    }
    if problems and warn:
        warnings.warn(
            "MCMC diagnostics failed: " + "; ".join(problems) + ". Try more draws/tune "
            "(--draws/--tune), more chains, or a higher target_accept; predictions may be "
            "unreliable.", ConvergenceWarning, stacklevel=3)
    return report


def combine_diagnostics(reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Worst case over the structures of a stack, with each structure's report kept."""
    vals = list(reports.values())

    def pick(key: str, fn) -> float:
        xs = [float(r[key]) for r in vals if r.get(key) is not None
              and np.isfinite(float(r[key]))]
        return float(fn(xs)) if xs else float("nan")

    problems = [f"{name}: {p}" for name, r in reports.items() for p in r.get("problems", [])]
    out: dict[str, Any] = {
        "max_rhat": pick("max_rhat", max), "min_ess_bulk": pick("min_ess_bulk", min),
        "min_ess_tail": pick("min_ess_tail", min),
        "divergences": int(sum(int(r.get("divergences", 0)) for r in vals)),
        "n_chains": vals[0].get("n_chains"), "n_draws": vals[0].get("n_draws"),
        "rhat_max_allowed": RHAT_MAX, "ess_min_required": ESS_MIN,
        "problems": problems, "ok": not problems,
        "compile_seconds": round(sum(float(r.get("compile_seconds", 0)) for r in vals), 3),
        "sample_seconds": round(sum(float(r.get("sample_seconds", 0)) for r in vals), 3),
        "sampler": vals[0].get("sampler"), "structures": reports,
    }
    return out
