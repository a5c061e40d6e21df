"""A stub predictor with the parts the trust flags read: methods, fitting data, a release card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CARD = """# Model card: stub@1

## Leave-one-publisher-out evaluation
Held-out publishers, overall score.

| predictor | method | MAE | Spearman | coverage@5-10 | cover 50% | cover 90% | n |
|---|---|---|---|---|---|---|---|
| bayes | regression | 3.08 | 0.77 | 0.56 | 0.57 | 0.89 | 34 |
| bayes | bradley_terry | 5.81 | -0.01 | 0.40 | 0.48 | 0.88 | 32 |
| mean | regression | 6.18 | -0.36 | 0.23 | – | – | 34 |
| mean | bradley_terry | 4.72 | -0.46 | 0.11 | – | – | 32 |

## Intended use
"""


@dataclass(frozen=True)
class StubRelease:
    full_name: str
    sha256: str
    card_path: Path


class _IData:
    """The one group of an InferenceData the trust flags read (``fit_data``)."""

    def __init__(self, fit: pd.DataFrame):
        import xarray as xr

        data = {}
        for col in fit.columns:
            values = fit[col]
            if pd.api.types.is_numeric_dtype(values):
                data[col] = ("row", values.to_numpy(dtype=float))
            else:
                data[col] = ("row", values.astype(str).to_numpy(dtype=str))
        self.fit_data = xr.Dataset(data)

    def __contains__(self, group: str) -> bool:
        return group == "fit_data"


class StubPredictor:
    """Returns a fixed result; knows ``methods``, fitting data and (optionally) a release."""

    def __init__(self, result, fit: pd.DataFrame, methods, release=None):
        self.result = result
        self.methods_ = tuple(methods)
        self.idata_ = _IData(fit)
        if release is not None:
            self.release_ = release
        self.calls = []

    def predict(self, candidates, *, method="all", ci_prob=0.9, benchmark="rewardbench"):
        self.calls.append((candidates, method, ci_prob))
        return self.result


def stub_fit(models, methods=("regression", "bradley_terry"), known=(), stages=None):
    """Fitting data: ``known`` models are fitted rows (score 0.8), plus filler models."""
    rows = []
    fillers = [f"train/model-{i}" for i in range(4)]
    stages = stages or {}
    for method in methods:
        for m in [*known, *fillers]:
            rows.append({"model": m, "method": method, "post_training": stages.get(m, "instruct"),
                         "chat": 0.9, "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.85,
                         "score": 0.8 if m in known else 0.7, "_weight": 1.0})
    # One held-out row (weight 0) must not count as known.
    rows.append({**rows[0], "model": "held/out", "_weight": 0.0})
    return pd.DataFrame(rows)


@pytest.fixture
def release(tmp_path):
    card = tmp_path / "card.md"
    card.write_text(CARD, encoding="utf-8")
    return StubRelease("stub@1", "ab" * 32, card)


@pytest.fixture
def stub_predictor(make_result, release):
    """(predictor, result): BT and regression rows, model-1 known, one base-stage model."""
    def make(n=5, methods=("bradley_terry", "regression"), known=("org/model-1",),
             with_release=True, stages=None, n_draws=2000):
        result = make_result(n=n, methods=methods, n_draws=n_draws)
        fit = stub_fit(list(dict.fromkeys(result.index["model"])), known=known, stages=stages)
        fitted = tuple(m for m in methods if m != "my_new")
        return StubPredictor(result, fit, fitted,
                             release if with_release else None), result

    return make


@pytest.fixture
def rng_np():
    return np.random.default_rng(7)
