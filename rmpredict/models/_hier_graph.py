"""The PyMC graph of the hierarchical RewardBench predictor.

Notation (all on the logit scale of accuracy): row ``i`` is a (model ``m``, method ``r``) pair,
``c`` a RewardBench category, ``x_m`` the model's standardised features (latent capability
factors, log parameters, log tokens, post-training stage dummies, data-distribution features).

    logit(acc[i, c]) ~ Normal(eta[i, c], sigma[r, c])
    eta[i, c] = alpha[r, c] + x_m . beta[r, c, :] + u[p, r, c] + w[i]

    beta[r, c, j] = b[r, j] + tau_category * z2[r, c, j],  b[r, j] ~ Normal(theta[j], tau_method)
    theta[j] ~ Normal(0, prior "slope_scale")
    alpha[r, c] ~ Normal(a[c], tau_alpha)
    log sigma[r, c] = l[c] + tau_sigma * z4[r, c]
    u[p, r, c] ~ N(0, s_pub[r]), w[i] ~ N(0, s_run[r])

Publisher effects are per method and category: a publisher's data and recipes shift
categories differently, and the two RM recipes respond differently to a base model (the study:
regression RMs depend less on base quality). With one publisher effect shared by both methods,
between-publisher differences seen only under Bradley-Terry would leak into the slopes.

The run effect ``w`` of one reward model (a model x method pair) is shared by its four
categories: the study reports that Bradley-Terry training is unstable, and a failed run
lowers every category at once; without ``w`` the four cells of a run would count as independent
evidence and slopes would look far more certain than they are. A publisher-wide intercept and a
family effect were tried and dropped: beside the per-category publisher effects and ``w`` they
were not identified (8 publishers, 16 families) and stalled the sampler (r-hat > 1.01).
Method-specific publisher effects replaced a shared per-category one after a first
leave-one-publisher-out run; docs/model.md records this sequence honestly.

Slopes are partially pooled across methods (toward ``theta``) and categories (toward the
method's slope), and ``theta`` itself shrinks toward zero. Latent capability factors enter as
``f_m = mean_m + chol_m z_m`` with ``z_m ~ N(0, I)``: their prior is the factor model's posterior
given the benchmark scores the model has, so missing scores widen it. Missing log parameters,
log tokens and data-distribution features are latent ``N(0, 1)`` on the standardised scale.
Held-out rows stay in the graph with weight 0, so one compiled graph serves every
cross-validation fold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rmpredict.models._hier_data import TrainingArrays

__all__ = ["DEFAULT_PRIORS", "build_model", "design_data", "PREDICTIVE_VARS"]

DEFAULT_PRIORS: dict[str, float] = {
    "intercept_mean": 1.0,  # logit(0.73): a typical RewardBench category accuracy
    "intercept_sd": 1.5,
    "intercept_dev_scale": 0.5,
    "slope_scale": 0.3,
    "method_slope_scale": 0.3,
    "category_slope_scale": 0.2,
    "publisher_scale": 0.3,
    "run_scale": 0.3,
    "log_noise_mean": -1.4,  # log(0.25) on the logit scale
    "log_noise_sd": 0.5,
    "noise_dev_scale": 0.2,
}
"""Prior scales (logit-accuracy units; features are standardised). Documented in
docs/model.md together with a prior-predictive check."""

PREDICTIVE_VARS = ("alpha", "beta", "u_pub", "sigma", "s_pub", "s_run")
"""Posterior variables needed to predict new candidates."""


def _onehot(index: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros((len(index), size))
    out[np.arange(len(index)), index] = 1.0
    return out


def design_data(arrays: TrainingArrays, n_methods: int) -> dict[str, np.ndarray]:
    """Dense data matrices of the graph.

    Gathers are written as products with one-hot matrices: numba compiles dense dot products
    far faster than advanced indexing and its gradient, which dominated compile time.
    """
    f = arrays.feats
    n_models = len(f.models)
    out = {
        "factor_mean": f.factor_mean, "factor_chol": f.factor_chol,
        "lp_obs": np.nan_to_num(f.lp), "lt_obs": np.nan_to_num(f.lt), "stage": f.stage,
        "y": arrays.y, "weight": arrays.weight,
        "row_model_oh": _onehot(arrays.row_model, n_models),
        "row_method_oh": _onehot(arrays.row_method, n_methods),
        "model_pub_oh": _onehot(arrays.model_pub, int(arrays.model_pub.max()) + 1),
        "lp_missing_oh": _onehot(arrays.lp_missing, n_models).T,
        "lt_missing_oh": _onehot(arrays.lt_missing, n_models).T,
    }
    if f.dd.shape[1]:
        out["dd_obs"] = np.nan_to_num(f.dd)
        # (n_models * D, n_missing): scatter latent values into the flattened feature block.
        flat = arrays.dd_missing[:, 0] * f.dd.shape[1] + arrays.dd_missing[:, 1]
        out["dd_missing_oh"] = _onehot(flat, n_models * f.dd.shape[1]).T
    # Only containers the graph uses exist (nutpie drops unused ones).
    return {k: v for k, v in out.items() if not (k.endswith("_missing_oh") and v.shape[1] == 0)}


def build_model(arrays: TrainingArrays, priors: dict[str, float], coords: dict[str, Any]):
    """Build the PyMC model; every array enters through ``pm.Data`` so it can be swapped."""
    import pymc as pm
    import pytensor.tensor as pt

    f = arrays.feats
    n_models, k = f.factor_mean.shape
    n_dd = f.dd.shape[1]
    n_methods = len(coords["rm_method"])
    p = priors
    data = design_data(arrays, n_methods)
    with pm.Model(coords=coords) as model:
        d = {name: pm.Data(name, value) for name, value in data.items()}
        z_f = pm.Normal("z_factor", 0.0, 1.0, shape=(n_models, k))
        factors = d["factor_mean"] + pt.sum(d["factor_chol"] * z_f[:, None, :], axis=2)
        lp = d["lp_obs"]
        if "lp_missing_oh" in d:
            lp = lp + pt.dot(d["lp_missing_oh"], pm.Normal(
                "lp_latent", 0.0, 1.0, shape=len(arrays.lp_missing)))
        lt = d["lt_obs"]
        if "lt_missing_oh" in d:
            lt = lt + pt.dot(d["lt_missing_oh"], pm.Normal(
                "lt_latent", 0.0, 1.0, shape=len(arrays.lt_missing)))
        cols = [factors, lp[:, None], lt[:, None], d["stage"]]
        if n_dd:
            dd = d["dd_obs"]
            if "dd_missing_oh" in d:
                fill = pt.dot(d["dd_missing_oh"], pm.Normal(
                    "dd_latent", 0.0, 1.0, shape=len(arrays.dd_missing)))
                dd = dd + fill.reshape((n_models, n_dd))
            cols.append(dd)
        x = pt.concatenate(cols, axis=1)  # (n_models, J)

        # A fixed scale: a hierarchical scale over 9 slopes seen through 2 methods mixed badly.
        theta = pm.Normal("theta", 0.0, p["slope_scale"], dims="feature")
        tau_m = pm.HalfNormal("tau_method", p["method_slope_scale"])
        tau_c = pm.HalfNormal("tau_category", p["category_slope_scale"])
        # Centred: each method's slopes are well informed by its own ~30 models.
        b_method = pm.Normal("b_method", theta, tau_m, dims=("rm_method", "feature"))
        z2 = pm.Normal("z_beta_category", 0, 1, dims=("rm_method", "category", "feature"))
        beta = pm.Deterministic("beta", b_method[:, None, :] + tau_c * z2,
                                dims=("rm_method", "category", "feature"))

        a = pm.Normal("a", p["intercept_mean"], p["intercept_sd"], dims="category")
        tau_a = pm.HalfNormal("tau_alpha", p["intercept_dev_scale"])
        # Centred for the same reason: every (method, category) intercept sees ~30 rows.
        alpha = pm.Normal("alpha", a[None, :], tau_a, dims=("rm_method", "category"))

        s_pub = pm.HalfNormal("s_pub", p["publisher_scale"], dims="rm_method")
        u_pub = pm.Deterministic(
            "u_pub", s_pub[None, :, None]
            * pm.Normal("z_u_pub", 0, 1, dims=("publisher", "rm_method", "category")),
            dims=("publisher", "rm_method", "category"))
        s_run = pm.HalfNormal("s_run", p["run_scale"], dims="rm_method")

        l_c = pm.Normal("log_noise_category", p["log_noise_mean"], p["log_noise_sd"],
                        dims="category")
        tau_s = pm.HalfNormal("tau_noise", p["noise_dev_scale"])
        z4 = pm.Normal("z_noise", 0, 1, dims=("rm_method", "category"))
        sigma = pm.Deterministic("sigma", pt.exp(l_c[None, :] + tau_s * z4),
                                 dims=("rm_method", "category"))

        rr, rm = d["row_method_oh"], d["row_model_oh"]
        x_rows = pt.dot(rm, x)  # (n_rows, J)
        beta_rows = pt.dot(rr, beta.reshape((n_methods, -1))).reshape((-1, 4, x.shape[1]))
        pub_rows = pt.dot(rm, d["model_pub_oh"])  # (n_rows, P) one-hot
        u_rows = pt.dot(pub_rows, u_pub.reshape((u_pub.shape[0], -1))).reshape(
            (-1, n_methods, 4))
        u_rows = pt.sum(u_rows * rr[:, :, None], axis=1)  # (n_rows, 4): own method's effect
        w = pt.dot(rr, s_run) * pm.Normal("z_run", 0, 1, shape=len(arrays.row_model))
        eta = (pt.dot(rr, alpha) + pt.sum(x_rows[:, None, :] * beta_rows, axis=2)
               + u_rows + w[:, None])
        logp = pm.logp(pm.Normal.dist(eta, pt.dot(rr, sigma)), d["y"])
        # Weighted likelihood: held-out rows (weight 0) contribute nothing.
        pm.Potential("likelihood", pt.sum(d["weight"][:, None] * logp))
    return model
