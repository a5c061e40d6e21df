"""Out-of-sample evaluation: metrics, leave-one-publisher-out cross-validation and reports."""

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
from rmpredict.evaluation._plots import (
    plot_calibration,
    plot_coverage_at_k,
    plot_predicted_vs_observed,
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
