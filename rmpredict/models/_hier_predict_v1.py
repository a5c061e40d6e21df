"""Predictions from version-1 model files (the first released model), kept loadable.

Version 2 replaced the graph (see :mod:`rmpredict.models._hier_graph`); a version-1 file keeps
its own feature layout and predictive, which this module reproduces unchanged.

Vectorised posterior-predictive draws for new candidates, from stored posterior arrays.

No PyMC model is rebuilt: each posterior sample's coefficients are combined with the candidate's
features in numpy. Draw ``s`` of every candidate uses posterior sample ``s`` (joint draws), and
candidates of one unseen publisher share that publisher's new random effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmpredict.features._factors import BenchmarkFactorModel
from rmpredict.models._hier_data import (
    STAGE_DUMMIES,
    Encoding,
    _numeric,
    _publisher_key,
    _unique_models,
)

__all__ = ["LegacyV1", "EncodingV1", "model_features_v1", "predictive_draws", "PREDICTIVE_VARS_V1"]

PREDICTIVE_VARS_V1 = ("alpha", "beta", "u_pub", "sigma", "s_pub", "s_run")

CHUNK_MODELS = 1024


class EncodingV1(Encoding):
    """Version-1 vocabulary and scaling (as stored in version-1 model files): the fields of
    :class:`Encoding` with the version-1 feature layout (no within-publisher terms)."""

    @property
    def feature_names(self) -> list[str]:
        return ([f"factor_{i + 1}" for i in range(self.n_factors)]
                + ["log_params", "log_tokens"] + [f"stage_{s}" for s in STAGE_DUMMIES]
                + list(self.datadist))


@dataclass
@dataclass
class ModelFeaturesV1:
    """Per-model features; NaN marks a value to be imputed inside the model."""

    models: list[str]
    factor_mean: np.ndarray  # (n, K)
    factor_chol: np.ndarray  # (n, K, K)
    n_benchmarks: np.ndarray  # (n,)
    lp: np.ndarray  # (n,) standardised log params, NaN if missing
    lt: np.ndarray  # (n,) standardised log tokens, NaN if missing
    stage: np.ndarray  # (n, len(STAGE_DUMMIES)) 0/1
    dd: np.ndarray  # (n, D) standardised data-distribution features, NaN if missing
    publisher: list[str]
    stage_missing: np.ndarray  # (n,) bool: stage unknown, taken as instruct

    def observed_matrix(self) -> np.ndarray:
        """Feature matrix with factor means and NaN for missing scalars (for range checks)."""
        return np.column_stack([self.factor_mean, self.lp, self.lt, self.stage, self.dd])



def model_features_v1(frame: pd.DataFrame, enc: EncodingV1,
                   factor_model: BenchmarkFactorModel) -> ModelFeaturesV1:
    """Features of each unique model of ``frame`` (candidates or results)."""
    models = _unique_models(frame)
    mean, cov, nobs = factor_model.posterior(models)
    chol = np.linalg.cholesky(cov)
    lp, lt = np.log(_numeric(models, "params_b")), np.log(_numeric(models, "pretrain_tokens_t"))
    stage_col = models["post_training"] if "post_training" in models else \
        pd.Series(None, index=models.index)
    stage_missing = stage_col.isna().to_numpy()
    stage = np.column_stack([(stage_col == s).to_numpy(dtype=float) for s in STAGE_DUMMIES])
    dd = np.column_stack([
        (pd.to_numeric(models[c], errors="coerce").to_numpy(dtype=float) - c0) / s0
        if c in models else np.full(len(models), np.nan)
        for c, c0, s0 in zip(enc.datadist, enc.dd_center, enc.dd_scale)
    ]) if enc.datadist else np.zeros((len(models), 0))
    pub = _publisher_key(models)
    return ModelFeaturesV1(
        models=list(models["model"]), factor_mean=mean, factor_chol=chol, n_benchmarks=nobs,
        lp=(lp - enc.lp_center) / enc.lp_scale, lt=(lt - enc.lt_center) / enc.lt_scale,
        stage=stage, dd=dd, publisher=list(pub),
        stage_missing=stage_missing)




def _publisher_effects(keys: list[str], seen: list[str], publishers: list[str],
                       u_pub: np.ndarray,
                       s_pub: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Publisher effects ``(S, n_groups, R, 4)``, each model's group index, and a singleton mask.

    A fitted publisher uses its posterior draws; an unseen publisher shared by several
    candidates gets one new draw from the population (``N(0, s_pub[r])``) that they all share.
    An unseen publisher with a single candidate is flagged instead: its effect is independent
    per category, so it is folded into that candidate's residual noise (same distribution, half
    the random numbers).
    """
    s_n, _, n_r, n_c = u_pub.shape
    counts: dict[str, int] = {}
    for g in keys:
        counts[g] = counts.get(g, 0) + 1
    # u_pub is ordered by the encoding's publishers, not by the seen ones.
    seen_set = set(seen)
    pos = {g: i for i, g in enumerate(publishers) if g in seen_set}
    singleton = np.array([g not in pos and counts[g] == 1 for g in keys])
    groups = sorted({g for g, one in zip(keys, singleton) if not one})
    eff = np.zeros((s_n, len(groups) + 1, n_r, n_c), dtype=np.float32)  # last: zero effect
    for i, g in enumerate(groups):
        if g in pos:
            eff[:, i] = u_pub[:, pos[g]]
        else:
            eff[:, i] = s_pub[:, :, None] * rng.standard_normal((s_n, n_r, n_c), dtype=np.float32)
    index = {g: i for i, g in enumerate(groups)}
    idx = np.array([len(groups) if one else index[g] for g, one in zip(keys, singleton)],
                   dtype=np.int64)
    return eff, idx, singleton


