"""Merge-vector grid search of regression reward models."""

from __future__ import annotations

import numpy as np
import pytest

from rmpredict.exceptions import InvalidParameterError
from rmpredict.train._merge import default_signs, merge_grid, search_merge_vector


def test_grid_size_and_constraints():
    signs = default_signs(["helpfulness", "correctness", "coherence", "complexity", "verbosity"])
    assert signs == (1, 1, 1, 1, -1)
    grid = merge_grid(signs, 0.05)
    assert grid.shape == (10626, 5)  # compositions of 20 steps into 5 parts: C(24, 4)
    assert np.allclose(np.abs(grid).sum(axis=1), 1.0)
    assert (grid[:, :4] >= 0).all() and (grid[:, 4] <= 0).all()
    assert len(merge_grid([1, 0, -1], 0.25)) == 5


def test_search_recovers_signal(rng):
    # Preference = attribute 0 up, attribute 2 (verbosity-like) down; attribute 1 is noise.
    n = 400
    c = rng.normal(size=(n, 3))
    r = rng.normal(size=(n, 3))
    truth = (c - r) @ np.array([0.6, 0.0, -0.4]) > 0
    c[~truth], r[~truth] = r[~truth].copy(), c[~truth].copy()
    w, acc = search_merge_vector(c, r, signs=[1, 1, -1], step=0.05)
    assert acc == 1.0
    assert w[0] > 0 and w[2] < 0 and abs(w[1]) <= 0.05
    # Independent check of the reported accuracy.
    assert acc == np.mean((c - r) @ w > 0)


def test_bad_step_and_signs():
    with pytest.raises(InvalidParameterError, match="step"):
        merge_grid([1, 1], 0.3)
    with pytest.raises(InvalidParameterError, match="signs"):
        merge_grid([2, 1], 0.1)
