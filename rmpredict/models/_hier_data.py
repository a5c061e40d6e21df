"""Encoding tables into the arrays of the hierarchical model (v2), learned inside a fold.

Everything learned from rows — method and publisher vocabularies, the standardisation of log
parameters, log tokens and data-distribution features, the training range used to flag
extrapolation — is computed from the *training* rows only (:func:`build_encoding`), so a fit on
``df`` with ``holdout=h`` is the same computation as a fit on ``df[~h]``.

Arrays are padded to size buckets (:func:`bucket`): padded rows carry zero likelihood weight
and padded models belong to a padding publisher. Folds of one cross-validation then share
array shapes, hence one compiled graph, and a fit's numbers do not depend on how it was called.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.datasets import CATEGORIES
from rmpredict.datasets._schema import DEFAULT_BENCHMARK, RESULT_BENCHMARKS, result_benchmark
from rmpredict.features._design import datadist_columns
from rmpredict.features._factors import BenchmarkFactorModel

__all__ = ["STAGE_DUMMIES", "ACC_CLIP", "PROMPTS_PER_CATEGORY", "STRUCTURES", "Encoding",
           "ModelFeatures", "TrainingArrays", "build_encoding", "model_features",
           "training_arrays", "logit", "bucket", "measurement_sd", "structure_mask",
           "active_features", "prompt_counts", "PROMPTS_PER_CATEGORY_RB2"]

STAGE_DUMMIES: tuple[str, ...] = ("base", "sft", "dpo", "rlvr")
"""Post-training stages with their own coefficient; ``instruct`` is the reference level."""

ACC_CLIP = 0.005
"""Accuracies are clipped to [ACC_CLIP, 1 - ACC_CLIP] before the logit (0 and 1 have no logit)."""

PROMPTS_PER_CATEGORY: dict[str, float] = {
    "chat": 358.0, "chat_hard": 456.0, "safety": 740.0,
    # math-prm (447 prompts) and the five code subsets (984) weigh equally in the section
    # score, so the effective binomial size is 1 / (0.25/447 + 0.25/984).
    "reasoning": 1229.0,
}
"""Prompts behind each RewardBench v1 section score (Lambert et al. 2024, Table 1): the
measurement layer's binomial sample sizes."""

PROMPTS_PER_CATEGORY_RB2: dict[str, float] = {
    "factuality": 475.0, "precise_if": 160.0, "math": 183.0, "safety": 450.0,
    "focus": 495.0, "ties": 102.0,
}
"""Prompts of each RewardBench 2 subset (Malik et al. 2025, Table 1; best-of-4 accuracy, so
still one Bernoulli outcome per prompt). ``ties`` is scored by a weighted rule, not plain
accuracy; its prompt count is used as the binomial size all the same (an approximation)."""

_PROMPTS = {"rewardbench": PROMPTS_PER_CATEGORY, "rewardbench2": PROMPTS_PER_CATEGORY_RB2}

MIN_MODELS = 16
MIN_PUBLISHERS = 16
"""Smallest padded sizes. Padding costs sampling time (a 64-model graph sampled the bundled
folds ~50% slower than a 32-model one), compiling a new size costs 30-110 s once per process."""

STRUCTURES: tuple[str, ...] = ("full", "capability", "intercept")
"""Candidate structures combined by stacking (see :func:`structure_mask`)."""


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, ACC_CLIP, 1.0 - ACC_CLIP)
    return np.log(p) - np.log1p(-p)


def bucket(n: int, minimum: int = 16) -> int:
    """Smallest power of two ``>= max(n, minimum)``.

    Coarse on purpose: each distinct size is one more graph compilation (tens of seconds),
    and the folds of a cross-validation then share one or two sizes. Padded entries are
    independent standard-normal latents, cheap for the sampler.
    """
    size = int(minimum)
    while size < n:
        size *= 2
    return size


def prompt_counts(cells: list[tuple[str, str]] | None = None) -> np.ndarray:
    """Binomial sizes of ``(benchmark, category)`` cells (default: the v1 categories)."""
    cells = cells if cells is not None else [(DEFAULT_BENCHMARK, c) for c in CATEGORIES]
    return np.array([_PROMPTS[b][c] for b, c in cells], dtype=float)


