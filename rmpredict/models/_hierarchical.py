"""The Bayesian hierarchical predictor of RewardBench accuracy (PyMC), version 2: a stack.

Several structures of one hierarchical model (all features with within/between-publisher
slopes; capability only; intercepts and publisher effects only) are fitted on the training
rows, and their predictive distributions are combined per RM method by Bayesian stacking with
weights estimated by an inner leave-one-publisher-out inside the training rows. When benchmarks
carry no out-of-publisher signal for a method, the intercept-only structure wins its weight.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import DEFAULT_BENCHMARK, RESULT_BENCHMARKS, benchmark_targets
from rmpredict.exceptions import ExtrapolationWarning, InvalidParameterError
from rmpredict.models._base import BaseRMPredictor, TableLike, _is_validated, as_results_frame
from rmpredict.models._hier_data import STAGE_DUMMIES, STRUCTURES, model_features
from rmpredict.models._hier_graph import DEFAULT_PRIORS
from rmpredict.models._hier_member import StructureFit
from rmpredict.models._hier_moments import mix_moments
from rmpredict.models._prediction import PredictionResult

__all__ = ["HierarchicalRMPredictor", "NEW_METHOD"]

log = logging.getLogger(__name__)

EXTRAPOLATION_MARGIN = 0.25
"""A feature counts as extrapolated beyond the training range widened by this share of it."""

MIN_STAGE_SUPPORT = 3
"""A post-training stage seen in fewer training models than this is flagged as extrapolated."""

NEW_METHOD = "new"
"""``method=NEW_METHOD`` predicts an RM recipe never fitted, drawn from the method population."""

STACKING = ("inner_lopo", "none")

LATER_PRIOR_KEYS = frozenset({"benchmark_slope_scale"})
"""Prior scales introduced after release 2026.12b (RewardBench 2 in the model)."""

_INNER_CACHE_SIZE = 128
_INNER_FITS: dict[tuple, StructureFit] = {}
"""Inner-fold fits of this process, keyed by training rows, structure and configuration."""


class HierarchicalRMPredictor(BaseRMPredictor):
    """Bayesian hierarchical model of RewardBench category accuracy, stacked over structures.

    Categories are modelled jointly on the logit scale with a binomial measurement layer;
    slopes are partially pooled across categories and RM methods and split into between- and
    within-publisher parts; publisher and run effects are partially pooled; benchmark scores
    enter through a latent capability learned from the bundled leaderboards; missing size,
    tokens and data-distribution features are imputed from capability by a joint feature model.
    See ``docs/model.md``.

    Parameters
    ----------
    n_factors : int, default=3
        Dimension of the latent capability (fixed a priori; see docs/model.md).
    priors : dict, optional
        Overrides of :data:`~rmpredict.models._hier_graph.DEFAULT_PRIORS`.
    structures : tuple of str, default=("full", "capability", "intercept")
        Structures to stack (any non-empty subset of these three).
    stacking : {"inner_lopo", "none"}, default="inner_lopo"
        ``"inner_lopo"``: stacking weights from a leave-one-publisher-out over the training
        rows (needs 3 or more training publishers; otherwise equal weights, recorded).
        ``"none"``: equal weights.
    sampler : {"nutpie", "pymc", "numpyro"}, default="nutpie"
    draws, tune, chains : int, default=2000, 2000, 4
        Sampler settings of the final fit of each structure.
    inner_draws, inner_tune, inner_chains : int, default=300, 300, 2
        Sampler settings of the inner-fold fits that only estimate stacking weights.
    target_accept : float, default=0.9
    random_seed : int, default=0
        Seeds sampling and posterior-predictive draws.
    n_predictive_draws : int, default=1000
        Posterior samples used for predictions (mixture draws over structures).
    progressbar : bool, optional
        Show sampler progress; default: only when stderr is a terminal.

    Attributes
    ----------
    idata_ : arviz.InferenceData
        Posterior, sample statistics and pointwise ``log_likelihood`` (one value per training
        (model, method) row) of the first structure in ``posterior``/``sample_stats``/
        ``log_likelihood``; the other structures in ``posterior_<name>`` etc.; the training
        table in ``fit_data``. :meth:`structure_idata` returns any structure as a standard
        InferenceData (for ``az.loo``), :meth:`compare` runs ``az.compare`` over them.
    stacking_weights_ : dict
        ``{method: {structure: weight}}``.
    stacking_info_ : dict
        How the weights were estimated (inner folds, held-out log scores per structure).
    encoding_ : Encoding
        Methods, publishers and feature scaling learned from the training rows.
    diagnostics_ : dict
        Worst-case r-hat, ESS and divergences over the structures, and each structure's own.
    methods_ : tuple of str
    """

    name = "bayes"
    fits_benchmarks = tuple(RESULT_BENCHMARKS)
    _model_type = "rmpredict.HierarchicalRMPredictor"
    model_version = "2"

    def __init__(self, *, n_factors: int = 3, priors: dict[str, float] | None = None,
                 structures: tuple[str, ...] = STRUCTURES, stacking: str = "inner_lopo",
                 sampler: str = "nutpie", draws: int = 2000, tune: int = 2000, chains: int = 4,
                 inner_draws: int = 300, inner_tune: int = 300, inner_chains: int = 2,
                 target_accept: float = 0.9, random_seed: int = 0,
                 n_predictive_draws: int = 1000, progressbar: bool | None = None):
        self.n_factors = n_factors
        self.priors = priors
        self.structures = structures
        self.stacking = stacking
        self.sampler = sampler
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.inner_draws = inner_draws
        self.inner_tune = inner_tune
        self.inner_chains = inner_chains
        self.target_accept = target_accept
        self.random_seed = random_seed
        self.n_predictive_draws = n_predictive_draws
        self.progressbar = progressbar

    @property
    def idata_(self):
        # A loaded model holds the file's groups and builds the InferenceData on first access
        # (importing ArviZ costs more than the rest of a load; see _netcdf_groups).
        from rmpredict.models._netcdf_groups import as_inference_data

        source = self.stored_idata()
        if source is None:
            raise AttributeError("idata_")
        self.__dict__["_idata"] = source = as_inference_data(source)
        return source

    def stored_idata(self):
        """``idata_`` as held: an InferenceData, or the groups a load read (``NetCDFGroups``:
        ``groups()``, ``obj[name]``, ``name in obj``), without importing ArviZ; None unfitted."""
        return self.__dict__.get("_idata")

    @idata_.setter
    def idata_(self, value: Any) -> None:
        self.__dict__["_idata"] = value

    # -- configuration ---------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {"n_factors": int(self.n_factors), "priors": self._recorded_priors(),
                "structures": list(self.structures), "stacking": self.stacking,
                "sampler": self.sampler, "draws": int(self.draws), "tune": int(self.tune),
                "chains": int(self.chains), "inner_draws": int(self.inner_draws),
                "inner_tune": int(self.inner_tune), "inner_chains": int(self.inner_chains),
                "target_accept": float(self.target_accept),
                "random_seed": int(self.random_seed),
                "n_predictive_draws": int(self.n_predictive_draws)}

    def _recorded_priors(self) -> dict[str, float]:
        # Prior keys added after a release are recorded only when set to something else, so
        # the identity hash of files saved before the key existed still matches.
        return {k: v for k, v in self._priors().items()
                if k not in LATER_PRIOR_KEYS or v != DEFAULT_PRIORS[k]}

    def _priors(self) -> dict[str, float]:
        unknown = set(self.priors or {}) - set(DEFAULT_PRIORS)
        if unknown:
            raise InvalidParameterError(
                f"The 'priors' parameter has unknown key(s) {sorted(unknown)}; valid keys: "
                f"{sorted(DEFAULT_PRIORS)}.")
        return {k: float(v) for k, v in (DEFAULT_PRIORS | (self.priors or {})).items()}

    def _validate_params(self) -> None:
        for name in ("draws", "tune", "chains", "inner_draws", "inner_tune", "inner_chains",
                     "n_predictive_draws"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < (0 if "tune" in name else 1):
                raise InvalidParameterError(
                    f"The '{name}' parameter of HierarchicalRMPredictor must be a positive "
                    f"integer. Got {value!r} instead.")
        if not 0.5 <= float(self.target_accept) < 1.0:
            raise InvalidParameterError(
                "The 'target_accept' parameter of HierarchicalRMPredictor must be in "
                f"[0.5, 1). Got {self.target_accept!r} instead.")
        structures = tuple(self.structures) if isinstance(self.structures, list | tuple) \
            else ()
        if not structures or any(s not in STRUCTURES for s in structures) \
                or len(set(structures)) != len(structures):
            raise InvalidParameterError(
                "The 'structures' parameter of HierarchicalRMPredictor must be a non-empty "
                f"tuple of distinct names from {list(STRUCTURES)}. Got {self.structures!r} "
                "instead.")
        if self.stacking not in STACKING:
            raise InvalidParameterError(
                f"The 'stacking' parameter of HierarchicalRMPredictor must be one of "
                f"{list(STACKING)}. Got {self.stacking!r} instead.")
        from rmpredict.models._sampling import SAMPLERS

        if self.sampler not in SAMPLERS:
            raise InvalidParameterError(
                f"The 'sampler' parameter of HierarchicalRMPredictor must be one of "
                f"{list(SAMPLERS)}. Got {self.sampler!r} instead.")

    @property
    def model_id(self) -> str:
        """Identity hash of the model type, version and configuration."""
        from rmpredict._provenance import hash_json

        if getattr(self, "_legacy_v1", None) is not None:
            return self._legacy_v1.model_id
        return hash_json([self._model_type, self.model_version, self._config()])

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, results: TableLike = None, *,
            holdout: Sequence[bool] | Sequence[str] | None = None) -> HierarchicalRMPredictor:
        """Fit the stack on a results table.

        Parameters
        ----------
        results : DataFrame, path or None, default=None
            One row per (model, method) with the four category accuracies (fractions); ``None``
            uses the bundled reference data.
        holdout : boolean mask or list of model ids, optional
            Rows to leave out. They are dropped before anything is learned (vocabularies,
            scaling, stacking weights), so ``fit(df, holdout=h)`` equals ``fit(df[~h])``.

        Returns
        -------
        self
        """
        from rmpredict._provenance import hash_frame

        self._validate_params()
        frame = results if _is_validated(results) else as_results_frame(results)
        frame = frame.reset_index(drop=True)
        keep = np.ones(len(frame), dtype=bool)
        if holdout is not None:
            hold = list(holdout)
            if len(hold) == len(frame) and all(isinstance(h, bool | np.bool_) for h in hold):
                keep = ~np.asarray(hold, dtype=bool)
            else:
                keep = ~frame["model"].isin(set(map(str, hold))).to_numpy()
        train = frame[keep].reset_index(drop=True)
        if len(train) < 2:
            raise InvalidParameterError("At least two result rows must be fitted; the holdout "
                                        "leaves fewer.")
        self.benchmarks_ = self._check_benchmarks(train)
        self.methods_ = tuple(sorted(train["method"].unique()))
        self.n_train_ = int(len(train))
        self.data_hash_ = hash_frame(train)
        self._fit_train(train)
        return self

    def _fit(self, frame: pd.DataFrame) -> None:
        self._fit_train(frame.reset_index(drop=True))

    def _member_settings(self, inner: bool) -> dict[str, Any]:
        if inner:
            return {"draws": int(self.inner_draws), "tune": int(self.inner_tune),
                    "chains": int(self.inner_chains)}
        return {"draws": int(self.draws), "tune": int(self.tune), "chains": int(self.chains)}

    def _fit_member(self, train: pd.DataFrame, structure: str, *, inner: bool,
                    progress: bool) -> StructureFit:
        from rmpredict._provenance import hash_frame

        if inner:
            # Nested evaluation fits "all but publishers A and B" twice (outer A / inner B and
            # outer B / inner A); the fit is a function of its rows and settings, so reuse it.
            key = (hash_frame(train), structure, repr(self._config()))
            if key not in _INNER_FITS:
                if len(_INNER_FITS) >= _INNER_CACHE_SIZE:
                    _INNER_FITS.pop(next(iter(_INNER_FITS)))
                _INNER_FITS[key] = self._new_member(train, structure, inner=True,
                                                    progress=False)
            return _INNER_FITS[key]
        return self._new_member(train, structure, inner=False, progress=progress)

    def _new_member(self, train: pd.DataFrame, structure: str, *, inner: bool,
                    progress: bool) -> StructureFit:
        from rmpredict.features._factors import default_factor_model

        return StructureFit.fit(
            train, structure, factor_model=default_factor_model(int(self.n_factors)),
            n_factors=int(self.n_factors), priors=self._priors(), sampler=self.sampler,
            target_accept=float(self.target_accept), random_seed=int(self.random_seed),
            progressbar=progress, check=not inner, **self._member_settings(inner))

    def _fit_train(self, train: pd.DataFrame) -> None:
        from rmpredict._progress import progress_enabled
        from rmpredict.models._diagnostics import combine_diagnostics

        progress = progress_enabled(self.progressbar)
        structures = tuple(self.structures)
        weights, info = self._stacking(train, structures)
        members = {s: self._fit_member(train, s, inner=False, progress=progress)
                   for s in structures}
        first = members[structures[0]]
        self.members_ = members
        self.stacking_weights_ = weights
        self.stacking_info_ = info
        self.encoding_ = first.encoding
        self.factor_model_ = first.factor_model
        self.seen_publishers_ = first.seen_publishers
        self.feature_names_ = first.encoding.feature_names
        self.diagnostics_ = combine_diagnostics({s: m.diagnostics for s, m in members.items()})
        self.idata_ = _stack_idata(members, structures, train)

    def _stacking(self, train: pd.DataFrame,
                  structures: tuple[str, ...]) -> tuple[dict[str, dict[str, float]], dict]:
        """Stacking weights per method from an inner leave-one-publisher-out over ``train``."""
        from rmpredict.datasets._schema import result_benchmark
        from rmpredict.models._hier_data import _publisher_key
        from rmpredict.models._stacking import stacking_objective, stacking_weights

        methods = sorted(train["method"].unique())
        equal = {m: {s: 1.0 / len(structures) for s in structures} for m in methods}
        pubs = _publisher_key(train)
        groups = sorted(pubs.unique())
        if len(structures) == 1:
            return equal, {"protocol": "single structure"}
        if self.stacking == "none":
            return equal, {"protocol": "none (equal weights)"}
        if len(groups) < 3:
            return equal, {"protocol": "equal weights: inner leave-one-publisher-out needs 3 "
                                       f"or more training publishers ({len(groups)} given)"}
        lpd: dict[str, list[np.ndarray]] = {m: [] for m in methods}
        for group in groups:
            held = (pubs == group).to_numpy()
            inner_train, inner_test = train[~held].reset_index(drop=True), train[held]
            inner_test = inner_test[inner_test["method"].isin(set(inner_train["method"]))]
            # A benchmark the inner fit has no rows of cannot be scored by it.
            inner_test = inner_test[result_benchmark(inner_test).isin(
                set(result_benchmark(inner_train))).to_numpy()]
            if inner_test.empty:
                continue
            cols = []
            for s in structures:
                member = self._fit_member(inner_train, s, inner=True, progress=False)
                cols.append(member.log_density(inner_test))
                log.info("stacking: inner fold without %s, structure %s: %.1f s sampling, "
                         "%.1f s compiling", group, s, member.diagnostics["sample_seconds"],
                         member.diagnostics["compile_seconds"])
            block = np.column_stack(cols)
            for m in methods:
                rows = (inner_test["method"] == m).to_numpy()
                if rows.any():
                    lpd[m].append(block[rows])
        weights, scores = {}, {}
        for m in methods:
            mat = np.concatenate(lpd[m]) if lpd[m] else np.zeros((0, len(structures)))
            w = stacking_weights(mat)
            weights[m] = {s: float(v) for s, v in zip(structures, w)}
            scores[m] = {"n_rows": int(len(mat)),
                         "mean_log_score": {s: float(mat[:, j].mean()) if len(mat) else None
                                            for j, s in enumerate(structures)},
                         "stacked_log_score": stacking_objective(w, mat) if len(mat) else None}
        return weights, {"protocol": "inner leave-one-publisher-out over the training rows",
                         "n_inner_folds": len(groups), "held_out_log_score": scores,
                         "inner_sampler": self._member_settings(True)}

    # -- prediction ------------------------------------------------------------------------
    def _resolve_method(self, method: str) -> list[str]:
        """``"all"``, a fitted method, or ``"new"`` (a recipe never fitted)."""
        if method == "all" or method in self.methods_:
            return super()._resolve_method(method)
        if method == NEW_METHOD:
            warnings.warn(
                f"method {NEW_METHOD!r} is predicted as a new RM recipe drawn from the fitted "
                f"population of methods ({', '.join(self.methods_)}), so intervals are wide.",
                ExtrapolationWarning, stacklevel=3)
            return [NEW_METHOD]
        known = ["all", *self.methods_, NEW_METHOD]
        near = difflib.get_close_matches(str(method), known, n=1, cutoff=0.5)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        shown = method if isinstance(method, str) and re.fullmatch(r"[\w\-.: ]{0,60}", method) \
            else repr(method)[:60]
        raise InvalidParameterError(
            f"The 'method' parameter of {type(self).__name__}.predict must be one of "
            f"{known} ('{NEW_METHOD}': a recipe not fitted). Got {shown!r} instead.{hint}")

    def stacking_weights_for(self, method: str) -> dict[str, float]:
        """Stacking weights used for ``method`` (a new recipe: the mean over fitted methods)."""
        if method in self.stacking_weights_:
            return dict(self.stacking_weights_[method])
        names = list(next(iter(self.stacking_weights_.values())))
        return {s: float(np.mean([w[s] for w in self.stacking_weights_.values()]))
                for s in names}

    def _predict(self, frame: pd.DataFrame, index: pd.DataFrame, ci_prob: float,
                 benchmark: str = DEFAULT_BENCHMARK) -> PredictionResult:
        if getattr(self, "_legacy_v1", None) is not None:
            return self._legacy_v1.predict(self, frame, index, ci_prob)
        enc = self.encoding_
        feats = model_features(frame, enc, self.factor_model_)
        pos = {m: i for i, m in enumerate(feats.models)}
        row_model = index["model"].map(pos).to_numpy(dtype=np.int64)
        notes = self._notes(feats)
        post = next(iter(self.members_.values())).posterior
        n_draws = min(int(self.n_predictive_draws), post.sizes["chain"] * post.sizes["draw"])
        methods = index["method"].to_numpy()
        targets = benchmark_targets(benchmark)
        n_cat = len(targets) - 1
        logit_mean = np.empty((len(index), n_cat))
        logit_cov = np.empty((len(index), n_cat, n_cat))
        for method in pd.unique(methods):
            rows = np.flatnonzero(methods == method)
            parts = [(w, *self.members_[structure].moments(feats, row_model[rows], method,
                                                           n_draws, benchmark))
                     for structure, w in self.stacking_weights_for(method).items() if w > 0]
            logit_mean[rows], logit_cov[rows] = mix_moments(parts)

        def draw_source(sel: np.ndarray) -> np.ndarray:
            return self._joint_draws(feats, row_model[sel], methods[sel], n_draws, benchmark)

        return PredictionResult.from_logit_moments(
            index[["model", "method"]], targets, logit_mean, logit_cov, ci_prob,
            draw_source=draw_source, predictor=self.name,
            provenance=self._provenance(model_id=self.model_id,
                                        random_seed=int(self.random_seed)),
            notes=notes)

    def _joint_draws(self, feats, row_model: np.ndarray, methods: np.ndarray,
                     n_draws: int, benchmark: str = DEFAULT_BENCHMARK) -> np.ndarray:
        """Joint predictive draws ``(n_draws, rows, C + 1)`` on ``benchmark``: each structure
        fills its stacking share of the draws (common random numbers keyed by candidate,
        method and slot)."""
        n_targets = len(benchmark_targets(benchmark))
        draws = np.empty((n_draws, len(row_model), n_targets), dtype=np.float32)
        for method in pd.unique(methods):
            rows = np.flatnonzero(methods == method)
            alloc = _allocate(self.stacking_weights_for(method), n_draws)
            start = 0
            # Largest share first: a structure draws the random numbers of every slot up to
            # its last one, so this order draws the fewest.
            for structure, count in sorted(alloc.items(), key=lambda kv: -kv[1]):
                if count == 0:
                    continue
                member = self.members_[structure]
                # Evenly spread samples of this structure's posterior (distinct: count <= S).
                take = np.unique(np.linspace(0, n_draws - 1, count).round().astype(int))
                draws[start:start + count, rows] = member.predictive(
                    feats, row_model[rows], method, n_draws, int(self.random_seed), take=take,
                    slot_start=start, benchmark=benchmark)
                start += count
        return draws

    def _notes(self, feats) -> pd.DataFrame:
        enc = self.encoding_
        obs = feats.observed_matrix()
        lo, hi = np.asarray(enc.train_min), np.asarray(enc.train_max)
        margin = EXTRAPOLATION_MARGIN * (hi - lo)
        names = enc.base_feature_names
        support = enc.stage_support
        with np.errstate(invalid="ignore"):
            outside = np.isfinite(obs) & ((obs < lo - margin) | (obs > hi + margin))
        outside[:, [j for j, n in enumerate(names) if n.startswith("stage_")]] = False
        stages = feats.stage_label or ["instruct"] * len(feats.models)
        weak = {s: f"stage_{s} (seen in {support.get(s, 0)} training models, fewer than "
                   f"{MIN_STAGE_SUPPORT})" for s in set(stages)
                if support and support.get(s, 0) < MIN_STAGE_SUPPORT}
        extrap = [""] * len(feats.models)
        for i in np.flatnonzero(outside.any(axis=1) | np.isin(stages, list(weak))):
            bad = [names[j] for j in np.flatnonzero(outside[i])]
            if stages[i] in weak:
                bad.append(weak[stages[i]])
            extrap[i] = ",".join(bad)
        notes = pd.DataFrame({
            "model": feats.models, "n_benchmarks": feats.n_benchmarks,
            "publisher_seen": np.isin(feats.publisher, self.seen_publishers_),
            "stage_assumed_instruct": feats.stage_missing, "extrapolated": extrap})
        flagged = notes[notes["extrapolated"] != ""]
        if len(flagged):
            shown = "; ".join(f"{m} ({e})" for m, e in
                              zip(flagged["model"].head(5), flagged["extrapolated"].head(5)))
            more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
            warnings.warn(
                f"{len(flagged)} candidate(s) lie outside the training range of their features "
                f"or stages: "
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
    def structure_idata(self, structure: str):
        """One structure's posterior, sample statistics and pointwise log likelihood."""
        self._check_fitted()
        if structure not in getattr(self, "members_", {}):
            raise InvalidParameterError(
                f"Unknown structure {structure!r}; this model has "
                f"{list(getattr(self, 'members_', {}))}.")
        return self.members_[structure].idata

    def compare(self, **kwargs):
        """``arviz.compare`` (PSIS-LOO over training rows) of the fitted structures.

        Row-wise LOO rewards structures that borrow strength within a publisher; the stacking
        weights come from leave-one-publisher-out instead (see ``stacking_info_``).
        """
        from rmpredict.models._backend import import_arviz

        az = import_arviz()
        self._check_fitted()
        with warnings.catch_warnings():
            # ArviZ 0.2x calls DataFrame.sort_values(inplace=True), deprecated in pandas 3.1.
            warnings.filterwarnings("ignore", message="The inplace keyword")
            return az.compare({s: m.idata for s, m in self.members_.items()}, **kwargs)

    def summary(self):
        """Posterior summary of the population parameters, stacking weights and diagnostics."""
        from rmpredict.models._summary import Summary

        self._check_fitted()
        return Summary.from_predictor(self)

    def thin(self, every: int) -> HierarchicalRMPredictor:
        """Keep every ``every``-th draw of each chain of every structure (smaller files)."""
        from rmpredict.models._backend import import_arviz
        from rmpredict.models._model_io import fit_data_frame

        self._check_fitted()
        every = int(every)
        if every <= 1:
            return self
        az = import_arviz()
        train = fit_data_frame(self.idata_).drop(columns=["_weight"])
        for member in self.members_.values():
            groups = {g: member.idata[g].isel(draw=slice(None, None, every))
                      for g in member.idata.groups()}
            member.idata = az.InferenceData(**groups)
            member._post.clear()
        self.idata_ = _stack_idata(self.members_, tuple(self.members_), train)
        return self

    # -- persistence -----------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> str:
        """Save the fitted model as netCDF InferenceData (atomic); return the file's sha256."""
        from rmpredict.models._model_io import save_predictor

        self._check_fitted()
        if getattr(self, "_legacy_v1", None) is not None:
            raise InvalidParameterError("A version-1 model file is read-only; refit with this "
                                        "rmpredict to save a version-2 model.")
        return save_predictor(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> HierarchicalRMPredictor:
        """Load a model saved by :meth:`save`, checking identity, version and content hash."""
        from rmpredict.models._model_io import load_predictor

        return load_predictor(cls, path)


def _allocate(weights: dict[str, float], n: int) -> dict[str, int]:
    """Split ``n`` draws between structures in proportion to ``weights`` (largest remainder)."""
    names = list(weights)
    w = np.array([weights[s] for s in names], dtype=float)
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    for j in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[j] += 1
    return dict(zip(names, counts.tolist()))


def _stack_idata(members: dict[str, StructureFit], structures: tuple[str, ...],
                 train: pd.DataFrame):
    """One InferenceData: the first structure in the standard groups, others suffixed."""
    import xarray as xr

    first = members[structures[0]].idata
    idata = first.copy()
    for s in structures[1:]:
        other = members[s].idata
        idata.add_groups({f"{g}_{s}": getattr(other, g) for g in other.groups()})
    data = {}
    for col in train.columns:
        values = train[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            data[col] = ("row", values.to_numpy(dtype=float))
        else:
            data[col] = ("row", values.astype(object).where(values.notna(), "").astype(str)
                         .to_numpy(dtype=str))
    data["_weight"] = ("row", np.ones(len(train)))
    idata.add_groups({"fit_data": xr.Dataset(data)})
    idata.attrs["structures"] = list(structures)
    return idata