def predictive_draws(post: dict[str, np.ndarray], enc: EncodingV1, feats: ModelFeaturesV1,
                     seen_publishers: list[str],
                     row_model: np.ndarray, row_method: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Joint posterior-predictive accuracy draws.

    Parameters
    ----------
    post : dict of ndarray
        Posterior arrays with a leading sample axis: ``alpha (S,R,4)``, ``beta (S,R,4,J)``,
        ``u_pub (S,P,R,4)``, ``sigma (S,R,4)``, ``s_run (S,R)``, ``s_pub (S,R)``.
    row_model, row_method : ndarray
        For each output row, the candidate (index into ``feats``) and method (index into
        ``enc.methods``).

    Returns
    -------
    ndarray, shape (S, n_rows, 5), float32
        Accuracy draws for chat, chat_hard, safety, reasoning and their mean (score).
    """
    f32 = np.float32
    s_n = post["alpha"].shape[0]
    n_models, k = feats.factor_mean.shape
    pub_eff, pub_idx, singleton = _publisher_effects(
        feats.publisher, seen_publishers, enc.publishers, post["u_pub"], post["s_pub"], rng)
    beta_t = np.swapaxes(post["beta"], 2, 3).astype(f32)  # (S, R, J, 4) for matmul
    alpha = post["alpha"].astype(f32)
    out = np.empty((s_n, len(row_model), 5), dtype=f32)
    order = np.argsort(row_model, kind="stable")
    # Rows built by ``predict`` are grouped by candidate: slices then replace fancy indexing.
    contiguous = bool(np.all(order == np.arange(len(row_model))))
    for start in range(0, n_models, CHUNK_MODELS):
        stop = min(start + CHUNK_MODELS, n_models)
        m = stop - start
        z = rng.standard_normal((s_n, m, k), dtype=f32)
        chol = feats.factor_chol[start:stop].astype(f32)
        factors = np.broadcast_to(feats.factor_mean[None, start:stop].astype(f32),
                                  (s_n, m, k)).copy()
        # K is tiny (3): explicit loops over it beat batched 3x3 matmuls by far.
        for i in range(k):
            for j in range(i + 1):
                factors[:, :, i] += chol[:, i, j] * z[:, :, j]
        cols = [factors]
        for vals in (feats.lp[start:stop], feats.lt[start:stop]):
            draw = np.broadcast_to(vals.astype(f32), (s_n, m)).copy()
            miss = np.isnan(vals)
            if miss.any():
                draw[:, miss] = rng.standard_normal((s_n, int(miss.sum())), dtype=f32)
            cols.append(draw[:, :, None])
        cols.append(np.broadcast_to(feats.stage[None, start:stop].astype(f32),
                                    (s_n, m, feats.stage.shape[1])))
        if feats.dd.shape[1]:
            dd = np.broadcast_to(feats.dd[None, start:stop].astype(f32),
                                 (s_n, m, feats.dd.shape[1])).copy()
            miss = np.isnan(dd[0])
            if miss.any():
                dd[:, miss] = rng.standard_normal((s_n, int(miss.sum())), dtype=f32)
            cols.append(dd)
        x = np.concatenate(cols, axis=2)  # (S, m, J)
        if contiguous:
            lo_, hi_ = np.searchsorted(row_model, [start, stop])
            sel = slice(int(lo_), int(hi_))
            if hi_ == lo_:
                continue
        else:
            sel = order[(row_model[order] >= start) & (row_model[order] < stop)]
            if not len(sel):
                continue
        local = row_model[sel] - start
        meth = row_method[sel]
        eta = np.empty((s_n, len(local), 4), dtype=f32)
        for r in np.unique(meth):
            rows = meth == r
            xr = x[:, local[rows]]
            eta[:, rows] = alpha[:, r][:, None, :] + np.matmul(xr, beta_t[:, r])
        eta += pub_eff[:, pub_idx[row_model[sel]], meth]
        # Every candidate is a new training run: a new run effect and new residual noise.
        run_sd = post["s_run"][:, meth].astype(f32)  # (S, rows)
        eta += (run_sd * rng.standard_normal(run_sd.shape, dtype=f32))[:, :, None]
        noise_sd = post["sigma"][:, meth].astype(f32)  # (S, rows, 4)
        alone = singleton[row_model[sel]]
        if alone.any():
            s_alone = post["s_pub"][:, meth[alone]].astype(f32)[:, :, None]
            noise_sd[:, alone] = np.sqrt(noise_sd[:, alone] ** 2 + s_alone**2)
        eta += noise_sd * rng.standard_normal(eta.shape, dtype=f32)
        np.negative(eta, out=eta)
        np.exp(eta, out=eta)
        eta += 1.0
        np.reciprocal(eta, out=eta)  # logistic
        out[:, sel, :4] = eta
        out[:, sel, 4] = eta.mean(axis=2)
    return out



class LegacyV1:
    """Prediction for a loaded version-1 model file (the first release), unchanged.

    Only the methods fitted in that file can be predicted; version-1 files predate the stacked
    structures, the joint feature model and ``method="new"``.
    """

    def __init__(self, model_id: str):
        self.model_id = model_id
        self._post = None

    def _posterior(self, model) -> dict[str, np.ndarray]:
        if self._post is None:
            post = model.idata_.posterior
            n = post.sizes["chain"] * post.sizes["draw"]
            take = np.unique(np.linspace(0, n - 1, min(int(model.n_predictive_draws), n))
                             .round().astype(int))
            self._post = {}
            for name in PREDICTIVE_VARS_V1:
                arr = post[name].to_numpy()
                self._post[name] = arr.reshape((n, *arr.shape[2:]))[take]
        return self._post

    def predict(self, model, frame: pd.DataFrame, index: pd.DataFrame, ci_prob: float):
        from rmpredict.datasets import TARGETS
        from rmpredict.exceptions import InvalidParameterError
        from rmpredict.models._prediction import PredictionResult

        enc = model.encoding_
        unknown = sorted(set(index["method"]) - set(enc.methods))
        if unknown:
            raise InvalidParameterError(
                f"A version-1 model predicts only the methods it was fitted on "
                f"({enc.methods}); {unknown} needs a version-2 model (the newest release).")
        feats = model_features_v1(frame, enc, model.factor_model_)
        pos = {m: i for i, m in enumerate(feats.models)}
        row_model = index["model"].map(pos).to_numpy(dtype=np.int64)
        method_pos = {m: i for i, m in enumerate(enc.methods)}
        row_method = index["method"].map(method_pos).to_numpy(dtype=np.int64)
        rng = np.random.default_rng(int(model.random_seed))
        draws = predictive_draws(self._posterior(model), enc, feats, model.seen_publishers_,
                                 row_model, row_method, rng)
        notes = pd.DataFrame({
            "model": feats.models, "n_benchmarks": feats.n_benchmarks,
            "publisher_seen": [p in model.seen_publishers_ for p in feats.publisher],
            "stage_assumed_instruct": feats.stage_missing, "extrapolated": ""})
        return PredictionResult.from_draws(
            index[["model", "method"]], TARGETS, draws, ci_prob, predictor=model.name,
            provenance=model._provenance(model_id=model.model_id,
                                         random_seed=int(model.random_seed)),
            notes=notes)
