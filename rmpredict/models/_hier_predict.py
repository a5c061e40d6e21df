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

from rmpredict.models._hier_data import Encoding, ModelFeatures, measurement_sd
from rmpredict.models._hier_graph import BENCHMARK_OFFSET

__all__ = ["candidate_features", "predictive_draws", "row_log_density", "stable_rng",
           "HYPER_VARS", "with_new_methods"]

F32 = np.float32


def stable_rng(random_seed: int, *key: str) -> np.random.Generator:
    """A generator determined by the seed and string keys only (not by call order)."""
    digest = hashlib.blake2b("\x1f".join(key).encode(), digest_size=8).digest()
    return np.random.default_rng([int(random_seed), int.from_bytes(digest, "little")])


ROW_CHUNK = 2048
"""Rows predicted at once: bounds the temporaries to ~S x 2048 x (J + 9) float32 values."""


def _sample_pick(s_n: int, slot_start: int) -> tuple[int, slice]:
    """How many random draws to make per key and which to keep (slots ``start .. start+S``)."""
    return slot_start + s_n, slice(slot_start, None)


def _keyed_normals(random_seed: int, keys: list[tuple[str, ...]], s_full: int, width: int,
                   pick) -> np.ndarray:
    """``(S, len(keys), width)`` standard normals; column ``i`` depends on ``keys[i]`` only."""
    out = np.empty((len(keys), s_full - pick.start, width), dtype=F32)
    for i, key in enumerate(keys):
        out[i] = stable_rng(random_seed, *key).standard_normal((s_full, width),
                                                               dtype=F32)[pick]
    return out.transpose(1, 0, 2)  # contiguous per key while drawing


def candidate_features(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                       seen_publishers: list[str], random_seed: int, slot_start: int = 0,
                       models: np.ndarray | None = None) -> np.ndarray:
    """Feature draws ``(S, n_models, J)`` (float32) for the candidates in ``feats``.

    Factors are drawn from the factor model's posterior, missing auxiliary features from the
    joint feature model given those factors, and the within-publisher (Mundlak) deviations are
    taken from the publisher's fitted mean capability (0 for a publisher not seen in fit).
    Sample ``i`` of ``post`` uses the candidate's random numbers of output slot
    ``slot_start + i``. ``models`` restricts the output to those candidates.
    """
    s_n = post["alpha"].shape[0]
    s_full, pick = _sample_pick(s_n, slot_start)
    models = np.arange(len(feats.models)) if models is None else np.asarray(models)
    k = feats.factor_mean.shape[1]
    n_aux = feats.aux.shape[1]
    z = _keyed_normals(random_seed, [("features", feats.models[m]) for m in models], s_full,
                       k + n_aux, pick)  # (S, M, K + A)
    chol = feats.factor_chol[models].astype(F32)  # (M, K, K)
    factors = feats.factor_mean[models].astype(F32)[None] + np.einsum(
        "smj,mkj->smk", z[:, :, :k], chol, optimize=True)
    obs = feats.aux[models].astype(F32)  # (M, A)
    miss = np.isnan(obs)
    aux = np.broadcast_to(np.nan_to_num(obs), (s_n, *obs.shape)).copy()
    if miss.any():
        cond = post["aux_intercept"].astype(F32)[:, None, :] + np.einsum(
            "smk,ska->sma", factors, post["aux_loading"].astype(F32), optimize=True)
        imputed = cond + post["aux_sd"].astype(F32)[:, None, :] * z[:, :, k:]
        np.copyto(aux, imputed, where=miss[None])
    cap = np.concatenate([factors, aux[:, :, :1]], axis=2)
    pub_pos = {p: i for i, p in enumerate(enc.publishers)}
    seen = set(seen_publishers)
    pubs = [feats.publisher[m] for m in models]
    is_seen = np.array([p in seen for p in pubs])
    within = np.zeros_like(cap)
    if is_seen.any():
        idx = np.array([pub_pos[p] for p, ok in zip(pubs, is_seen) if ok])
        within[:, is_seen] = cap[:, is_seen] - post["pub_capability"].astype(F32)[:, idx]
    stage = np.broadcast_to(feats.stage[models].astype(F32)[None],
                            (s_n, len(models), feats.stage.shape[1]))
    return np.concatenate([factors, aux[:, :, :2], stage, aux[:, :, 2:], within], axis=2)


