"""Posterior-predictive draws and held-out log densities from stored posterior arrays (v2).

No PyMC model is rebuilt: each posterior sample's coefficients are combined with a candidate's
features in numpy. Draw ``s`` of every candidate uses posterior sample ``s`` (joint draws).

Common random numbers: the random numbers of a candidate (its latent capability, imputed
features, run effect and noise) come from a generator seeded by the candidate's id, the method
and the model's seed, so a candidate gets the same numbers whatever else is in the batch and
whichever methods are asked for.
"""

from __future__ import annotations

import hashlib

import numpy as np

from rmpredict.datasets import CATEGORIES
from rmpredict.models._hier_data import Encoding, ModelFeatures, measurement_sd

__all__ = ["candidate_features", "predictive_draws", "row_log_density", "stable_rng",
           "HYPER_VARS", "with_new_methods"]

F32 = np.float32


def stable_rng(random_seed: int, *key: str) -> np.random.Generator:
    """A generator determined by the seed and string keys only (not by call order)."""
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return np.random.default_rng([int(random_seed), int.from_bytes(digest, "little")])


def candidate_features(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                       seen_publishers: list[str], random_seed: int,
                       take: np.ndarray | None = None) -> np.ndarray:
    """Feature draws ``(S, n_models, J)`` (float32) for the candidates in ``feats``.

    Factors are drawn from the factor model's posterior, missing auxiliary features from the
    joint feature model given those factors, and the within-publisher (Mundlak) deviations are
    taken from the publisher's fitted mean capability (0 for a publisher not seen in fit).
    ``post`` holds the samples ``take`` of the full thinned posterior (all when ``None``):
    random numbers are drawn for every sample and then subset, so a sample's numbers do not
    depend on which others are used.
    """
    s_n = post["alpha"].shape[0]
    s_full = s_n if take is None else int(take.max()) + 1 if len(take) else 0
    pick = slice(None) if take is None else take
    n_models, k = feats.factor_mean.shape
    n_aux = feats.aux.shape[1]
    pub_pos = {p: i for i, p in enumerate(enc.publishers)}
    seen = set(seen_publishers)
    intercept = post["aux_intercept"].astype(F32)  # (S, A)
    loading = post["aux_loading"].astype(F32)  # (S, K, A)
    aux_sd = post["aux_sd"].astype(F32)  # (S, A)
    pub_cap = post["pub_capability"].astype(F32)  # (S, P, K + 1)
    n_stage = feats.stage.shape[1]
    n_feat = k + 2 + n_stage + (n_aux - 2) + k + 1
    x = np.empty((s_n, n_models, n_feat), dtype=F32)
    for m in range(n_models):
        rng = stable_rng(random_seed, "features", feats.models[m])
        z = rng.standard_normal((s_full, k + n_aux), dtype=F32)[pick]
        factors = feats.factor_mean[m].astype(F32) + z[:, :k] @ feats.factor_chol[m].T.astype(F32)
        aux = np.broadcast_to(feats.aux[m].astype(F32), (s_n, n_aux)).copy()
        miss = np.isnan(feats.aux[m])
        if miss.any():
            cond = intercept + np.einsum("sk,ska->sa", factors, loading)
            aux[:, miss] = (cond + aux_sd * z[:, k:])[:, miss]
        cap = np.concatenate([factors, aux[:, :1]], axis=1)
        pub = feats.publisher[m]
        within = cap - pub_cap[:, pub_pos[pub]] if pub in seen else np.zeros_like(cap)
        x[:, m] = np.concatenate(
            [factors, aux[:, :2], np.broadcast_to(feats.stage[m].astype(F32), (s_n, n_stage)),
             aux[:, 2:], within], axis=1)
    return x


def _mean_logits(post: dict[str, np.ndarray], x: np.ndarray, mask: np.ndarray,
                 row_model: np.ndarray, row_method: np.ndarray) -> np.ndarray:
    """``alpha + x . beta`` per draw and row: ``(S, n_rows, 4)``."""
    s_n = x.shape[0]
    xm = x * mask.astype(F32)[None, None, :]
    beta_t = np.swapaxes(post["beta"], 2, 3).astype(F32)  # (S, R, J, 4)
    alpha = post["alpha"].astype(F32)
    eta = np.empty((s_n, len(row_model), 4), dtype=F32)
    for r in np.unique(row_method):
        rows = np.flatnonzero(row_method == r)
        eta[:, rows] = alpha[:, r][:, None, :] + np.matmul(xm[:, row_model[rows]], beta_t[:, r])
    return eta


