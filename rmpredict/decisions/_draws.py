"""Shared access to joint posterior-predictive draws and the study's size groups."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.models._prediction import PredictionResult

__all__ = ["SIZE_GROUPS", "size_group", "target_draws", "check_result", "group_labels",
           "unique_in_order"]

SIZE_GROUPS: tuple[str, ...] = ("<3B", "3-6B", ">=6B")
"""The study's size groups, in billions of parameters: [0, 3), [3, 6), [6, inf)."""


def size_group(params_b: float) -> str:
    """Size group of a model with ``params_b`` billion parameters.

    Examples
    --------
    >>> size_group(1.5), size_group(3.0), size_group(8.03)
    ('<3B', '3-6B', '>=6B')
    """
    value = float(params_b)
    if not np.isfinite(value) or value <= 0:
        raise InvalidParameterError(
            f"A model size must be a positive number of billions of parameters. Got "
            f"{params_b!r}; fill params_b in the candidates table.")
    if value < 3.0:
        return SIZE_GROUPS[0]
    if value < 6.0:
        return SIZE_GROUPS[1]
    return SIZE_GROUPS[2]


def check_result(result: object, caller: str) -> PredictionResult:
    """Return ``result`` if it is a PredictionResult with joint draws, else raise."""
    if not isinstance(result, PredictionResult):
        raise InvalidParameterError(
            f"The 'result' parameter of {caller} must be a PredictionResult (from "
            f"predictor.predict). Got {type(result).__name__} instead.")
    if result.draws is None:
        raise InvalidParameterError(
            f"{caller} needs joint posterior-predictive draws, but this result from predictor "
            f"{result.predictor!r} has none. Use HierarchicalRMPredictor (or a release) for "
            "decisions under uncertainty; point-estimate baselines cannot rank with risk.")
    if result.draws.ndim != 3 or result.draws.shape[1:] != result.mean.shape:
        raise InvalidParameterError(
            f"result.draws must have shape (n_draws, {result.mean.shape[0]}, "
            f"{result.mean.shape[1]}); got {result.draws.shape}.")
    if result.draws.shape[0] < 2:
        raise InvalidParameterError("result.draws must hold at least 2 draws.")
    return result


def target_draws(result: PredictionResult, target: str) -> np.ndarray:
    """Draws of one target, shape ``(n_draws, n_rows)``, as float64."""
    return np.asarray(result.draws[:, :, result.target(target)], dtype=np.float64)


def group_labels(index: pd.DataFrame, sizes: Mapping[str, float] | pd.Series | None,
                 caller: str) -> np.ndarray:
    """Size-group label of every row of ``index`` (by its ``model``)."""
    if sizes is None:
        raise InvalidParameterError(
            f"{caller}(size_groups=True) needs 'sizes', a mapping model -> params_b (billions "
            "of parameters), e.g. dict(zip(candidates.model, candidates.params_b)).")
    lookup = dict(sizes.items()) if hasattr(sizes, "items") else dict(sizes)
    missing = sorted({m for m in index["model"] if m not in lookup})
    if missing:
        raise InvalidParameterError(
            f"'sizes' has no params_b for {missing[:5]}{' ...' if len(missing) > 5 else ''}; "
            "add their sizes in billions of parameters.")
    return np.array([size_group(lookup[m]) for m in index["model"]], dtype=object)


def unique_in_order(values) -> list:
    """Distinct values in order of first appearance (fast on Arrow-backed string columns)."""
    return [v.item() if isinstance(v, np.generic) else v for v in pd.unique(values)]
