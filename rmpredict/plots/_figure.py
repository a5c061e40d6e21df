"""The one figure style of rmpredict's plots; figures are made without pyplot, never shown.

Every ``plot_*`` function of :mod:`rmpredict.plots` is pure: it computes its ``*_table``, draws
it on a :class:`matplotlib.figure.Figure` made here and returns the figure. Figures need no
display, are not registered with pyplot's figure manager and are freed with their last
reference. Sizes, font sizes, colours and the reference diagonal come from this module, so all
plots look alike.
"""

from __future__ import annotations

from typing import Any

from rmpredict.exceptions import InvalidParameterError

__all__ = ["FONT", "TITLE_FONT", "DIAGONAL", "new_axes", "new_grid", "series_color",
           "draw_diagonal", "figure_of"]

FONT = 8
"""Font size of tick labels, axis labels and legends."""
TITLE_FONT = 10
"""Font size of panel titles and figure titles."""
DIAGONAL = {"color": "0.4", "lw": 0.8, "ls": "--"}
"""Line style of reference lines (the calibrated diagonal, y = x)."""


def series_color(i: int) -> str:
    """Colour of the ``i``-th series (predictor, target) in every plot."""
    return f"C{i % 10}"


def draw_diagonal(ax: Any, lims: tuple[float, float] = (0.0, 1.0), **kwargs: Any) -> None:
    """The reference line y = x over ``lims``."""
    ax.plot(lims, lims, **{**DIAGONAL, **kwargs})


def new_axes(n_panels: int = 1, *, ax: Any = None, width: float = 6.4,
             height: float = 4.0) -> tuple[Any, list[Any]]:
    """Return ``(figure, axes)``: ``ax``'s figure if given, else a fresh Figure of ``n_panels``.

    Panels are laid out two per row; unused cells of the last row are hidden.
    """
    if ax is not None:
        if n_panels != 1:
            raise InvalidParameterError(
                f"'ax' can hold one panel but {n_panels} are needed; pass method=... to draw "
                "one method, or leave ax=None to get a figure with one panel per method.")
        return ax.figure, [ax]
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * n_panels if n_panels <= 2 else width * 2, height),
                 layout="constrained")
    cols = min(n_panels, 2)
    rows = -(-n_panels // cols)
    if rows > 1:
        fig.set_size_inches(width * cols, height * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return fig, axes[:n_panels]


def new_grid(nrows: int, ncols: int, *, panel: tuple[float, float] = (3.4, 3.2)) -> tuple[Any, Any]:
    """Return ``(figure, axes)`` with an ``nrows x ncols`` array of panels of size ``panel``."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    return fig, np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))


def figure_of(ax: Any) -> Any:
    """The Figure an Axes belongs to."""
    return ax.figure
