"""Predictors of RewardBench accuracy: the Bayesian hierarchical model and baselines."""

from rmpredict.models._base import BaseRMPredictor
from rmpredict.models._prediction import PredictionResult

__all__ = ["BaseRMPredictor", "PredictionResult"]
