"""rmpredict's plots: decisions, interval calibration, evaluation and model distances.

Every ``plot_*`` function is pure: it returns a :class:`matplotlib.figure.Figure` (created
without pyplot, never shown) and has a ``*_table`` twin returning the numbers it draws. All
plots share one style (:mod:`rmpredict.plots._figure`).

========================================  ============================================
plot                                       table
========================================  ============================================
:func:`plot_forest`                        :func:`forest_table`
:func:`plot_p_best`                        :func:`p_best_table`
:func:`plot_calibration`                   :func:`calibration_table`
:func:`plot_predicted_vs_observed`         :func:`predicted_vs_observed_table`
:func:`plot_coverage_at_k`                 :func:`coverage_at_k_table`
:func:`plot_distance_heatmap`              :func:`distance_heatmap_table`
========================================  ============================================
"""

from rmpredict.plots._calibration import DEFAULT_PROBS, calibration_table, plot_calibration
from rmpredict.plots._distance import distance_heatmap_table, plot_distance_heatmap
from rmpredict.plots._evaluation import (
    coverage_at_k_table,
    plot_coverage_at_k,
    plot_predicted_vs_observed,
    predicted_vs_observed_table,
)
from rmpredict.plots._ranking_plots import forest_table, p_best_table, plot_forest, plot_p_best

__all__ = [
    "DEFAULT_PROBS",
    "calibration_table",
    "coverage_at_k_table",
    "distance_heatmap_table",
    "forest_table",
    "p_best_table",
    "plot_calibration",
    "plot_coverage_at_k",
    "plot_distance_heatmap",
    "plot_forest",
    "plot_p_best",
    "plot_predicted_vs_observed",
    "predicted_vs_observed_table",
]
