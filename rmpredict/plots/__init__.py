"""Decision plots: forest plot, P(best) bars and interval calibration.

Every ``plot_*`` function returns a :class:`matplotlib.figure.Figure` (created without pyplot,
never shown) and has a compute twin returning the tidy table it draws.
"""

from rmpredict.plots._calibration import DEFAULT_PROBS, calibration_table, plot_calibration
from rmpredict.plots._ranking_plots import forest_table, p_best_table, plot_forest, plot_p_best

__all__ = [
    "DEFAULT_PROBS",
    "calibration_table",
    "forest_table",
    "p_best_table",
    "plot_calibration",
    "plot_forest",
    "plot_p_best",
]
