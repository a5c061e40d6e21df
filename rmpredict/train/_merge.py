"""Merge vector for multi-attribute regression reward models (numpy only).

The study scores a pair with a regression RM through a weighted sum of its attribute predictions,
the weights chosen on a validation set by a constrained grid search: positive weights for the
quality attributes, a negative weight for verbosity, in steps of 0.05.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from rmpredict.exceptions import InvalidParameterError

__all__ = ["default_signs", "merge_grid", "search_merge_vector"]

_NEGATIVE_HINTS = ("verbos", "length")


def default_signs(attributes: Sequence[str]) -> tuple[int, ...]:
    """The study's sign constraint: negative for verbosity-like attributes, positive otherwise."""
    return tuple(-1 if any(hint in attribute.lower() for hint in _NEGATIVE_HINTS) else 1
                 for attribute in attributes)


def merge_grid(signs: Sequence[int], step: float = 0.05) -> np.ndarray:
    """All merge vectors on the constrained grid.

    Each vector has ``|w_i|`` a multiple of ``step``, ``sum |w_i| = 1`` (accuracy is invariant to
    scale, so this loses nothing), ``sign(w_i) = signs[i]`` where ``w_i != 0``, and ``w_i = 0``
    where ``signs[i] == 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_vectors, len(signs))``; 10,626 vectors for 5 signed attributes at step 0.05.
    """
    signs = np.asarray(list(signs), dtype=int)
    if signs.ndim != 1 or not set(np.unique(signs)) <= {-1, 0, 1} or not np.any(signs):
        raise InvalidParameterError(
            f"The 'signs' parameter of merge_grid must be a sequence of -1, 0, +1 with at least "
            f"one non-zero. Got {signs.tolist()!r} instead.")
    n_steps = round(1.0 / step)
    if not (0 < step <= 1) or abs(n_steps * step - 1.0) > 1e-9:
        raise InvalidParameterError(
            f"The 'step' parameter of merge_grid must divide 1 exactly (e.g. 0.05, 0.1, 0.25). "
            f"Got {step!r} instead.")
    active = np.flatnonzero(signs)
    n_active = len(active)
    # Stars and bars: compositions of n_steps into n_active non-negative parts.
    rows = []
    for bars in itertools.combinations(range(n_steps + n_active - 1), n_active - 1):
        edges = (-1, *bars, n_steps + n_active - 1)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(n_active)])
    parts = np.asarray(rows, dtype=float) * step
    grid = np.zeros((len(parts), len(signs)))
    grid[:, active] = parts * signs[active]
    return grid


def search_merge_vector(
    chosen: np.ndarray,
    rejected: np.ndarray,
    *,
    signs: Sequence[int],
    step: float = 0.05,
) -> tuple[np.ndarray, float]:
    """Merge vector maximising pairwise accuracy (chosen strictly above rejected).

    Parameters
    ----------
    chosen, rejected : numpy.ndarray
        Attribute predictions, shape ``(n_pairs, n_attributes)``.
    signs : sequence of int
        Sign constraint per attribute (see :func:`merge_grid`).
    step : float, default=0.05
        Grid step of the absolute weights.

    Returns
    -------
    (weights, accuracy)
        The first best vector in grid order (deterministic) and its accuracy (fraction).
    """
    chosen = np.asarray(chosen, dtype=float)
    rejected = np.asarray(rejected, dtype=float)
    if chosen.shape != rejected.shape or chosen.ndim != 2 or chosen.shape[1] != len(signs):
        raise InvalidParameterError(
            f"chosen and rejected must both have shape (n_pairs, {len(signs)}). "
            f"Got {chosen.shape} and {rejected.shape} instead.")
    grid = merge_grid(signs, step)
    diff = chosen - rejected
    accuracy = ((diff @ grid.T) > 0).mean(axis=0)
    best = int(np.argmax(accuracy))
    return grid[best], float(accuracy[best])
