"""The numpy Sobol' generator against scipy's, and the randomisation's properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from rmpredict.models._sobol import MAX_DIM, sobol_points


def _rows(a: np.ndarray) -> list[tuple[float, ...]]:
    return sorted(map(tuple, a))


@pytest.mark.parametrize("dim", range(1, MAX_DIM + 1))
@pytest.mark.parametrize("m", [1, 4, 10])
def test_unscrambled_points_equal_scipy(dim, m):
    # scipy emits the points in Gray-code order; the set of the first 2**m is the same.
    ours = sobol_points(m, dim)
    ref = qmc.Sobol(d=dim, scramble=False).random_base2(m)
    assert _rows(ours) == _rows(ref)


def test_randomised_points_are_seeded_stratified_and_inside_the_cube():
    a = sobol_points(8, 4, seed=7)
    np.testing.assert_array_equal(a, sobol_points(8, 4, seed=7))
    assert not np.array_equal(a, sobol_points(8, 4, seed=8))
    assert ((a > 0) & (a < 1)).all()
    # A (0, m, d)-net in base 2 in each coordinate: exactly one point per interval of 1/2**m.
    for d in range(4):
        counts = np.bincount((a[:, d] * 256).astype(int), minlength=256)
        assert (counts == 1).all()
    # Every pair of coordinates: one point per 1/16 x 1/16 cell (t = 0 for Sobol's first two
    # dimensions, kept by linear scrambling and digital shifts).
    cells = (a[:, 0] * 16).astype(int) * 16 + (a[:, 1] * 16).astype(int)
    assert (np.bincount(cells, minlength=256) == 1).all()


def test_randomised_points_integrate_better_than_random():
    f = lambda u: np.prod(1 + 0.5 * (u - 0.5), axis=1)  # noqa: E731 - exact integral 1
    errs = [abs(f(sobol_points(10, 4, seed=s)).mean() - 1) for s in range(8)]
    rng = np.random.default_rng(0)
    mc = [abs(f(rng.random((1024, 4))).mean() - 1) for _ in range(8)]
    assert np.mean(errs) < np.mean(mc) / 10


def test_bad_arguments():
    with pytest.raises(ValueError, match="dim"):
        sobol_points(4, MAX_DIM + 1)
    with pytest.raises(ValueError, match="m must"):
        sobol_points(40, 2)
