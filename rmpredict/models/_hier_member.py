"""One fitted structure of the stacked hierarchical model: posterior, log likelihood, predictive.

A :class:`StructureFit` is what the stack holds per structure: the encoding learned from its
training rows, the posterior (with the pointwise log likelihood of every training row), its
diagnostics, and the predictive (draws for candidates, log densities for held-out rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import DEFAULT_BENCHMARK, RESULT_BENCHMARKS, result_benchmark
from rmpredict.features._factors import BenchmarkFactorModel
from rmpredict.models._hier_data import (
    Encoding,
    ModelFeatures,
    active_features,
    build_encoding,
    model_features,
    prompt_counts,
    structure_mask,
    training_arrays,
)
from rmpredict.models._hier_graph import BENCHMARK_OFFSET, PREDICTIVE_VARS

__all__ = ["StructureFit", "DIAGNOSTIC_EXCLUDE", "SAVE_DROP_PREFIX"]

DIAGNOSTIC_EXCLUDE = ("beta", "b_method", "u_pub", "sigma", "eta", "pub_capability",
                      BENCHMARK_OFFSET)
"""Deterministic functions of free parameters: not checked separately."""

SAVE_DROP_PREFIX = ("z_", "eta")
"""Latent standard-normal vectors and row predictors are not needed to predict."""


def _row_log_likelihood(idata, arrays) -> Any:
    """Pointwise log likelihood of every real training row (sum over its benchmark's cells)."""
    import xarray as xr

    post = idata.posterior
    at = arrays.rows
    n = len(at)
    eta = post["eta"].to_numpy()[:, :, at]  # (chain, draw, rows, 4)
    sigma = post["sigma"].to_numpy()  # (chain, draw, R, 4)
    method = arrays.data["row_method_oh"][at].argmax(1)
    sd = np.sqrt(sigma[:, :, method] ** 2 + arrays.data["meas_sd"][at] ** 2)
    y = arrays.data["y"][at]
    ll = -0.5 * (((y - eta) / sd) ** 2 + 2 * np.log(sd) + np.log(2 * np.pi))
    obs = arrays.observed if arrays.observed is not None else np.ones(y.shape, dtype=bool)
    return xr.Dataset({"y_obs": (("chain", "draw", "row"), (ll * obs).sum(axis=3))},
                      coords={"row": np.arange(n)})


@dataclass
class StructureFit:
    """A fitted structure (see module docstring)."""

    structure: str
    encoding: Encoding
    factor_model: BenchmarkFactorModel
    seen_publishers: list[str]
    idata_source: Any
    """The InferenceData, or the :class:`NetCDFGroups` a load read (see :attr:`idata`)."""
    diagnostics: dict[str, Any]
    priors: dict[str, float]
    features: list[str] = field(default_factory=list)
    """Names of the features this structure uses (stored: structure definitions may change)."""
    _post: dict[int, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def idata(self):
        """Posterior, sample statistics and log likelihood as an ArviZ InferenceData."""
        from rmpredict.models._netcdf_groups import as_inference_data

        self.idata_source = as_inference_data(self.idata_source)
        return self.idata_source

    @idata.setter
    def idata(self, value: Any) -> None:
        self.idata_source = value

    @property
    def posterior(self):
        """The posterior group (an :class:`xarray.Dataset`; does not import ArviZ)."""
        return self.idata_source.posterior

    @property
    def mask(self) -> np.ndarray:
        used = set(self.features)
        return np.array([1.0 if n in used else 0.0 for n in self.encoding.feature_names])

    @classmethod
    def fit(cls, train: pd.DataFrame, structure: str, *, factor_model: BenchmarkFactorModel,
            n_factors: int, priors: dict[str, float], sampler: str, draws: int, tune: int,
            chains: int, target_accept: float, random_seed: int, progressbar: bool,
            check: bool = True) -> StructureFit:
        """Fit ``structure`` on the training rows ``train`` (nothing else is seen)."""
        from rmpredict.models._diagnostics import check_diagnostics
        from rmpredict.models._sampling import sample_posterior

        enc = build_encoding(train, n_factors)
        arrays = training_arrays(train, enc, factor_model, structure)
        obs = arrays.feats.observed_matrix()
        enc.train_min = np.nan_to_num(np.nanmin(obs, axis=0), nan=0.0).tolist()
        enc.train_max = np.nan_to_num(np.nanmax(obs, axis=0), nan=0.0).tolist()
        run = sample_posterior(
            arrays, priors=priors, n_within=len(enc.capability_names), sampler=sampler,
            draws=draws, tune=tune, chains=chains, target_accept=target_accept,
            random_seed=random_seed, progressbar=progressbar)
        idata = run.idata
        log_lik = _row_log_likelihood(idata, arrays)
        post = idata.posterior
        keep = [v for v in post.data_vars
                if not str(v).startswith(SAVE_DROP_PREFIX) and not str(v).endswith("__")]
        mask = structure_mask(enc, structure)
        # Slopes of switched-off features are prior draws; checking them says nothing.
        diag_vars = [v for v in keep if v not in DIAGNOSTIC_EXCLUDE]
        groups = {"posterior": post[keep].load()}
        if "sample_stats" in idata:
            groups["sample_stats"] = idata.sample_stats
        from rmpredict.models._backend import import_arviz

        az = import_arviz()
        clean = az.InferenceData(**groups)
        clean.add_groups({"log_likelihood": log_lik})
        active = _active(clean, mask)
        report = check_diagnostics(active, [v for v in diag_vars if v in active.posterior],
                                   warn=check)
        report.update(compile_seconds=round(run.compile_seconds, 3),
                      sample_seconds=round(run.sample_seconds, 3),
                      reused_compiled_graph=run.reused_compiled, sampler=sampler,
                      structure=structure)
        seen = sorted(set(arrays.feats.publisher))
        return cls(structure, enc, factor_model, seen, clean, report, dict(priors),
                   features=active_features(enc, mask))

    # -- posterior arrays ------------------------------------------------------------------
    def thinned(self, n: int, names: tuple[str, ...] = PREDICTIVE_VARS) -> dict[str, np.ndarray]:
        """Posterior arrays with chains flattened, thinned evenly to at most ``n`` samples."""
        key = hash((n, names))
        if key not in self._post:
            post = self.posterior
            total = post.sizes["chain"] * post.sizes["draw"]
            take = np.unique(np.linspace(0, total - 1, min(int(n), total)).round().astype(int))
            out = {}
            for name in names:
                arr = post[name].to_numpy()
                out[name] = arr.reshape((total, *arr.shape[2:]))[take]
            self._post[key] = out
        return self._post[key]

    def _cell_axes(self, post: dict[str, np.ndarray], benchmark: str
                   ) -> dict[str, np.ndarray]:
        """``post`` restricted to ``benchmark``'s category cells (the category axis of every
        predictive function is then that benchmark's categories)."""
        enc = self.encoding
        if enc.benchmarks == [benchmark]:
            return post
        cells = enc.cell_index(benchmark)
        out = dict(post)
        for name, axis in (("alpha", 2), ("beta", 2), ("sigma", 2), ("u_pub", 3), ("a", 1),
                           ("log_noise_category", 1), (BENCHMARK_OFFSET, 1)):
            if name in out:
                out[name] = np.take(out[name], cells, axis=axis)
        return out

    def _hyper(self, n: int) -> dict[str, np.ndarray]:
        from rmpredict.models._hier_predict import HYPER_VARS

        names = HYPER_VARS + ((BENCHMARK_OFFSET,) if BENCHMARK_OFFSET in self.posterior
                              else ())
        return {k: v.astype(np.float32) for k, v in self.thinned(n, names).items()}

    def _with_methods(self, post: dict[str, np.ndarray], methods: list[str],
                      benchmark: str = DEFAULT_BENCHMARK
                      ) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
        """``post`` on ``benchmark``'s cells, extended by methods not fitted (drawn from the
        method population), the method index of each entry of ``methods`` and the method
        names of the arrays."""
        from rmpredict.models._hier_predict import stable_rng, with_new_methods

        post = self._cell_axes(post, benchmark)
        names = list(self.encoding.methods)
        new = sorted({m for m in methods if m not in names})
        if new:
            hyper = self._cell_axes(self._hyper(post["alpha"].shape[0]), benchmark)
            rng = stable_rng(0, "new-method", self.structure, *new)
            post = with_new_methods(post, hyper, len(new), self.priors, rng)
            names = [*names, *new]
        pos = {m: i for i, m in enumerate(names)}
        return post, np.array([pos[m] for m in methods], dtype=np.int64), names

    def n_prompts(self, benchmark: str) -> np.ndarray:
        """Binomial sizes of ``benchmark``'s categories (the measurement layer)."""
        return prompt_counts([(benchmark, c) for c in RESULT_BENCHMARKS[benchmark]])

    # -- predictive ------------------------------------------------------------------------
    def predictive(self, feats: ModelFeatures, row_model: np.ndarray, method: str,
                   n_draws: int, random_seed: int, take: np.ndarray | None = None,
                   slot_start: int = 0, benchmark: str = DEFAULT_BENCHMARK) -> np.ndarray:
        """Predictive accuracy draws ``(len(take) or S, rows, C + 1)`` of ``method`` on
        ``benchmark`` (its C categories and score; random numbers of output slots
        ``slot_start`` onwards)."""
        from rmpredict.models._hier_predict import predictive_draws

        post, row_method, names = self._with_methods(self.thinned(n_draws),
                                                     [method] * len(row_model), benchmark)
        return predictive_draws(post, self.encoding, feats, self.seen_publishers, self.mask,
                                row_model, row_method, names, random_seed, take=take,
                                slot_start=slot_start, n_prompts=self.n_prompts(benchmark))

    def moments(self, feats: ModelFeatures, row_model: np.ndarray, method: str,
                n_draws: int, benchmark: str = DEFAULT_BENCHMARK
                ) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(rows, C)`` and covariance ``(rows, C, C)`` of the predictive logits of
        ``method`` on ``benchmark`` over this structure's thinned posterior (no random
        numbers)."""
        from rmpredict.models._hier_moments import logit_moments

        post, row_method, _ = self._with_methods(self.thinned(n_draws),
                                                 [method] * len(row_model), benchmark)
        return logit_moments(post, self.encoding, feats, self.seen_publishers, self.mask,
                             row_model, row_method, n_prompts=self.n_prompts(benchmark))

    def log_density(self, test: pd.DataFrame, n_draws: int = 1000,
                    random_seed: int = 0) -> np.ndarray:
        """Log predictive density of each row of ``test`` (its benchmark's category logits
        jointly)."""
        from rmpredict.models._hier_predict import row_log_density

        feats = model_features(test, self.encoding, self.factor_model)
        pos = {m: i for i, m in enumerate(feats.models)}
        out = np.empty(len(test))
        bench = result_benchmark(test).to_numpy()
        for name in pd.unique(bench):
            sel = np.flatnonzero(bench == name)
            part = test.iloc[sel]
            row_model = part["model"].map(pos).to_numpy(dtype=np.int64)
            post, row_method, _ = self._with_methods(self.thinned(n_draws),
                                                     list(part["method"]), name)
            acc = part[list(RESULT_BENCHMARKS[name])].to_numpy(dtype=float)
            out[sel] = row_log_density(post, self.encoding, feats, self.seen_publishers,
                                       self.mask, row_model, row_method, acc, random_seed,
                                       n_prompts=self.n_prompts(name))
        return out

    # -- persistence -----------------------------------------------------------------------
    def state(self) -> dict[str, str]:
        """JSON attributes that rebuild this structure from its saved groups."""
        return {"structure": self.structure,
                "encoding": json.dumps(self.encoding.to_dict()),
                "seen_publishers": json.dumps(self.seen_publishers),
                "diagnostics": json.dumps(self.diagnostics, default=str),
                "priors": json.dumps(self.priors),
                "features": json.dumps(self.features)}

    @classmethod
    def from_state(cls, state: dict[str, str], idata, factor_model) -> StructureFit:
        enc = Encoding.from_dict(json.loads(state["encoding"]))
        if "features" in state:
            features = json.loads(state["features"])
        else:  # files of 2026.12 predate the stored list; their capability had within terms
            features = active_features(enc, structure_mask(enc, state["structure"],
                                                           definition="2026.12"))
        return cls(state["structure"], enc, factor_model, json.loads(state["seen_publishers"]),
                   idata, json.loads(state["diagnostics"]), json.loads(state["priors"]),
                   features=features)


def _active(idata, mask: np.ndarray):
    """The posterior without the slopes of switched-off features (for diagnostics)."""
    active = np.flatnonzero(mask > 0)
    post = idata.posterior
    sub = {}
    for name, arr in post.data_vars.items():
        if not len(active) and name in ("tau_method", "tau_category", "tau_benchmark"):
            continue  # scales of slopes that are all switched off: prior draws
        if name in ("theta", "b_method"):
            dim = arr.dims[-1]
            arr = arr.isel({dim: active}) if len(active) else None
        if arr is not None:
            sub[name] = arr
    import xarray as xr

    out = idata.copy()
    out.posterior = xr.Dataset(sub)
    return out
