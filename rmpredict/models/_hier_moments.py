"""Exact first two moments of the predictive on the logit scale (v2), without random numbers.

Given posterior sample ``s``, a candidate's category logits (of one benchmark) are Gaussian:
the features are linear-Gaussian in the factor model's noise and the joint feature model's
noise, and the run effect, residual noise, measurement noise and (for a publisher not seen in
fit) the publisher effect add independent Gaussian terms. The predictive is the mixture of
these over samples (and over stacked structures); its mean vector and covariance matrix
follow from the laws of total expectation and covariance:

    M = E_s[m_s],    C = E_s[C_s] + Cov_s(m_s)

with ``m_s = alpha + beta . E[x | s] + u``, and the feature part of ``C_s`` equal to
``g_s^T P g_s`` (``P`` the candidate's factor-posterior covariance, ``g_s`` the slopes mapped
onto the factor noise) plus the imputation noise of missing features. ``g_s`` depends on a row
only through its method, whether its publisher was seen and which features are missing, so
its second moments are computed once per such group. The one approximation is the binomial
measurement SD, evaluated at the predictive mean instead of per draw (see
:func:`~rmpredict.models._hier_data.measurement_sd`).
"""

from __future__ import annotations

import numpy as np

from rmpredict.models._hier_data import STAGE_DUMMIES, Encoding, ModelFeatures, measurement_sd

__all__ = ["logit_moments", "mix_moments"]

