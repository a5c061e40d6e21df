"""The PyMC graph of the hierarchical RewardBench predictor (model version 2).

Notation (all on the logit scale of accuracy): row ``i`` is a (model ``m``, method ``r``) pair,
``c`` a category cell (a RewardBench v1 or RewardBench 2 category; a row's observed cells are
those of the benchmark(s) it was evaluated on), ``p`` the model's publisher and ``x_m`` its
standardised features.

    logit(acc[i, c]) ~ Normal(eta[i, c], sqrt(sigma[r, c]^2 + meas[i, c]^2))
    eta[i, c] = alpha[r, c] + (mask * x_m) . beta[r, c, :] + u[p, r, c] + w[i]

``meas`` is the binomial sampling SD of the observed accuracy (known number of prompts per
category; see :func:`~rmpredict.models._hier_data.measurement_sd`), ``sigma`` the remaining
between-run noise. ``x_m`` holds the capability factors, log parameters, log tokens, stage
dummies, data-distribution features and the within-publisher deviations of the capability
block (Mundlak terms): with ``x = between + within`` the base slopes act between publishers and
``beta + beta_within`` within them, so slopes learned on one publisher's size ladder do not
have to carry over to a new publisher. ``mask`` (data) switches feature groups off: the
stacked structures (full, capability, intercept-only) are one compiled graph.

    beta[r, c, j] = b[r, j] + d[B(c), j] + tau_category * z[r, c, j],
    b[r, j] = theta[j] + tau_method z'[r, j],  d[B, j] = tau_benchmark z''[B, j]
    theta[j] ~ Normal(0, slope_scale)  (within terms: Normal(0, within_slope_scale))
    alpha[r, c] = a[c] + tau_alpha z[r, c]  (non-centred)
    log sigma[r, c] = l[c] + tau_noise * z[r, c]
    u[p, r, c] ~ N(0, s_pub[r]), w[i] ~ N(0, s_run[r])

The benchmark deviation ``d`` (``B(c)`` the benchmark of cell ``c``) exists only when the
training rows hold more than one benchmark: slopes are then shared across benchmarks through
``b`` and deviate per benchmark and per category. The run effect ``w[i]`` is shared by all cells
of a row, so an RM evaluated on both benchmarks has one run effect.

Joint feature model: log parameters, log tokens and data-distribution features (``aux``) are
regressed on the capability factors, ``aux[m, a] ~ Normal(c[a] + f_m . G[:, a], s_aux[a])``;
observed values inform ``c, G, s_aux`` and missing ones are latent draws from it, so a model
without a parameter count gets one consistent with its benchmark scores. Capability factors
enter as ``f_m = mean_m + chol_m z_m``: the factor model's posterior given the scores the model
has. The likelihood is an observed variable whose log density is multiplied by the row weight
(1 for training rows, 0 for the padding of :mod:`rmpredict.models._hier_data`), so padded rows
contribute exactly nothing and the pointwise log likelihood of every training row is stored.
"""

from __future__ import annotations

import numpy as np

from rmpredict.models._hier_data import TrainingArrays

__all__ = ["DEFAULT_PRIORS", "build_model", "PREDICTIVE_VARS", "BENCHMARK_OFFSET"]

DEFAULT_PRIORS: dict[str, float] = {
    "intercept_mean": 1.0,  # logit(0.73): a typical RewardBench category accuracy
    "intercept_sd": 1.5,
    "intercept_dev_scale": 0.5,
    "slope_scale": 0.3,
    "within_slope_scale": 0.3,
    "method_slope_scale": 0.3,
    "category_slope_scale": 0.2,
    "benchmark_slope_scale": 0.2,
    "publisher_scale": 0.3,
    "run_scale": 0.3,
    "log_noise_mean": -1.4,  # log(0.25) on the logit scale
    "log_noise_sd": 0.5,
    "noise_dev_scale": 0.2,
    "feature_loading_scale": 1.0,
}
"""Prior scales (logit-accuracy units; features are standardised). Documented in
docs/model.md together with a prior-predictive check."""

PREDICTIVE_VARS = ("alpha", "beta", "u_pub", "sigma", "s_pub", "s_run", "aux_intercept",
                   "aux_loading", "aux_sd", "pub_capability")
BENCHMARK_OFFSET = "benchmark_slope_offset"
"""Deterministic ``d[B(c), j]`` of fits with several benchmarks (cells x features)."""
"""Posterior variables needed to predict new candidates."""


def _weighted_normal_logp(value, mu, sigma, weight):
    import pymc as pm

    return weight * pm.logp(pm.Normal.dist(mu, sigma), value)


