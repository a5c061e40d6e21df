"""A small fitted hierarchical model shared by the predictor tests (fitted once per session)."""

from __future__ import annotations

import warnings

import pytest

from rmpredict.exceptions import ConvergenceWarning

SMALL = {"draws": 150, "tune": 150, "chains": 2, "random_seed": 1, "progressbar": False}
"""Tiny sampler settings: enough for API tests; diagnostics are judged in benchmarks/."""


@pytest.fixture(scope="session")
def reference_frame():
    from rmpredict.models._base import as_results_frame

    return as_results_frame(None)


@pytest.fixture(scope="session")
def small_model(reference_frame):
    from rmpredict.models import HierarchicalRMPredictor

    model = HierarchicalRMPredictor(**SMALL)
    with warnings.catch_warnings():
        # 150 draws per chain cannot reach ESS >= 400; that warning is expected here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(reference_frame)
    return model
