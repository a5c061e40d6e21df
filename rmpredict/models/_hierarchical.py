"""The Bayesian hierarchical predictor of RewardBench accuracy (PyMC)."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import TARGETS
from rmpredict.exceptions import ExtrapolationWarning, InvalidParameterError
from rmpredict.models._base import BaseRMPredictor, TableLike, _is_validated, as_results_frame
from rmpredict.models._hier_data import (
    STAGE_DUMMIES,
    Encoding,
    build_encoding,
    model_features,
    training_arrays,
)
from rmpredict.models._hier_graph import DEFAULT_PRIORS, PREDICTIVE_VARS
from rmpredict.models._prediction import PredictionResult

__all__ = ["HierarchicalRMPredictor"]

EXTRAPOLATION_MARGIN = 0.25
"""A feature counts as extrapolated beyond the training range widened by this share of it."""


class HierarchicalRMPredictor(BaseRMPredictor):
    """Bayesian hierarchical model of RewardBench category accuracy.

    Categories are modelled jointly on the logit scale; slopes are partially pooled across
    categories and RM methods, publisher effects are partially pooled, benchmark
    scores enter through a latent capability learned from the bundled leaderboards, and missing
    inputs are latent. See ``docs/model.md`` for the full model, priors and checks.

    Parameters
    ----------
    n_factors : int, default=3
        Dimension of the latent capability (fixed a priori; see docs/model.md).
    priors : dict, optional
        Overrides of :data:`~rmpredict.models._hier_graph.DEFAULT_PRIORS`.
    sampler : {"nutpie", "pymc", "numpyro"}, default="nutpie"
    draws, tune, chains : int, default=2000, 2000, 4
    target_accept : float, default=0.95
    random_seed : int, default=0
        Seeds sampling and posterior-predictive draws.
    n_predictive_draws : int, default=1000
        Posterior samples (evenly thinned) used for predictions.
    progressbar : bool, optional
        Show sampler progress; default: only when stderr is a terminal.

    Attributes
    ----------
    idata_ : arviz.InferenceData
        Posterior, sample statistics and the training data (``fit_data``).
    encoding_ : Encoding
        Methods, publishers and feature scaling seen in ``fit``.
    factor_model_ : BenchmarkFactorModel
        The benchmark measurement model.
    diagnostics_ : dict
        r-hat, ESS, divergences and timings of the fit.
    methods_ : tuple of str
    """

    name = "bayes"
    _model_type = "rmpredict.HierarchicalRMPredictor"
    model_version = "1"

    def __init__(self, *, n_factors: int = 3, priors: dict[str, float] | None = None,
                 sampler: str = "nutpie", draws: int = 2000, tune: int = 2000, chains: int = 4,
                 target_accept: float = 0.95, random_seed: int = 0,
                 n_predictive_draws: int = 1000, progressbar: bool | None = None):
        self.n_factors = n_factors
        self.priors = priors
        self.sampler = sampler
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.target_accept = target_accept
        self.random_seed = random_seed
        self.n_predictive_draws = n_predictive_draws
        self.progressbar = progressbar

    # -- configuration ---------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {"n_factors": int(self.n_factors), "priors": self._priors(),
                "sampler": self.sampler, "draws": int(self.draws), "tune": int(self.tune),
                "chains": int(self.chains), "target_accept": float(self.target_accept),
                "random_seed": int(self.random_seed),
                "n_predictive_draws": int(self.n_predictive_draws)}

    def _priors(self) -> dict[str, float]:
        unknown = set(self.priors or {}) - set(DEFAULT_PRIORS)
        if unknown:
            raise InvalidParameterError(
                f"The 'priors' parameter has unknown key(s) {sorted(unknown)}; valid keys: "
                f"{sorted(DEFAULT_PRIORS)}.")
        return {k: float(v) for k, v in (DEFAULT_PRIORS | (self.priors or {})).items()}

    def _validate_params(self) -> None:
        for name in ("draws", "tune", "chains", "n_predictive_draws"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (0 if name == "tune" else 1):
                raise InvalidParameterError(
                    f"The '{name}' parameter of HierarchicalRMPredictor must be a positive "
                    f"integer. Got {value!r} instead.")
        if not 0.5 <= float(self.target_accept) < 1.0:
            raise InvalidParameterError(
                "The 'target_accept' parameter of HierarchicalRMPredictor must be in "
                f"[0.5, 1). Got {self.target_accept!r} instead.")
        from rmpredict.models._sampling import SAMPLERS

        if self.sampler not in SAMPLERS:
            raise InvalidParameterError(
                f"The 'sampler' parameter of HierarchicalRMPredictor must be one of "
                f"{list(SAMPLERS)}. Got {self.sampler!r} instead.")

    @property
    def model_id(self) -> str:
        """Identity hash of the model type, version and configuration."""
        from rmpredict._provenance import hash_json

        return hash_json([self._model_type, self.model_version, self._config()])

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, results: TableLike = None, *,
            holdout: Sequence[bool] | Sequence[str] | None = None) -> HierarchicalRMPredictor:
        """Fit the posterior on a results table.

        Parameters
        ----------
        results : DataFrame, path or None, default=None
            One row per (model, method) with the four category accuracies (fractions); ``None``
            uses the bundled reference data.
        holdout : boolean mask or list of model ids, optional
            Rows to hold out. They stay in the graph with zero likelihood weight, so repeated
            fits on the same table (cross-validation folds) reuse one compiled graph.

        Returns
        -------
        self
        """
        from rmpredict._provenance import hash_frame

        self._validate_params()
        frame = results if _is_validated(results) else as_results_frame(results)
        frame = frame.reset_index(drop=True)
        weights = np.ones(len(frame))
        if holdout is not None:
            hold = list(holdout)
            if len(hold) == len(frame) and all(isinstance(h, bool | np.bool_) for h in hold):
                mask = np.asarray(hold, dtype=bool)
            else:
                mask = frame["model"].isin(set(map(str, hold))).to_numpy()
            weights[mask] = 0.0
        if weights.sum() < 2:
            raise InvalidParameterError("At least two result rows must be fitted; the holdout "
                                        "leaves fewer.")
        self.methods_ = tuple(sorted(frame.loc[weights > 0, "method"].unique()))
        self.n_train_ = int((weights > 0).sum())
        self.data_hash_ = hash_frame(frame.loc[weights > 0])
        self._fit_weighted(frame, weights)
        return self

    def _fit(self, frame: pd.DataFrame) -> None:
        self._fit_weighted(frame, np.ones(len(frame)))

    def _fit_weighted(self, frame: pd.DataFrame, weights: np.ndarray) -> None:
        from rmpredict._progress import progress_enabled
        from rmpredict.features._factors import default_factor_model
        from rmpredict.models._diagnostics import check_diagnostics
        from rmpredict.models._sampling import sample_posterior

        fm = default_factor_model(int(self.n_factors))
        enc = build_encoding(frame, weights, int(self.n_factors))
        arrays = training_arrays(frame, weights, enc, fm)
        fitted_models = np.unique(arrays.row_model[weights > 0])
        obs = arrays.feats.observed_matrix()[fitted_models]
        enc.train_min = np.nan_to_num(np.nanmin(obs, axis=0), nan=0.0).tolist()
        enc.train_max = np.nan_to_num(np.nanmax(obs, axis=0), nan=0.0).tolist()
        progress = progress_enabled(self.progressbar)
        run = sample_posterior(
            arrays, priors=self._priors(), n_methods=len(enc.methods),
            n_features=len(enc.feature_names), sampler=self.sampler, draws=int(self.draws),
            tune=int(self.tune), chains=int(self.chains),
            target_accept=float(self.target_accept), random_seed=int(self.random_seed),
            progressbar=progress)
        idata = _label(run.idata, enc)
        # Free parameters only: transformed duplicates (``*_log__``) and deterministic
        # functions of them carry no extra information.
        diag_vars = [v for v in idata.posterior.data_vars
                     if not str(v).endswith("__")
                     and v not in ("theta", "beta", "u_cat", "v", "sigma")]
        report = check_diagnostics(idata, diag_vars)
        report.update(compile_seconds=round(run.compile_seconds, 3),
                      sample_seconds=round(run.sample_seconds, 3),
                      reused_compiled_graph=run.reused_compiled, sampler=self.sampler)
        pubs = np.asarray(enc.publishers)[arrays.model_pub[fitted_models]]
        self.encoding_ = enc
        self.factor_model_ = fm
        self.seen_publishers_ = sorted(set(pubs))
        self.diagnostics_ = report
        self.feature_names_ = enc.feature_names
        self.idata_ = _attach_fit_data(idata, frame, weights)
        self._post_cache = None

    # -- prediction ------------------------------------------------------------------------
    def _thinned(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Posterior arrays of ``names`` with chains flattened, thinned evenly to at most
        ``n_predictive_draws`` samples (the same samples for every name: joint draws)."""
        post = self.idata_.posterior
        n = post.sizes["chain"] * post.sizes["draw"]
        take = np.unique(np.linspace(0, n - 1, min(int(self.n_predictive_draws), n))
                         .round().astype(int))
        out = {}
        for name in names:
            arr = post[name].to_numpy()
            out[name] = arr.reshape((n, *arr.shape[2:]))[take]
        return out

    def _posterior_arrays(self) -> dict[str, np.ndarray]:
        if getattr(self, "_post_cache", None) is None:
            self._post_cache = self._thinned(PREDICTIVE_VARS)
        return self._post_cache

    def _hyper_arrays(self) -> dict[str, np.ndarray]:
        from rmpredict.models._hier_predict import HYPER_VARS

        return {k: v.astype(np.float32) for k, v in self._thinned(HYPER_VARS).items()}

    def _resolve_method(self, method: str) -> list[str]:
        """``"all"``, a fitted method, or a new method name.

        A method not seen in fit (another RM recipe or evaluation suite) is predicted as a new
        member of the method level: its parameters are drawn from the fitted population, so its
        intervals include the between-method spread.
        """
        if method == "all" or method in self.methods_:
            return super()._resolve_method(method)
        if not isinstance(method, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", method):
            raise InvalidParameterError(
                f"The 'method' parameter of {type(self).__name__}.predict must be 'all', one of "
                f"{list(self.methods_)}, or a new lower-case method name. Got {method!r} "
                "instead.")
        warnings.warn(
            f"method {method!r} was not seen in fit ({', '.join(self.methods_)}): it is "
            "predicted as a new method drawn from the fitted population of methods, so "
            "intervals are wide.", ExtrapolationWarning, stacklevel=3)
        return [method]

    def _predict(self, frame: pd.DataFrame, index: pd.DataFrame,
                 ci_prob: float) -> PredictionResult:
        from rmpredict.models._hier_predict import predictive_draws

        enc = self.encoding_
        feats = model_features(frame, enc, self.factor_model_)
        pos = {m: i for i, m in enumerate(feats.models)}
        row_model = index["model"].map(pos).to_numpy(dtype=np.int64)
        new = sorted(set(index["method"]) - set(enc.methods))
        method_pos = {m: i for i, m in enumerate([*enc.methods, *new])}
        row_method = index["method"].map(method_pos).to_numpy(dtype=np.int64)
        notes = self._notes(feats)
        rng = np.random.default_rng(int(self.random_seed))
        post = self._posterior_arrays()
        if new:
            from rmpredict.models._hier_predict import with_new_methods

            post = with_new_methods(post, self._hyper_arrays(), len(new), self._priors(), rng)
        draws = predictive_draws(post, enc, feats, self.seen_publishers_,
                                 row_model, row_method, rng)
        return PredictionResult.from_draws(
            index[["model", "method"]], TARGETS, draws, ci_prob, predictor=self.name,
            provenance=self._provenance(model_id=self.model_id,
                                        random_seed=int(self.random_seed)),
            notes=notes)

    def _notes(self, feats) -> pd.DataFrame:
        enc = self.encoding_
        obs = feats.observed_matrix()
        lo, hi = np.asarray(enc.train_min), np.asarray(enc.train_max)
        margin = EXTRAPOLATION_MARGIN * (hi - lo)
        names = enc.feature_names
        extrap = []
        for i in range(len(feats.models)):
            row = obs[i]
            bad = [names[j] for j in range(len(names)) if np.isfinite(row[j]) and
                   (row[j] < lo[j] - margin[j] or row[j] > hi[j] + margin[j])
                   and not names[j].startswith("stage_")]
            extrap.append(",".join(bad))
        notes = pd.DataFrame({
            "model": feats.models, "n_benchmarks": feats.n_benchmarks,
            "publisher_seen": [p in self.seen_publishers_ for p in feats.publisher],
            "stage_assumed_instruct": feats.stage_missing, "extrapolated": extrap})
        flagged = notes[notes["extrapolated"] != ""]
        if len(flagged):
            shown = "; ".join(f"{m} ({e})" for m, e in
                              zip(flagged["model"].head(5), flagged["extrapolated"].head(5)))
            more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
            warnings.warn(
                f"{len(flagged)} candidate(s) lie outside the training range of their features: "
                f"{shown}{more}. Predictions there extrapolate the fitted trends; treat them "
                "with caution.", ExtrapolationWarning, stacklevel=4)
        assumed = notes[notes["stage_assumed_instruct"]]
        if len(assumed):
            from rmpredict.exceptions import DataWarning

            warnings.warn(
                f"{len(assumed)} candidate(s) have no post_training stage and are treated as "
                f"'instruct' (e.g. {assumed['model'].iloc[0]}); add a post_training column "
                f"({', '.join(('instruct', *STAGE_DUMMIES))}) to change this.", DataWarning,
                stacklevel=4)
        return notes

    # -- reporting -------------------------------------------------------------------------
    def summary(self):
        """Posterior summary of the population parameters with sampling diagnostics."""
        from rmpredict.models._summary import Summary

        self._check_fitted()
        return Summary.from_predictor(self)

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> str:
        """Save the fitted model as netCDF InferenceData (atomic); return the file's sha256."""
        from rmpredict.models._model_io import save_predictor

        self._check_fitted()
        return save_predictor(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HierarchicalRMPredictor:
        """Load a model saved by :meth:`save`, checking identity, version and content hash."""
        from rmpredict.models._model_io import load_predictor

        return load_predictor(cls, path)


def _label(idata, enc: Encoding):
    """Attach label coordinates (methods, publishers, ...) to a positional-coordinate posterior."""
    labels = {"rm_method": enc.methods, "category": list(TARGETS[:4]),
              "feature": enc.feature_names, "publisher": enc.publishers}
    for group in ("posterior",):
        ds = getattr(idata, group)
        assign = {d: labels[d] for d in labels if d in ds.dims}
        setattr(idata, group, ds.assign_coords(assign))
    return idata


def _attach_fit_data(idata, frame: pd.DataFrame, weights: np.ndarray):
    import xarray as xr

    data = {}
    for col in frame.columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            data[col] = ("row", values.to_numpy(dtype=float))
        else:
            data[col] = ("row", values.astype(object).where(values.notna(), "").astype(str)
                         .to_numpy(dtype=str))
    data["_weight"] = ("row", weights.astype(float))
    idata.add_groups({"fit_data": xr.Dataset(data)})
    return idata
