"""Feature construction shared by every predictor."""

from rmpredict.features._design import BASELINE_FEATURES, baseline_matrix, datadist_columns

__all__ = ["BASELINE_FEATURES", "baseline_matrix", "datadist_columns"]