def build_model(arrays: TrainingArrays, priors: dict[str, float], n_within: int):
    """Build the PyMC model; every array enters through ``pm.Data`` so it can be swapped.

    ``n_within`` is the size of the capability block (its deviations are the last
    ``n_within`` features).
    """
    import pymc as pm
    import pytensor.tensor as pt

    data = arrays.data
    n_models, k = data["factor_mean"].shape
    n_aux = data["aux_obs"].shape[1]
    n_methods = data["row_method_oh"].shape[1]
    n_pub = data["model_pub_oh"].shape[1]
    n_feat = data["feature_mask"].shape[0]
    n_cells = data["y"].shape[1]
    n_bench = data["cell_benchmark_oh"].shape[1] if "cell_benchmark_oh" in data else 1
    prior = priors
    with pm.Model() as model:
        dat = {name: pm.Data(name, value) for name, value in data.items()}
        z_factor = pm.Normal("z_factor", 0.0, 1.0, shape=(n_models, k))
        factors = dat["factor_mean"] + pt.sum(dat["factor_chol"] * z_factor[:, None, :], axis=2)

        # Joint feature model: aux features given capability.
        aux_intercept = pm.Normal("aux_intercept", 0.0, 1.0, shape=n_aux)
        aux_loading = pm.Normal("aux_loading", 0.0, prior["feature_loading_scale"],
                                shape=(k, n_aux))
        aux_sd = pm.HalfNormal("aux_sd", 1.0, shape=n_aux)
        aux_mean = aux_intercept[None, :] + pt.dot(factors, aux_loading)
        aux_latent = aux_mean + aux_sd[None, :] * pm.Normal("z_aux", 0.0, 1.0,
                                                            shape=(n_models, n_aux))
        mask = dat["aux_mask"]
        aux = mask * dat["aux_obs"] + (1.0 - mask) * aux_latent
        pm.Potential("feature_model", pt.sum(
            mask * pm.logp(pm.Normal.dist(aux_mean, aux_sd[None, :]), dat["aux_obs"])))

        base = pt.concatenate([factors, aux[:, :2], dat["stage"], aux[:, 2:]], axis=1)
        capability = pt.concatenate([factors, aux[:, :1]], axis=1)
        pub_capability = pm.Deterministic("pub_capability", pt.dot(dat["pub_avg"], capability))
        within = capability - pt.dot(dat["model_pub_oh"], pub_capability)
        x = pt.concatenate([base, within], axis=1) * dat["feature_mask"][None, :]

        slope_sd = np.concatenate([np.full(n_feat - n_within, prior["slope_scale"]),
                                   np.full(n_within, prior["within_slope_scale"])])
        # A fixed scale: a hierarchical scale over the slopes seen through 2 methods mixed badly.
        theta = pm.Normal("theta", 0.0, slope_sd, shape=n_feat)
        tau_method = pm.HalfNormal("tau_method", prior["method_slope_scale"])
        tau_category = pm.HalfNormal("tau_category", prior["category_slope_scale"])
        # Non-centred: a structure's switched-off slopes see no data, and a centred prior-only
        # hierarchy is a funnel the sampler cannot cross (r-hat 1.1 on tau_method).
        b_method = pm.Deterministic("b_method", theta[None, :] + tau_method * pm.Normal(
            "z_b_method", 0, 1, shape=(n_methods, n_feat)))
        z_beta = pm.Normal("z_beta_category", 0, 1, shape=(n_methods, n_cells, n_feat))
        slopes = b_method[:, None, :] + tau_category * z_beta
        if n_bench > 1:
            tau_bench = pm.HalfNormal("tau_benchmark", prior["benchmark_slope_scale"])
            offset = pm.Deterministic(BENCHMARK_OFFSET, pt.dot(
                dat["cell_benchmark_oh"],
                tau_bench * pm.Normal("z_benchmark_slope", 0, 1, shape=(n_bench, n_feat))))
            slopes = slopes + offset[None, :, :]
        beta = pm.Deterministic("beta", slopes)

        a = pm.Normal("a", prior["intercept_mean"], prior["intercept_sd"], shape=n_cells)
        tau_alpha = pm.HalfNormal("tau_alpha", prior["intercept_dev_scale"])
        # Non-centred: with few methods the data pin alpha as tightly as a, and the centred
        # form is a ridge (a, alpha nearly collinear) on which NUTS mixed at ESS ~20 per 1,000.
        alpha = pm.Deterministic("alpha", a[None, :] + tau_alpha * pm.Normal(
            "z_alpha", 0, 1, shape=(n_methods, n_cells)))

        s_pub = pm.HalfNormal("s_pub", prior["publisher_scale"], shape=n_methods)
        u_pub = pm.Deterministic(
            "u_pub", s_pub[None, :, None] * pm.Normal("z_u_pub", 0, 1,
                                                      shape=(n_pub, n_methods, n_cells)))
        s_run = pm.HalfNormal("s_run", prior["run_scale"], shape=n_methods)

        log_noise = pm.Normal("log_noise_category", prior["log_noise_mean"],
                              prior["log_noise_sd"], shape=n_cells)
        tau_noise = pm.HalfNormal("tau_noise", prior["noise_dev_scale"])
        z_noise = pm.Normal("z_noise", 0, 1, shape=(n_methods, n_cells))
        sigma = pm.Deterministic("sigma", pt.exp(log_noise[None, :] + tau_noise * z_noise))

        method_of_row, model_of_row = dat["row_method_oh"], dat["row_model_oh"]
        x_rows = pt.dot(model_of_row, x)  # (n_rows, J)
        beta_rows = pt.dot(method_of_row, beta.reshape((n_methods, -1))).reshape(
            (-1, n_cells, n_feat))
        pub_of_row = pt.dot(model_of_row, dat["model_pub_oh"])  # (n_rows, P) one-hot
        u_rows = pt.dot(pub_of_row, u_pub.reshape((n_pub, -1))).reshape(
            (-1, n_methods, n_cells))
        u_rows = pt.sum(u_rows * method_of_row[:, :, None], axis=1)  # own method's effect
        run = pt.dot(method_of_row, s_run) * pm.Normal("z_run", 0, 1,
                                                       shape=data["y"].shape[0])
        eta = pm.Deterministic("eta", pt.dot(method_of_row, alpha)
                               + pt.sum(x_rows[:, None, :] * beta_rows, axis=2)
                               + u_rows + run[:, None])
        total_sd = pt.sqrt(pt.dot(method_of_row, sigma) ** 2 + dat["meas_sd"] ** 2)
        pm.CustomDist("y_obs", eta, total_sd, dat["weight"],
                      logp=_weighted_normal_logp, observed=dat["y"])
    return model

