"""Out-of-sample evaluation: metrics, leave-one-publisher-out cross-validation and reports.

The evaluation plots live in :mod:`rmpredict.plots`; ``plot_calibration``,
``plot_coverage_at_k`` and ``plot_predicted_vs_observed`` are re-exported here (imported on
first use).
"""

from typing import Any

from rmpredict.evaluation._cv import EvaluationResult, leave_one_publisher_out
from rmpredict.evaluation._metrics import (
    coverage_at_k,
    crps_draws,
    crps_gaussian,
    interval_coverage,
    mae,
    mean_coverage_at_k,
    rmse,
    spearman,
)
from rmpredict.evaluation._report import write_report

__all__ = [
    "EvaluationResult",
    "coverage_at_k",
    "crps_draws",
    "crps_gaussian",
    "interval_coverage",
    "leave_one_publisher_out",
    "mae",
    "mean_coverage_at_k",
    "plot_calibration",
    "plot_coverage_at_k",
    "plot_predicted_vs_observed",
    "rmse",
    "spearman",
    "write_report",
]

_PLOTS = ("plot_calibration", "plot_coverage_at_k", "plot_predicted_vs_observed")


def __getattr__(name: str) -> Any:
    if name in _PLOTS:  # thin re-export; rmpredict.plots is the one plotting layer
        import rmpredict.plots

        return getattr(rmpredict.plots, name)
    raise AttributeError(f"module 'rmpredict.evaluation' has no attribute {name!r}")