def _publisher_effects(post: dict[str, np.ndarray], enc: Encoding, keys: list[str],
                       seen_publishers: list[str], row_model: np.ndarray,
                       row_method: np.ndarray, random_seed: int, s_full: int,
                       pick) -> tuple[np.ndarray, np.ndarray]:
    """Per-row publisher effect draws ``(S, rows, 4)`` and a mask of rows of new publishers.

    A fitted publisher uses its posterior draws; candidates of one unseen publisher share one
    new draw from the population ``N(0, s_pub[r])``, seeded by the publisher's name.
    """
    s_n = post["alpha"].shape[0]
    pos = {p: i for i, p in enumerate(enc.publishers)}
    seen = set(seen_publishers)
    out = np.empty((s_n, len(row_model), 4), dtype=F32)
    new = np.zeros(len(row_model), dtype=bool)
    for i, (m, r) in enumerate(zip(row_model, row_method)):
        pub = keys[m]
        if pub in seen:
            out[:, i] = post["u_pub"][:, pos[pub], r]
        else:
            rng = stable_rng(random_seed, "publisher", pub, str(r))
            out[:, i] = post["s_pub"][:, r, None] * rng.standard_normal(
                (s_full, 4), dtype=F32)[pick]
            new[i] = True
    return out, new


def predictive_draws(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                     seen_publishers: list[str], mask: np.ndarray, row_model: np.ndarray,
                     row_method: np.ndarray, method_names: list[str], random_seed: int,
                     take: np.ndarray | None = None) -> np.ndarray:
    """Joint posterior-predictive accuracy draws of observed RewardBench results.

    Parameters
    ----------
    post : dict of ndarray
        Thinned posterior arrays with a leading sample axis (see ``PREDICTIVE_VARS``).
    take : ndarray of int, optional
        Use only these samples (a structure's share of a stacked mixture).
    mask : ndarray
        The structure's feature mask.
    row_model, row_method : ndarray
        For each output row, the candidate (index into ``feats``) and method (index into the
        posterior's method axis); ``method_names`` names those methods (random-number keys).

    Returns
    -------
    ndarray, shape (S, n_rows, 5), float32
        Accuracy draws for chat, chat_hard, safety, reasoning and their mean (score). Each
        includes a new run effect, residual noise and the binomial sampling noise of the
        benchmark's prompts (what a new training run would measure).
    """
    if take is not None:
        post = {k: v[take] for k, v in post.items()}
    s_n = post["alpha"].shape[0]
    s_full = s_n if take is None else int(take.max()) + 1 if len(take) else 0
    pick = slice(None) if take is None else take
    x = candidate_features(post, enc, feats, seen_publishers, random_seed, take)
    eta = _mean_logits(post, x, mask, row_model, row_method)
    pub, _ = _publisher_effects(post, enc, feats.publisher, seen_publishers, row_model,
                                row_method, random_seed, s_full, pick)
    eta += pub
    for i, (m, r) in enumerate(zip(row_model, row_method)):
        rng = stable_rng(random_seed, "row", feats.models[m], method_names[r])
        z = rng.standard_normal((s_full, 9), dtype=F32)[pick]
        eta[:, i] += (post["s_run"][:, r, None] * z[:, :1]
                      + post["sigma"][:, r] * z[:, 1:5])
        p = 1.0 / (1.0 + np.exp(-eta[:, i]))
        eta[:, i] += measurement_sd(p).astype(F32) * z[:, 5:9]
    out = np.empty((s_n, len(row_model), 5), dtype=F32)
    np.negative(eta, out=eta)
    np.exp(eta, out=eta)
    eta += 1.0
    np.reciprocal(eta, out=eta)  # logistic
    out[:, :, :4] = eta
    out[:, :, 4] = eta.mean(axis=2)
    return out


