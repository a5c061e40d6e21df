"""Synthetic PredictionResults with seeded, correlated joint draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.models import PredictionResult

TARGETS = ("chat", "chat_hard", "safety", "reasoning", "score")


def synthetic_result(rng: np.random.Generator, *, n: int = 8, methods=("regression",),
                     n_draws: int = 2000, ties: bool = False) -> PredictionResult:
    """Joint normal draws with a shared factor (correlated candidates), fractions in [0, 1]."""
    models = [f"org/model-{i}" for i in range(n)]
    idx = pd.DataFrame({
        "row": np.tile(np.arange(n), len(methods)),
        "model": models * len(methods),
        "method": np.repeat(np.array(methods, dtype=object), n),
    })
    m = len(idx)
    loadings = rng.normal(0, 0.03, size=(m, 2))
    cov = loadings @ loadings.T + np.diag(rng.uniform(0.0002, 0.003, m))
    mean = rng.uniform(0.6, 0.8, m)
    score = rng.multivariate_normal(mean, cov, size=n_draws)
    if ties:
        # Round to whole points so ties between candidates happen within draws.
        score = np.round(score, 2)
    cats = [np.clip(score + rng.normal(0, 0.02, score.shape), 0, 1) for _ in TARGETS[:-1]]
    draws = np.stack([*cats, np.clip(score, 0, 1)], axis=2)
    return PredictionResult.from_draws(idx, TARGETS, draws, 0.9, predictor="synthetic",
                                       provenance={"model_id": "synthetic", "seed": 1})


@pytest.fixture
def make_result(rng):
    def make(**kwargs):
        return synthetic_result(rng, **kwargs)

    return make
