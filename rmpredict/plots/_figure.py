"""Figure creation without pyplot: figures never touch a GUI backend and are never shown."""

from __future__ import annotations

from typing import Any

from rmpredict.exceptions import InvalidParameterError

__all__ = ["new_axes", "figure_of"]


def new_axes(n_panels: int = 1, *, ax: Any = None, width: float = 6.4,
             height: float = 4.0) -> tuple[Any, list[Any]]:
    """Return ``(figure, axes)``: ``ax``'s figure if given, else a fresh Agg-safe Figure.

    ``matplotlib.figure.Figure`` is created directly (not through pyplot), so it needs no
    display, is not registered with pyplot's figure manager and is freed with its last reference.
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


def figure_of(ax: Any) -> Any:
    """The Figure an Axes belongs to."""
    return ax.figure
