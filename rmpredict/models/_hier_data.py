"""Encoding tables into the arrays of the hierarchical model (training and prediction)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import CATEGORIES
from rmpredict.features._design import datadist_columns
from rmpredict.features._factors import BenchmarkFactorModel

__all__ = ["STAGE_DUMMIES", "ACC_CLIP", "Encoding", "ModelFeatures", "TrainingArrays",
           "build_encoding", "model_features", "training_arrays", "logit"]

STAGE_DUMMIES: tuple[str, ...] = ("base", "sft", "dpo", "rlvr")
"""Post-training stages with their own coefficient; ``instruct`` is the reference level."""

ACC_CLIP = 0.005
"""Accuracies are clipped to [ACC_CLIP, 1 - ACC_CLIP] before the logit (0 and 1 have no logit)."""


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, ACC_CLIP, 1.0 - ACC_CLIP)
    return np.log(p) - np.log1p(-p)


def _publisher_key(frame: pd.DataFrame) -> pd.Series:
    pub = frame["publisher"] if "publisher" in frame else pd.Series(None, index=frame.index)
    pub = pub.astype(object).where(pub.notna() & (pub.astype(str).str.strip() != ""), None)
    # A model without a publisher is its own (unseen) publisher.
    return pd.Series([p if p is not None else f"?{m}" for p, m in zip(pub, frame["model"])],
                     index=frame.index, dtype=object)


@dataclass
class Encoding:
    """Vocabulary and scaling learned at fit time (JSON-serialisable)."""

    methods: list[str]
    publishers: list[str]
    n_factors: int
    datadist: list[str]
    lp_center: float
    lp_scale: float
    lt_center: float
    lt_scale: float
    dd_center: list[float] = field(default_factory=list)
    dd_scale: list[float] = field(default_factory=list)
    train_min: list[float] = field(default_factory=list)
    train_max: list[float] = field(default_factory=list)

    @property
    def feature_names(self) -> list[str]:
        return ([f"factor_{i + 1}" for i in range(self.n_factors)]
                + ["log_params", "log_tokens"] + [f"stage_{s}" for s in STAGE_DUMMIES]
                + list(self.datadist))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Encoding:
        return cls(**state)


@dataclass
class ModelFeatures:
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


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats; an absent column is all missing (NaN)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _unique_models(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates("model", keep="first").reset_index(drop=True)


def build_encoding(frame: pd.DataFrame, weights: np.ndarray, n_factors: int) -> Encoding:
    """Learn vocabularies and feature scaling from a validated results frame."""
    models = _unique_models(frame)
    pub = _publisher_key(models)
    lp, lt = np.log(_numeric(models, "params_b")), np.log(_numeric(models, "pretrain_tokens_t"))
    dd_cols = [c for c in datadist_columns(frame) if frame.loc[weights > 0, c].notna().sum() >= 3]
    dd = models[dd_cols].to_numpy(dtype=float) if dd_cols else np.zeros((len(models), 0))

    def center_scale(v: np.ndarray) -> tuple[float, float]:
        v = v[np.isfinite(v)]
        if len(v) < 2 or np.std(v) == 0:
            return (float(v.mean()) if len(v) else 0.0), 1.0
        return float(v.mean()), float(v.std())

    lpc, lps = center_scale(lp)
    ltc, lts = center_scale(lt)
    ddcs = [center_scale(dd[:, j]) for j in range(dd.shape[1])]
    return Encoding(
        methods=sorted(frame["method"].unique()), publishers=sorted(set(pub)),
        n_factors=int(n_factors), datadist=dd_cols,
        lp_center=lpc, lp_scale=lps, lt_center=ltc, lt_scale=lts,
        dd_center=[c for c, _ in ddcs], dd_scale=[s for _, s in ddcs])


def model_features(frame: pd.DataFrame, enc: Encoding,
                   factor_model: BenchmarkFactorModel) -> ModelFeatures:
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
    return ModelFeatures(
        models=list(models["model"]), factor_mean=mean, factor_chol=chol, n_benchmarks=nobs,
        lp=(lp - enc.lp_center) / enc.lp_scale, lt=(lt - enc.lt_center) / enc.lt_scale,
        stage=stage, dd=dd, publisher=list(pub),
        stage_missing=stage_missing)


@dataclass
class TrainingArrays:
    """Everything the PyMC graph reads through ``pm.Data`` containers."""

    feats: ModelFeatures
    row_model: np.ndarray
    row_method: np.ndarray
    y: np.ndarray  # (n_rows, 4) logit accuracies
    weight: np.ndarray  # (n_rows,) 1 = fitted, 0 = held out
    model_pub: np.ndarray
    lp_missing: np.ndarray  # indices of models without log params
    lt_missing: np.ndarray
    dd_missing: np.ndarray  # (n_missing, 2): model index, column index

    def signature(self) -> tuple:
        """Shapes that define the compiled graph (data of equal signature reuses it)."""
        return (len(self.feats.models), self.feats.factor_mean.shape[1], len(self.row_model),
                int(self.row_method.max()) + 1, int(self.model_pub.max()) + 1,
                len(self.lp_missing), len(self.lt_missing),
                self.feats.dd.shape[1], len(self.dd_missing))


def training_arrays(frame: pd.DataFrame, weights: np.ndarray, enc: Encoding,
                    factor_model: BenchmarkFactorModel) -> TrainingArrays:
    """Arrays for fitting: rows are (model, method) pairs of ``frame``."""
    feats = model_features(frame, enc, factor_model)
    pos = {m: i for i, m in enumerate(feats.models)}
    row_model = frame["model"].map(pos).to_numpy(dtype=np.int64)
    row_method = frame["method"].map({m: i for i, m in enumerate(enc.methods)}).to_numpy(
        dtype=np.int64)
    y = logit(frame[list(CATEGORIES)].to_numpy(dtype=float))
    pubs = {p: i for i, p in enumerate(enc.publishers)}
    dd_missing = np.argwhere(np.isnan(feats.dd)) if feats.dd.size else np.zeros((0, 2), int)
    return TrainingArrays(
        feats=feats, row_model=row_model, row_method=row_method, y=y,
        weight=np.asarray(weights, dtype=float),
        model_pub=np.array([pubs[p] for p in feats.publisher], dtype=np.int64),
        lp_missing=np.flatnonzero(np.isnan(feats.lp)), lt_missing=np.flatnonzero(
            np.isnan(feats.lt)), dd_missing=dd_missing.astype(np.int64))
