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
          "publisher_scale": TINY, "run_scale": TINY, "log_noise_mean": -3.0,
          "log_noise_sd": TINY, "noise_dev_scale": TINY}


def _conjugate_data(reference_frame):
    """One method's rows with accuracies drawn from the reduced model itself (no publisher or
    run effects), so the tiny scale priors are not fighting the data."""
    from rmpredict.models import mark_validated

    rng = np.random.default_rng(11)
    frame = reference_frame[reference_frame["method"] == "regression"].reset_index(drop=True)
    a_true = np.array([2.0, 0.3, 1.2, 1.4])
    eta = a_true + rng.normal(0.0, np.exp(PRIORS["log_noise_mean"]), size=(len(frame), 4))
    frame[list(CATEGORIES)] = 1.0 / (1.0 + np.exp(-eta))
    frame["score"] = frame[list(CATEGORIES)].mean(axis=1)
    return mark_validated(frame)


def test_intercepts_match_the_conjugate_normal_posterior(reference_frame):
    data = _conjugate_data(reference_frame)
    model = HierarchicalRMPredictor(structures=("intercept",), stacking="none", priors=PRIORS,
                                    draws=500, tune=500, chains=2, random_seed=3,
                                    progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data)
    alpha = model.idata_.posterior["alpha"].to_numpy()  # (chain, draw, method, category)
    acc = data[list(CATEGORIES)].to_numpy(float)
    y, meas = logit(acc), measurement_sd(acc)
    var = np.exp(PRIORS["log_noise_mean"]) ** 2 + meas**2
    precision = 1.0 / PRIORS["intercept_sd"] ** 2 + (1.0 / var).sum(axis=0)
    mean = (PRIORS["intercept_mean"] / PRIORS["intercept_sd"] ** 2
            + (y / var).sum(axis=0)) / precision
    sd = 1.0 / np.sqrt(precision)
    for r in range(alpha.shape[2]):
        draws = alpha[:, :, r].reshape(-1, 4)
        # Tolerance 0.25 posterior sd: 1,000 draws at ESS ~2,000 put the Monte-Carlo error near
        # 0.03 sd; the publisher, run and noise deviations the tiny priors allow add < TINY.
        # sigma0 = exp(-3) = 0.05 is below the binomial SD (~0.08): a likelihood that dropped
        # the measurement layer would give a posterior sd about 2x too small and fail here.
        np.testing.assert_allclose(draws.mean(0), mean, atol=0.25 * sd.min())
        np.testing.assert_allclose(draws.std(0), sd, rtol=0.1)
