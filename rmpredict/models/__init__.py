"""Predictors of RewardBench accuracy: the Bayesian hierarchical model and baselines."""

from rmpredict.models._base import BaseRMPredictor
from rmpredict.models._baselines import (
    BestSingleBenchmark,
    ElasticNetBaseline,
    MeanBaseline,
    OLSBaseline,
    RidgeBaseline,
)
from rmpredict.models._hierarchical import HierarchicalRMPredictor
from rmpredict.models._prediction import PredictionResult

__all__ = [
    "BaseRMPredictor",
    "BestSingleBenchmark",
    "ElasticNetBaseline",
    "HierarchicalRMPredictor",
    "MeanBaseline",
    "OLSBaseline",
    "PredictionResult",
    "RidgeBaseline",
]
