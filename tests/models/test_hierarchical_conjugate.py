"""An independent check of the core model: reduced to a conjugate normal model, the posterior
of the intercepts must equal the closed form.

With publisher, run, method and noise deviations shrunk to ~0 by their priors, the intercept-only
structure is ``logit(acc[i, c]) ~ Normal(a[c], v[i, c])`` with known variances
``v = sigma0^2 + meas^2`` (``sigma0 = exp(log_noise_mean)``) and ``a[c] ~ Normal(m0, s0)``:
the posterior of ``a[c]`` is normal with precision ``1/s0^2 + sum_i 1/v[i, c]``.
"""

from __future__ import annotations

import warnings

import numpy as np

from rmpredict.datasets import CATEGORIES
from rmpredict.exceptions import ConvergenceWarning
from rmpredict.models import HierarchicalRMPredictor
from rmpredict.models._hier_data import logit, measurement_sd

TINY = 0.005
PRIORS = {"intercept_mean": 0.5, "intercept_sd": 1.0, "intercept_dev_scale": TINY,
          "publisher_scale": TINY, "run_scale": TINY, "log_noise_mean": -1.2,
          "log_noise_sd": TINY, "noise_dev_scale": TINY}


def test_intercepts_match_the_conjugate_normal_posterior(reference_frame):
    model = HierarchicalRMPredictor(structures=("intercept",), stacking="none", priors=PRIORS,
                                    draws=500, tune=500, chains=2, random_seed=3,
                                    progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(reference_frame)
    alpha = model.idata_.posterior["alpha"].to_numpy()  # (chain, draw, method, category)
    acc = reference_frame[list(CATEGORIES)].to_numpy(float)
    y, meas = logit(acc), measurement_sd(acc)
    var = np.exp(PRIORS["log_noise_mean"]) ** 2 + meas**2
    precision = 1.0 / PRIORS["intercept_sd"] ** 2 + (1.0 / var).sum(axis=0)
    mean = (PRIORS["intercept_mean"] / PRIORS["intercept_sd"] ** 2
            + (y / var).sum(axis=0)) / precision
    sd = 1.0 / np.sqrt(precision)
    for r in range(alpha.shape[2]):  # both methods share a[c]: their deviations are ~0
        draws = alpha[:, :, r].reshape(-1, 4)
        # Tolerance: Monte Carlo error (ESS >= 100 assumed) plus the tiny deviations allowed.
        np.testing.assert_allclose(draws.mean(0), mean, atol=0.3 * sd.max() + 3 * TINY)
        np.testing.assert_allclose(draws.std(0), sd, rtol=0.2)