def measurement_sd(acc: np.ndarray, n_prompts: np.ndarray | None = None) -> np.ndarray:
    """Binomial sampling SD of category accuracies on the logit scale (delta method).

    ``acc`` has the categories on its last axis; ``sd = 1 / sqrt(n_c p (1 - p))``, with
    ``n_prompts`` the sizes of those categories (default: RewardBench v1's four).
    """
    p = np.clip(acc, ACC_CLIP, 1.0 - ACC_CLIP)
    n = prompt_counts() if n_prompts is None else n_prompts
    return 1.0 / np.sqrt(n * p * (1.0 - p))


def _publisher_key(frame: pd.DataFrame) -> pd.Series:
    pub = frame["publisher"] if "publisher" in frame else pd.Series(None, index=frame.index)
    pub = pub.astype(object).where(pub.notna() & (pub.astype(str).str.strip() != ""), None)
    # A model without a publisher is its own (unseen) publisher.
    return pd.Series([p if p is not None else f"?{m}" for p, m in zip(pub, frame["model"])],
                     index=frame.index, dtype=object)


@dataclass
class Encoding:
    """Vocabulary and scaling learned from the training rows (JSON-serialisable).

    Feature layout (``feature_names``): ``K`` capability factors, log parameters, log tokens,
    stage dummies, data-distribution features, then the within-publisher deviations of the
    capability block (factors and log parameters) — the Mundlak terms.
    """

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
    stage_support: dict[str, int] = field(default_factory=dict)
    benchmarks: list[str] = field(default_factory=lambda: [DEFAULT_BENCHMARK])
    """Benchmarks of the training rows; their categories are the model's cells."""

    @property
    def cells(self) -> list[tuple[str, str]]:
        """``(benchmark, category)`` of each position of the category axis."""
        return [(b, c) for b in self.benchmarks for c in RESULT_BENCHMARKS[b]]

    def cell_index(self, benchmark: str) -> np.ndarray:
        """Positions of ``benchmark``'s categories on the category axis."""
        return np.array([i for i, (b, _) in enumerate(self.cells) if b == benchmark],
                        dtype=np.int64)

    @property
    def aux_names(self) -> list[str]:
        """Features imputed by the joint feature model when missing."""
        return ["log_params", "log_tokens", *self.datadist]

    @property
    def capability_names(self) -> list[str]:
        return [*(f"factor_{i + 1}" for i in range(self.n_factors)), "log_params"]

    @property
    def base_feature_names(self) -> list[str]:
        return ([f"factor_{i + 1}" for i in range(self.n_factors)]
                + ["log_params", "log_tokens"] + [f"stage_{s}" for s in STAGE_DUMMIES]
                + list(self.datadist))

    @property
    def feature_names(self) -> list[str]:
        return [*self.base_feature_names, *(f"within_{n}" for n in self.capability_names)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Encoding:
        return cls(**state)


def active_features(enc: Encoding, mask: np.ndarray) -> list[str]:
    """Names of the features ``mask`` switches on."""
    return [n for n, on in zip(enc.feature_names, mask) if on > 0]


def structure_mask(enc: Encoding, structure: str, *, definition: str = "current") -> np.ndarray:
    """0/1 mask over ``enc.feature_names`` selecting the features a structure uses.

    ``full``: every feature with within-publisher (Mundlak) deviations, so slopes within a
    publisher's size ladder and between publishers can differ; ``capability``: factors and log
    parameters with one pooled slope each (no deviations), the structure that transfers a
    within-family slope to a new publisher unchanged; ``intercept``: none (intercepts,
    publisher and run effects only: the Bayesian version of "predict the mean"). The stack
    weighs split against pooled slopes and against no benchmark signal at all.
    ``definition="2026.12"`` gives the first version-2 release's capability structure (with
    within terms), for files that did not store their feature list.
    """
    names = enc.feature_names
    if structure == "full":
        return np.ones(len(names))
    if structure == "capability":
        keep = set(enc.capability_names)
        if definition == "2026.12":
            keep |= {f"within_{n}" for n in enc.capability_names}
        return np.array([1.0 if n in keep else 0.0 for n in names])
    if structure == "intercept":
        return np.zeros(len(names))
    raise ValueError(f"unknown structure {structure!r}; expected one of {STRUCTURES}")


@dataclass
class ModelFeatures:
    """Per-model features; NaN marks a value the joint feature model imputes."""

    models: list[str]
    factor_mean: np.ndarray  # (n, K)
    factor_chol: np.ndarray  # (n, K, K)
    n_benchmarks: np.ndarray  # (n,)
    aux: np.ndarray  # (n, A) standardised log params, log tokens, datadist; NaN if missing
    stage: np.ndarray  # (n, len(STAGE_DUMMIES)) 0/1
    publisher: list[str]
    stage_missing: np.ndarray  # (n,) bool: stage unknown, taken as instruct
    stage_label: list[str] = field(default_factory=list)

    def observed_matrix(self) -> np.ndarray:
        """Base features with factor means and NaN for missing values (for range checks)."""
        a = self.aux
        return np.column_stack([self.factor_mean, a[:, :2], self.stage, a[:, 2:]])


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as floats; an absent column is all missing (NaN)."""
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _unique_models(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates("model", keep="first").reset_index(drop=True)


def _center_scale(v: np.ndarray) -> tuple[float, float]:
    v = v[np.isfinite(v)]
    if len(v) < 2 or np.std(v) == 0:
        return (float(v.mean()) if len(v) else 0.0), 1.0
    return float(v.mean()), float(v.std())


def build_encoding(train: pd.DataFrame, n_factors: int) -> Encoding:
    """Learn vocabularies and feature scaling from the training rows only."""
    models = _unique_models(train)
    pub = _publisher_key(models)
    lp, lt = np.log(_numeric(models, "params_b")), np.log(_numeric(models, "pretrain_tokens_t"))
    dd_cols = [c for c in datadist_columns(train) if train[c].notna().sum() >= 3]
    ddcs = [_center_scale(_numeric(models, c)) for c in dd_cols]
    (lpc, lps), (ltc, lts) = _center_scale(lp), _center_scale(lt)
    stage = models["post_training"].fillna("instruct") if "post_training" in models else \
        pd.Series("instruct", index=models.index)
    support = {s: int((stage == s).sum()) for s in ("instruct", *STAGE_DUMMIES)}
    present = set(result_benchmark(train))
    return Encoding(
        methods=sorted(train["method"].unique()), publishers=sorted(set(pub)),
        n_factors=int(n_factors), datadist=dd_cols,
        lp_center=lpc, lp_scale=lps, lt_center=ltc, lt_scale=lts,
        dd_center=[c for c, _ in ddcs], dd_scale=[s for _, s in ddcs], stage_support=support,
        benchmarks=[b for b in RESULT_BENCHMARKS if b in present])


def model_features(frame: pd.DataFrame, enc: Encoding,
                   factor_model: BenchmarkFactorModel) -> ModelFeatures:
    """Features of each unique model of ``frame`` (candidates or results)."""
    models = _unique_models(frame)
    mean, cov, nobs = factor_model.posterior(models)
    chol = np.linalg.cholesky(cov)
    lp, lt = np.log(_numeric(models, "params_b")), np.log(_numeric(models, "pretrain_tokens_t"))
    aux = [(lp - enc.lp_center) / enc.lp_scale, (lt - enc.lt_center) / enc.lt_scale]
    aux += [(_numeric(models, c) - c0) / s0
            for c, c0, s0 in zip(enc.datadist, enc.dd_center, enc.dd_scale)]
    stage_col = models["post_training"] if "post_training" in models else \
        pd.Series(None, index=models.index)
    stage_missing = stage_col.isna().to_numpy()
    stage = np.column_stack([(stage_col == s).to_numpy(dtype=float) for s in STAGE_DUMMIES])
    return ModelFeatures(
        models=list(models["model"]), factor_mean=mean, factor_chol=chol, n_benchmarks=nobs,
        aux=np.column_stack(aux), stage=stage, publisher=list(_publisher_key(models)),
        stage_missing=stage_missing,
        stage_label=[str(s) if isinstance(s, str) else "instruct" for s in stage_col])


@dataclass
class TrainingArrays:
    """Everything the PyMC graph reads through ``pm.Data`` containers (padded to buckets)."""

    feats: ModelFeatures
    n_models: int  # real models (the first rows of every per-model array)
    rows: np.ndarray  # grid position of each training row, in the order of the table
    data: dict[str, np.ndarray]
    observed: np.ndarray | None = None  # (training rows, cells): the row's benchmark cells

    def signature(self) -> tuple:
        """Shapes that define the compiled graph (data of equal signature reuse it)."""
        return tuple(sorted((k, v.shape) for k, v in self.data.items()))


def _onehot(index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((len(index), size))
    out[np.arange(len(index)), index] = 1.0
    return out


def training_arrays(train: pd.DataFrame, enc: Encoding, factor_model: BenchmarkFactorModel,
                    structure: str = "full") -> TrainingArrays:
    """Padded arrays for fitting ``structure`` on the training rows ``train``.

    Gathers are written as products with one-hot matrices: numba compiles dense dot products
    far faster than advanced indexing and its gradient. Arrays are C-contiguous (numba warns
    about, and slows down on, strided operands).
    """
    feats = model_features(train, enc, factor_model)
    n_m, n_methods = len(feats.models), len(enc.methods)
    n_pub = len(enc.publishers)
    m_pad, p_pad = bucket(n_m, MIN_MODELS), bucket(n_pub + 1, MIN_PUBLISHERS)
    k = feats.factor_mean.shape[1]
    # Rows are the dense (model, method) grid, so their number follows the model bucket; the
    # pairs not observed (and the padding) carry zero weight.
    r_pad = m_pad * n_methods
    pos = {m: i for i, m in enumerate(feats.models)}
    mpos = {m: i for i, m in enumerate(enc.methods)}
    row_model = np.repeat(np.arange(m_pad), n_methods)
    row_method = np.tile(np.arange(n_methods), m_pad)
    at = (train["model"].map(pos).to_numpy(dtype=np.int64) * n_methods
          + train["method"].map(mpos).to_numpy(dtype=np.int64))
    cells = enc.cells
    n_cells = len(cells)
    y = np.zeros((r_pad, n_cells))
    meas = np.ones((r_pad, n_cells))
    weight = np.zeros((r_pad, n_cells))
    observed = np.zeros((len(train), n_cells), dtype=bool)  # cells of each training row
    bench = result_benchmark(train).to_numpy()
    for name in enc.benchmarks:
        sel = np.flatnonzero(bench == name)
        cols = enc.cell_index(name)
        acc = train.iloc[sel][list(RESULT_BENCHMARKS[name])].to_numpy(dtype=float)
        y[at[sel][:, None], cols] = logit(acc)
        meas[at[sel][:, None], cols] = measurement_sd(acc, prompt_counts(
            [cells[c] for c in cols]))
        weight[at[sel][:, None], cols] = 1.0
        observed[sel[:, None], cols] = True
    pubs = {p: i for i, p in enumerate(enc.publishers)}
    model_pub = np.full(m_pad, p_pad - 1, dtype=np.int64)  # the padding publisher
    model_pub[:n_m] = [pubs[p] for p in feats.publisher]
    model_real = np.zeros(m_pad)
    model_real[:n_m] = 1.0
    pub_oh = _onehot(model_pub, p_pad) * model_real[:, None]
    counts = pub_oh.sum(0)
    # Row p averages the capability block over publisher p's training models.
    pub_avg = (pub_oh / np.where(counts > 0, counts, 1.0)).T

    def pad_models(a: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((m_pad, *a.shape[1:]), fill, dtype=float)
        out[:n_m] = a
        return out

    aux = pad_models(feats.aux, np.nan)
    aux_mask = np.isfinite(aux).astype(float) * model_real[:, None]
    chol = pad_models(feats.factor_chol, 0.0)
    chol[n_m:] = np.eye(k)
    data = {
        "factor_mean": pad_models(feats.factor_mean, 0.0), "factor_chol": chol,
        "aux_obs": np.nan_to_num(aux), "aux_mask": aux_mask,
        "stage": pad_models(feats.stage, 0.0),
        "y": y, "meas_sd": meas, "weight": weight,
        "row_model_oh": _onehot(row_model, m_pad), "row_method_oh": _onehot(row_method, n_methods),
        "model_pub_oh": _onehot(model_pub, p_pad), "pub_avg": pub_avg,
        "feature_mask": structure_mask(enc, structure),
    }
    if len(enc.benchmarks) > 1:  # an unused pm.Data would be pruned from the compiled graph
        data["cell_benchmark_oh"] = np.array(
            [[1.0 if b == name else 0.0 for name in enc.benchmarks] for b, _ in cells])
    data = {key: np.ascontiguousarray(v, dtype=float) for key, v in data.items()}
    return TrainingArrays(feats=feats, n_models=n_m, rows=at, data=data, observed=observed)
