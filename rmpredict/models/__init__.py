"""Predictors of RewardBench accuracy: the Bayesian hierarchical model and baselines.

The baselines (scikit-learn / statsmodels) load on first use, so loading a released model for
``rmpredict rank`` does not import them.

Other packages use the estimator contract through these names: ``as_results_frame`` and
``as_candidates_frame`` validate a table (or ids) into a frame ``fit``/``predict`` accept as is;
``mark_validated`` marks a frame derived from a validated one (a row subset, dropped target
columns) so it is not validated again. The mark is a fingerprint of the content: any later
edit means the frame is validated again on entry.
"""

from __future__ import annotations

import importlib
from typing import Any

from rmpredict.models._base import (
    BaseRMPredictor,
    as_candidates_frame,
    as_results_frame,
    mark_validated,
)
from rmpredict.models._hierarchical import NEW_METHOD, HierarchicalRMPredictor
from rmpredict.models._prediction import PredictionResult, validate_ci_prob

_BASELINES = ("BestSingleBenchmark", "ElasticNetBaseline", "MeanBaseline", "OLSBaseline",
              "RidgeBaseline")

__all__ = ["NEW_METHOD", "BaseRMPredictor", "HierarchicalRMPredictor", "PredictionResult",
           "as_candidates_frame",
           "as_results_frame", "fit_data_frame", "mark_validated", "validate_ci_prob",
           *_BASELINES]


def __getattr__(name: str) -> Any:
    if name in _BASELINES:
        return getattr(importlib.import_module("rmpredict.models._baselines"), name)
    if name == "fit_data_frame":  # the training table stored in a fitted model's file
        return importlib.import_module("rmpredict.models._model_io").fit_data_frame
    raise AttributeError(f"module 'rmpredict.models' has no attribute {name!r}")