def row_log_density(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                    seen_publishers: list[str], mask: np.ndarray, row_model: np.ndarray,
                    row_method: np.ndarray, acc: np.ndarray, random_seed: int) -> np.ndarray:
    """Log predictive density of observed rows (the four category logits jointly).

    Per posterior sample the four logits are multivariate normal: the run effect is shared by
    the categories (covariance ``s_run^2``), noise, measurement noise and, for a publisher
    not seen in fit, the publisher effect are independent per category. Latent features are
    integrated by Monte Carlo (one draw per posterior sample). Returns ``(n_rows,)`` values of
    ``log mean_s p(y | sample s)`` on the logit scale.
    """
    from scipy.special import logsumexp

    from rmpredict.models._hier_data import logit

    x = candidate_features(post, enc, feats, seen_publishers, random_seed)
    eta = _mean_logits(post, x, mask, row_model, row_method).astype(float)
    pos = {p: i for i, p in enumerate(enc.publishers)}
    y = logit(acc)
    meas = measurement_sd(acc)
    s_n = eta.shape[0]
    out = np.empty(len(row_model))
    seen = set(seen_publishers)
    for i, (m, r) in enumerate(zip(row_model, row_method)):
        pub = feats.publisher[m]
        diag = post["sigma"][:, r] ** 2 + meas[i][None, :] ** 2  # (S, 4)
        mean = eta[:, i]
        if pub in seen:
            mean = mean + post["u_pub"][:, pos[pub], r]
        else:
            diag = diag + post["s_pub"][:, r, None] ** 2
        run2 = post["s_run"][:, r] ** 2  # (S,)
        resid = y[i][None, :] - mean
        # Woodbury / matrix determinant lemma for D + run2 * 1 1^T.
        inv_d = 1.0 / diag
        denom = 1.0 + run2 * inv_d.sum(1)
        quad = (resid**2 * inv_d).sum(1) - run2 * (resid * inv_d).sum(1) ** 2 / denom
        logdet = np.log(diag).sum(1) + np.log(denom)
        logp = -0.5 * (quad + logdet + len(CATEGORIES) * np.log(2 * np.pi))
        out[i] = logsumexp(logp) - np.log(s_n)
    return out


HYPER_VARS = ("a", "tau_alpha", "theta", "tau_method", "tau_category", "log_noise_category",
              "tau_noise")
"""Population parameters needed to draw the parameters of a method not seen in fit."""


def with_new_methods(post: dict[str, np.ndarray], hyper: dict[str, np.ndarray], n_new: int,
                     priors: dict[str, float], rng: np.random.Generator
                     ) -> dict[str, np.ndarray]:
    """Posterior arrays extended by ``n_new`` methods drawn from the hierarchy.

    A new method (an RM recipe or evaluation suite never fitted) gets, per posterior sample,
    intercepts ``a + tau_alpha z``, slopes ``theta + tau_method z`` with category deviations,
    noise scales from the category noise model, new publisher effects, and publisher and run
    scales from their half-normal priors (they are not pooled across methods). Predictions for
    it therefore carry the between-method spread, not just one method's.
    """
    if n_new == 0:
        return post
    s_n = post["alpha"].shape[0]
    n_pub, n_c = post["u_pub"].shape[1], post["alpha"].shape[2]
    n_j = post["beta"].shape[3]

    def z(*shape: int) -> np.ndarray:
        return rng.standard_normal((s_n, n_new, *shape)).astype(F32)

    alpha = hyper["a"][:, None, :] + hyper["tau_alpha"][:, None, None] * z(n_c)
    b = hyper["theta"][:, None, :] + hyper["tau_method"][:, None, None] * z(n_j)
    beta = b[:, :, None, :] + hyper["tau_category"][:, None, None, None] * z(n_c, n_j)
    sigma = np.exp(hyper["log_noise_category"][:, None, :]
                   + hyper["tau_noise"][:, None, None] * z(n_c))
    s_pub = np.abs(priors["publisher_scale"] * z())
    s_run = np.abs(priors["run_scale"] * z())
    u_new = s_pub[:, None, :, None] * rng.standard_normal(
        (s_n, n_pub, n_new, n_c)).astype(F32)
    return {
        **post,
        "alpha": np.concatenate([post["alpha"], alpha.astype(F32)], axis=1),
        "beta": np.concatenate([post["beta"], beta.astype(F32)], axis=1),
        "sigma": np.concatenate([post["sigma"], sigma.astype(F32)], axis=1),
        "s_pub": np.concatenate([post["s_pub"], s_pub], axis=1),
        "s_run": np.concatenate([post["s_run"], s_run], axis=1),
        "u_pub": np.concatenate([post["u_pub"], u_new], axis=2),
    }