def _slope_blocks(enc: Encoding, n_aux: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column positions of the factors, the auxiliary features and the within terms."""
    k, n_stage = enc.n_factors, len(STAGE_DUMMIES)
    factor_cols = np.arange(k)
    # Layout of candidate_features: factors, aux[:2], stage dummies, aux[2:], within terms.
    aux_cols = np.array([k, k + 1, *range(k + 2 + n_stage, k + n_stage + n_aux)], dtype=int)
    within_cols = np.arange(len(enc.feature_names) - (k + 1), len(enc.feature_names))
    return factor_cols, aux_cols, within_cols


def _group_coefficients(post: dict[str, np.ndarray], enc: Encoding, mask: np.ndarray,
                        method: int, publisher: int, missing: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample coefficients of one group of rows (method, publisher, missing features).

    Returns ``coef`` ``(S, C, D)``: the conditional mean logit of category ``c`` under sample
    ``s`` is ``coef[s, c] . design`` for the design row ``[factor means, observed auxiliary
    features (0 where missing), stage dummies, 1]``; ``g`` ``(S, C, K)``, the slopes on the
    factor noise; and the covariance ``(C, C)`` added by imputing the missing features.
    ``publisher`` is the index of a publisher seen in fit, or -1.
    """
    f_cols, a_cols, w_cols = _slope_blocks(enc, missing.shape[0])
    seen = publisher >= 0
    beta = post["beta"][:, method].astype(np.float64) * mask[None, None, :]  # (S, C, J)
    b_fac = beta[:, :, f_cols]
    b_aux = beta[:, :, a_cols].copy()
    if seen:  # within = capability - publisher mean: the capability slopes add up
        b_fac = b_fac + beta[:, :, w_cols[:-1]]
        b_aux[:, :, 0] += beta[:, :, w_cols[-1]]
    n_stage = len(STAGE_DUMMIES)
    k = enc.n_factors
    b_stage = beta[:, :, k + 2:k + 2 + n_stage]
    b_miss = b_aux * missing[None, None, :]
    loading = post["aux_loading"].astype(np.float64)  # (S, K, A)
    g = b_fac + np.einsum("ska,sca->sck", loading, b_miss)
    const = post["alpha"][:, method].astype(np.float64) + np.einsum(
        "sa,sca->sc", post["aux_intercept"].astype(np.float64), b_miss)
    if seen:
        cap = post["pub_capability"][:, publisher].astype(np.float64)  # (S, K + 1)
        const += post["u_pub"][:, publisher, method] - np.einsum(
            "sk,sck->sc", cap, beta[:, :, w_cols])
    coef = np.concatenate([g, b_aux * ~missing[None, None, :], b_stage, const[..., None]],
                          axis=2)
    aux_var = post["aux_sd"].astype(np.float64) ** 2 * missing[None, :]  # (S, A)
    noise = np.einsum("sa,sca,sda->cd", aux_var, b_aux, b_aux) / g.shape[0]
    return coef, g, noise


def _design(feats: ModelFeatures) -> np.ndarray:
    """``[factor means, observed auxiliary features (0 if missing), stage dummies, 1]``."""
    aux = np.nan_to_num(feats.aux)
    return np.column_stack([feats.factor_mean, aux, feats.stage, np.ones(len(feats.models))])


def logit_moments(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                  seen_publishers: list[str], mask: np.ndarray, row_model: np.ndarray,
                  row_method: np.ndarray, n_prompts: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Predictive mean ``(rows, C)`` and covariance ``(rows, C, C)`` of the category logits.

    Parameters as :func:`~rmpredict.models._hier_predict.predictive_draws` (one structure,
    all of ``post``'s samples, equally weighted; ``n_prompts`` the binomial sizes of the C
    categories, default RewardBench v1's). The work per row is a few quadratic forms;
    the per-sample work is done once per group of rows sharing method, seen publisher and
    missing-feature pattern. Float64 throughout.
    """
    row_model, row_method = np.asarray(row_model, dtype=np.int64), np.asarray(row_method)
    n_rows, n_aux = len(row_model), feats.aux.shape[1]
    pos = {p: i for i, p in enumerate(enc.publishers)}
    seen_set = set(seen_publishers)
    model_pub = np.array([pos[p] if p in seen_set else -1 for p in feats.publisher],
                         dtype=np.int64)
    missing = np.isnan(feats.aux)
    model_miss = missing @ (1 << np.arange(n_aux))
    key = np.stack([row_method, model_pub[row_model], model_miss[row_model]], axis=1)
    groups, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    design = _design(feats)
    n_cat = post["alpha"].shape[2]
    factor_cov = np.einsum("mkj,mlj->mkl", feats.factor_chol, feats.factor_chol)
    mean = np.empty((n_rows, n_cat))
    cov = np.empty((n_rows, n_cat, n_cat))
    for gi, (r, pub, miss_code) in enumerate(groups):
        rows = np.flatnonzero(inverse == gi)
        miss = (int(miss_code) >> np.arange(n_aux)) & 1 == 1
        coef, g, noise = _group_coefficients(post, enc, mask, int(r), int(pub), miss)
        s_n = coef.shape[0]
        centre = coef.mean(axis=0)  # (C, D)
        dev = coef - centre
        coef_cov = np.einsum("scj,sdl->cjdl", dev, dev) / s_n
        d = design[row_model[rows]]
        mean[rows] = d @ centre.T
        # Cov_s(m_s) + E_s[feature-noise covariance] + imputation noise.
        n_d = d.shape[1]
        # Quadratic forms as matrix products: (rows, D) @ (D, 4 * 4 * D), then a row-wise dot.
        half = (d @ coef_cov.transpose(1, 0, 2, 3).reshape(n_d, -1)).reshape(
            len(rows), n_cat, n_cat, n_d)
        cov[rows] = np.einsum("rcdl,rl->rcd", half, d)
        gg = np.einsum("sck,sdl->cdkl", g, g) / s_n
        k = g.shape[2]
        cov[rows] += (factor_cov[row_model[rows]].reshape(len(rows), k * k)
                      @ gg.reshape(n_cat * n_cat, k * k).T).reshape(
            len(rows), n_cat, n_cat) + noise
    seen = model_pub[row_model] >= 0
    run2 = (post["s_run"].astype(np.float64) ** 2).mean(axis=0)  # (methods,)
    sigma2 = (post["sigma"].astype(np.float64) ** 2).mean(axis=0)  # (methods, C)
    pub2 = (post["s_pub"].astype(np.float64) ** 2).mean(axis=0)  # (methods,)
    diag = sigma2[row_method] + measurement_sd(1.0 / (1.0 + np.exp(-mean)), n_prompts) ** 2
    diag[~seen] += pub2[row_method[~seen], None]
    cov += run2[row_method, None, None]
    idx = np.arange(n_cat)
    cov[:, idx, idx] += diag
    return mean, cov


def mix_moments(parts: list[tuple[float, np.ndarray, np.ndarray]]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a mixture: ``parts`` are ``(weight, mean, cov)``."""
    total = sum(w for w, _, _ in parts)
    mean = sum(w * m for w, m, _ in parts) / total
    cov = np.zeros_like(parts[0][2])
    for w, m, c in parts:
        d = m - mean
        cov += (w / total) * (c + d[:, :, None] * d[:, None, :])
    return mean, cov