def _mean_logits(post: dict[str, np.ndarray], x: np.ndarray, mask: np.ndarray,
                 row_model: np.ndarray, row_method: np.ndarray) -> np.ndarray:
    """``alpha + x . beta`` per draw and row: ``(S, n_rows, C)``; ``row_model`` indexes x."""
    s_n = x.shape[0]
    xm = x * mask.astype(F32)[None, None, :]
    eta = np.empty((s_n, len(row_model), post["alpha"].shape[2]), dtype=F32)
    for r in np.unique(row_method):
        rows = np.flatnonzero(row_method == r)
        beta_t = np.swapaxes(post["beta"][:, r], 1, 2).astype(F32)  # (S, J, C)
        eta[:, rows] = post["alpha"][:, r].astype(F32)[:, None, :] + np.matmul(
            xm[:, row_model[rows]], beta_t)
    return eta


def _publisher_effects(post: dict[str, np.ndarray], enc: Encoding, keys: list[str],
                       seen_publishers: list[str], row_model: np.ndarray,
                       row_method: np.ndarray, random_seed: int, s_full: int,
                       pick) -> tuple[np.ndarray, np.ndarray]:
    """Per-row publisher effect draws ``(S, rows, C)`` and a mask of rows of new publishers.

    A fitted publisher uses its posterior draws; candidates of one unseen publisher share one
    new draw from the population ``N(0, s_pub[r])``, seeded by the publisher's name.
    """
    s_n = post["alpha"].shape[0]
    pos = {p: i for i, p in enumerate(enc.publishers)}
    seen = set(seen_publishers)
    pubs = [keys[m] for m in row_model]
    new = np.array([p not in seen for p in pubs], dtype=bool)
    n_c = post["u_pub"].shape[3]
    out = np.empty((s_n, len(row_model), n_c), dtype=F32)
    old = np.flatnonzero(~new)
    if len(old):
        pub_idx = np.array([pos[pubs[i]] for i in old])
        out[:, old] = post["u_pub"][:, pub_idx, row_method[old]]
    if new.any():
        groups: dict[tuple[str, int], list[int]] = {}
        for i in np.flatnonzero(new):
            groups.setdefault((pubs[i], int(row_method[i])), []).append(i)
        z = _keyed_normals(random_seed, [("publisher", p, str(r)) for p, r in groups],
                           s_full, n_c, pick)
        for g, ((_, r), rows) in enumerate(groups.items()):
            out[:, rows] = (post["s_pub"][:, r, None] * z[:, g])[:, None, :]
    return out, new


def predictive_draws(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                     seen_publishers: list[str], mask: np.ndarray, row_model: np.ndarray,
                     row_method: np.ndarray, method_names: list[str], random_seed: int,
                     take: np.ndarray | None = None, slot_start: int = 0,
                     n_prompts: np.ndarray | None = None) -> np.ndarray:
    """Joint posterior-predictive accuracy draws of observed RewardBench results.

    Parameters
    ----------
    post : dict of ndarray
        Thinned posterior arrays with a leading sample axis (see ``PREDICTIVE_VARS``).
    take : ndarray of int, optional
        Use only these samples (a structure's share of a stacked mixture).
    slot_start : int
        Output slot of the first sample. A candidate's random numbers are keyed by its id,
        the method and the output slot (common random numbers: they do not depend on the
        batch), and a stack's structures fill consecutive slots.
    mask : ndarray
        The structure's feature mask.
    row_model, row_method : ndarray
        For each output row, the candidate (index into ``feats``) and method (index into the
        posterior's method axis); ``method_names`` names those methods (random-number keys).
    n_prompts : ndarray, optional
        Binomial sizes of the C categories on the posterior's category axis (default: the
        four RewardBench v1 categories).

    Returns
    -------
    ndarray, shape (S, n_rows, C + 1), float32
        Accuracy draws of the C categories and their mean (score). Each
        includes a new run effect, residual noise and the binomial sampling noise of the
        benchmark's prompts (what a new training run would measure).
    """
    if take is not None:
        post = {k: v[take] for k, v in post.items()}
    s_n = post["alpha"].shape[0]
    s_full, pick = _sample_pick(s_n, slot_start)
    row_model, row_method = np.asarray(row_model), np.asarray(row_method)
    n_c = post["alpha"].shape[2]
    out = np.empty((s_n, len(row_model), n_c + 1), dtype=F32)
    s_run, sigma = post["s_run"].astype(F32), post["sigma"].astype(F32)
    for lo in range(0, len(row_model), ROW_CHUNK):
        rows = slice(lo, lo + ROW_CHUNK)
        models, local = np.unique(row_model[rows], return_inverse=True)
        methods = row_method[rows]
        if mask.any():
            x = candidate_features(post, enc, feats, seen_publishers, random_seed, slot_start,
                                   models)
            eta = _mean_logits(post, x, mask, local, methods)
            del x
        else:  # no features used (intercept-only structure): skip drawing them
            eta = post["alpha"][:, methods].astype(F32)
        eta += _publisher_effects(post, enc, feats.publisher, seen_publishers, row_model[rows],
                                  methods, random_seed, s_full, pick)[0]
        z = _keyed_normals(random_seed, [("row", feats.models[m], method_names[r])
                                         for m, r in zip(row_model[rows], methods)],
                           s_full, 1 + 2 * n_c, pick)
        eta += s_run[:, methods, None] * z[:, :, :1] + sigma[:, methods] * z[:, :, 1:1 + n_c]
        p = 1.0 / (1.0 + np.exp(-eta))
        eta += measurement_sd(p, n_prompts).astype(F32) * z[:, :, 1 + n_c:]
        del z, p
        np.negative(eta, out=eta)
        np.exp(eta, out=eta)
        eta += 1.0
        np.reciprocal(eta, out=eta)  # logistic
        out[:, rows, :n_c] = eta
        out[:, rows, n_c] = eta.mean(axis=2)
    return out


