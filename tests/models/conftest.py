"""A small fitted hierarchical model shared by the predictor tests (fitted once per session)."""

from __future__ import annotations

import warnings

import pytest
from _hier_settings import SMALL

from rmpredict.exceptions import ConvergenceWarning


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
