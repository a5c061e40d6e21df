"""Posterior sampling with nutpie (default, compiled once per graph shape), PyMC or NumPyro."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from rmpredict.exceptions import InvalidParameterError, MissingDependencyError
from rmpredict.models._backend import import_nutpie, import_pymc
from rmpredict.models._hier_data import TrainingArrays
from rmpredict.models._hier_graph import build_model

__all__ = ["SAMPLERS", "SamplerRun", "sample_posterior", "clear_compile_cache"]

SAMPLERS = ("nutpie", "pymc", "numpyro")

# Compiled nutpie graphs, keyed by graph shape and priors. New data of the same shape (e.g. the
# next cross-validation fold) reuses the compiled graph through ``with_data``.
_COMPILED: dict[str, Any] = {}


def clear_compile_cache() -> None:
    """Forget compiled graphs (the next fit recompiles)."""
    _COMPILED.clear()


@dataclass
class SamplerRun:
    """Posterior plus timing of one sampling run."""

    idata: Any
    compile_seconds: float
    sample_seconds: float
    reused_compiled: bool


def sample_posterior(arrays: TrainingArrays, *, priors: dict[str, float], n_within: int,
                     sampler: str, draws: int, tune: int, chains: int,
                     target_accept: float, random_seed: int, progressbar: bool) -> SamplerRun:
    """Sample the posterior of the hierarchical model for ``arrays``.

    Graphs are cached by the shapes of their data and the priors: the folds of a
    cross-validation and the structures of a stack (which differ only in their feature mask)
    reuse one compiled nutpie model.
    """
    if sampler not in SAMPLERS:
        raise InvalidParameterError(
            f"The 'sampler' parameter must be one of {list(SAMPLERS)}. Got {sampler!r} instead.")
    if sampler == "nutpie":
        nutpie = import_nutpie()
        key = json.dumps([repr(arrays.signature()), n_within, priors], sort_keys=True)
        t0 = time.perf_counter()
        reused = key in _COMPILED
        if reused:
            compiled = _COMPILED[key].with_data(**arrays.data)
        else:
            compiled = nutpie.compile_pymc_model(build_model(arrays, priors, n_within))
            _COMPILED[key] = compiled
        t1 = time.perf_counter()
        idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains,
                              cores=min(chains, 2), seed=int(random_seed),
                              target_accept=target_accept, progress_bar=progressbar,
                              save_warmup=False)
        t2 = time.perf_counter()
        return SamplerRun(idata, t1 - t0, t2 - t1, reused)
    pm = import_pymc()
    t0 = time.perf_counter()
    model = build_model(arrays, priors, n_within)
    kwargs: dict[str, Any] = {}
    if sampler == "numpyro":
        try:
            import numpyro  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError(
                "sampler='numpyro' needs NumPyro and JAX: pip install \"rmpredict[numpyro]\"") \
                from exc
        kwargs["nuts_sampler"] = "numpyro"
    with model:
        idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=min(chains, 2),
                          random_seed=int(random_seed), target_accept=target_accept,
                          progressbar=progressbar, compute_convergence_checks=False, **kwargs)
    t1 = time.perf_counter()
    # PyMC compiles inside pm.sample; its wall time is reported as sampling time.
    return SamplerRun(idata, 0.0, t1 - t0, False)
