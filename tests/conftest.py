"""Shared test configuration: markers, seeded fixtures, figure hygiene."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

if TYPE_CHECKING:
    from rmpredict.models import PredictionResult

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    skip_slow = pytest.mark.skip(reason="slow: pass --run-slow to run")
    has_cuda = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch

            has_cuda = torch.cuda.is_available()
        except ImportError:
            pass
    skip_gpu = pytest.mark.skip(reason="gpu: needs a CUDA device")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator; tests must not touch the global numpy state."""
    return np.random.default_rng(20251127)


@pytest.fixture(autouse=True)
def _close_figures():
    """Fail-safe: close matplotlib figures a test leaves open."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        import matplotlib.pyplot as plt

        plt.close("all")


# -- synthetic joint predictions (decisions and plots tests) ----------------------------

SYNTHETIC_TARGETS = ("chat", "chat_hard", "safety", "reasoning", "score")


def synthetic_result(rng: np.random.Generator, *, n: int = 8, methods=("regression",),
                     n_draws: int = 2000, ties: bool = False) -> PredictionResult:
    """Joint normal draws with a shared factor (correlated candidates), fractions in [0, 1]."""
    from rmpredict.models import PredictionResult

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
    cats = [np.clip(score + rng.normal(0, 0.02, score.shape), 0, 1) for _ in SYNTHETIC_TARGETS[:-1]]
    draws = np.stack([*cats, np.clip(score, 0, 1)], axis=2)
    return PredictionResult.from_draws(idx, SYNTHETIC_TARGETS, draws, 0.9, predictor="synthetic",
                                       provenance={"model_id": "synthetic", "seed": 1})


@pytest.fixture
def make_result(rng):
    def make(**kwargs):
        return synthetic_result(rng, **kwargs)

    return make


@pytest.fixture
def one_torch_thread():
    """Tiny models run faster on one thread, and far faster when other jobs share the CPU.

    Test folders that run tiny models request it from an autouse fixture of their conftest.
    """
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
