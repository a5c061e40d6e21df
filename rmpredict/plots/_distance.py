"""Heat map of a model x model distance matrix (e.g. Jensen-Shannon distances of presence
scores from :func:`rmpredict.datadist.distance_matrix`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.plots._figure import FONT, TITLE_FONT, new_axes

__all__ = ["distance_heatmap_table", "plot_distance_heatmap"]


def distance_heatmap_table(matrix: pd.DataFrame) -> pd.DataFrame:
    """The cells a heat map draws, long form: ``row, column, model_a, model_b, distance``."""
    if not isinstance(matrix, pd.DataFrame) or matrix.shape[0] != matrix.shape[1]:
        raise InvalidParameterError(
            "plot_distance_heatmap needs a square DataFrame (model x model), e.g. from "
            f"rmpredict.datadist.distance_matrix; got {type(matrix).__name__} of shape "
            f"{getattr(matrix, 'shape', None)}.")
    rows = [{"row": i, "column": j, "model_a": str(a), "model_b": str(b),
             "distance": float(matrix.iat[i, j])}
            for i, a in enumerate(matrix.index) for j, b in enumerate(matrix.columns)]
    return pd.DataFrame(rows, columns=["row", "column", "model_a", "model_b", "distance"])


def plot_distance_heatmap(matrix: pd.DataFrame, *, ax: Any = None, title: str | None = None,
                          annotate: bool = True) -> Any:
    """Heat map of a distance matrix, colour scale fixed to [0, 1]; returns the Figure.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Square, index and columns = model names (``attrs["domain"]`` names the domain).
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes.
    title : str, optional
        Default: "Jensen-Shannon distance of presence scores (<domain>)".
    annotate : bool, default=True
        Write each distance in its cell.
    """
    table = distance_heatmap_table(matrix)
    size = 1.2 + 0.6 * len(matrix)
    fig, (axis,) = new_axes(1, ax=ax, width=size + 1.5, height=size)
    image = axis.imshow(matrix.to_numpy(dtype=float), vmin=0.0, vmax=1.0, cmap="viridis")
    axis.set_xticks(range(len(matrix.columns)), labels=[str(c) for c in matrix.columns],
                    rotation=45, ha="right", fontsize=FONT)
    axis.set_yticks(range(len(matrix.index)), labels=[str(i) for i in matrix.index],
                    fontsize=FONT)
    if annotate:
        for cell in table.itertuples():
            axis.text(cell.column, cell.row, f"{cell.distance:.2f}", ha="center",
                      va="center", color="white" if cell.distance < 0.5 else "black",
                      fontsize=FONT)
    domain = matrix.attrs.get("domain", "")
    axis.set_title(title or f"Jensen-Shannon distance of presence scores ({domain})",
                   fontsize=TITLE_FONT)
    fig.colorbar(image, ax=axis, label="JS distance (base 2)")
    return fig
