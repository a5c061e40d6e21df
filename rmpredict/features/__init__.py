"""Feature construction shared by every predictor."""

from rmpredict.features._design import BASELINE_FEATURES, baseline_matrix, datadist_columns
from rmpredict.features._factors import (
    BenchmarkFactorModel,
    default_factor_model,
    leaderboard_matrix,
)

__all__ = [
    "BASELINE_FEATURES",
    "BenchmarkFactorModel",
    "baseline_matrix",
    "datadist_columns",
    "default_factor_model",
    "leaderboard_matrix",
]
