"""Predictors of RewardBench accuracy: the Bayesian hierarchical model and baselines.

The baselines (scikit-learn / statsmodels) load on first use, so loading a released model for
``rmpredict rank`` does not import them.
"""

from __future__ import annotations

import importlib
from typing import Any

from rmpredict.models._base import BaseRMPredictor
from rmpredict.models._hierarchical import HierarchicalRMPredictor
from rmpredict.models._prediction import PredictionResult

_BASELINES = ("BestSingleBenchmark", "ElasticNetBaseline", "MeanBaseline", "OLSBaseline",
              "RidgeBaseline")

__all__ = ["BaseRMPredictor", "HierarchicalRMPredictor", "PredictionResult", *_BASELINES]


def __getattr__(name: str) -> Any:
    if name in _BASELINES:
        return getattr(importlib.import_module("rmpredict.models._baselines"), name)
    raise AttributeError(f"module 'rmpredict.models' has no attribute {name!r}")