def row_log_density(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                    seen_publishers: list[str], mask: np.ndarray, row_model: np.ndarray,
                    row_method: np.ndarray, acc: np.ndarray, random_seed: int,
                    n_prompts: np.ndarray | None = None) -> np.ndarray:
    """Log predictive density of observed rows (their C category logits jointly).

    Per posterior sample the C logits are multivariate normal: the run effect is shared by
    the categories (covariance ``s_run^2``), noise, measurement noise and, for a publisher
    not seen in fit, the publisher effect are independent per category. Latent features are
    integrated by Monte Carlo (one draw per posterior sample). Returns ``(n_rows,)`` values of
    ``log mean_s p(y | sample s)`` on the logit scale.
    """
    from scipy.special import logsumexp

    from rmpredict.models._hier_data import logit

    row_model, row_method = np.asarray(row_model), np.asarray(row_method)
    x = candidate_features(post, enc, feats, seen_publishers, random_seed)
    mean = _mean_logits(post, x, mask, row_model, row_method).astype(float)  # (S, N, C)
    pos = {p: i for i, p in enumerate(enc.publishers)}
    seen = set(seen_publishers)
    pubs = [feats.publisher[m] for m in row_model]
    is_seen = np.array([p in seen for p in pubs], dtype=bool)
    meas = measurement_sd(acc, n_prompts)
    diag = post["sigma"][:, row_method] ** 2 + meas[None] ** 2  # (S, N, C)
    if is_seen.any():
        idx = np.flatnonzero(is_seen)
        mean[:, idx] += post["u_pub"][:, [pos[pubs[i]] for i in idx], row_method[idx]]
    diag[:, ~is_seen] += post["s_pub"][:, row_method[~is_seen], None] ** 2
    run2 = post["s_run"][:, row_method]  # (S, N)
    run2 = run2 * run2
    resid = logit(acc)[None] - mean
    # Woodbury / matrix determinant lemma for D + run2 * 1 1^T.
    inv_d = 1.0 / diag
    denom = 1.0 + run2 * inv_d.sum(2)
    quad = (resid**2 * inv_d).sum(2) - run2 * (resid * inv_d).sum(2) ** 2 / denom
    logdet = np.log(diag).sum(2) + np.log(denom)
    logp = -0.5 * (quad + logdet + acc.shape[1] * np.log(2 * np.pi))
    return logsumexp(logp, axis=0) - np.log(mean.shape[0])


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
    if BENCHMARK_OFFSET in hyper:  # the benchmark deviations are shared by every method
        beta = beta + hyper[BENCHMARK_OFFSET][:, None, :, :]
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
