"""Sampler diagnostics on synthetic posteriors with known properties."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest

from rmpredict.exceptions import ConvergenceWarning
from rmpredict.models._diagnostics import check_diagnostics


def _idata(chains, draws, rng, shift=0.0):
    x = rng.normal(size=(chains, draws)) + shift * np.arange(chains)[:, None]
    return az.from_dict(posterior={"x": x, "const": np.zeros((chains, draws))})


def test_well_mixed_chains_pass(rng):
    rep = check_diagnostics(_idata(4, 1000, rng), ["x"])
    assert rep["ok"] and rep["max_rhat"] < 1.01 and rep["min_ess_bulk"] > 400


def test_separated_chains_fail_loudly(rng):
    with pytest.warns(ConvergenceWarning, match="r-hat"):
        rep = check_diagnostics(_idata(4, 500, rng, shift=3.0), ["x"])
    assert not rep["ok"] and rep["max_rhat"] > 1.5


def test_one_chain_is_reported_as_unchecked_without_numpy_warnings(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="needs at least 2 chains"):
            rep = check_diagnostics(_idata(1, 500, rng), ["x", "const"])
    assert np.isnan(rep["max_rhat"]) and not rep["ok"]
