"""Vectorised posterior-predictive draws for new candidates, from stored posterior arrays.

No PyMC model is rebuilt: each posterior sample's coefficients are combined with the candidate's
features in numpy. Draw ``s`` of every candidate uses posterior sample ``s`` (joint draws), and
candidates of one unseen publisher share that publisher's new random effect.
"""

from __future__ import annotations

import numpy as np

from rmpredict.models._hier_data import Encoding, ModelFeatures

__all__ = ["predictive_draws", "with_new_methods", "HYPER_VARS", "CHUNK_MODELS"]

CHUNK_MODELS = 1024


def _publisher_effects(keys: list[str], seen: list[str], u_pub: np.ndarray,
                       s_pub: np.ndarray, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Publisher effects ``(S, n_groups, R, 4)``, each model's group index, and a singleton mask.

    A fitted publisher uses its posterior draws; an unseen publisher shared by several
    candidates gets one new draw from the population (``N(0, s_pub[r])``) that they all share.
    An unseen publisher with a single candidate is flagged instead: its effect is independent
    per category, so it is folded into that candidate's residual noise (same distribution, half
    the random numbers).
    """
    s_n, _, n_r, n_c = u_pub.shape
    counts: dict[str, int] = {}
    for g in keys:
        counts[g] = counts.get(g, 0) + 1
    pos = {g: i for i, g in enumerate(seen)}
    singleton = np.array([g not in pos and counts[g] == 1 for g in keys])
    groups = sorted({g for g, one in zip(keys, singleton) if not one})
    eff = np.zeros((s_n, len(groups) + 1, n_r, n_c), dtype=np.float32)  # last: zero effect
    for i, g in enumerate(groups):
        if g in pos:
            eff[:, i] = u_pub[:, pos[g]]
        else:
            eff[:, i] = s_pub[:, :, None] * rng.standard_normal((s_n, n_r, n_c), dtype=np.float32)
    index = {g: i for i, g in enumerate(groups)}
    idx = np.array([len(groups) if one else index[g] for g, one in zip(keys, singleton)],
                   dtype=np.int64)
    return eff, idx, singleton


def predictive_draws(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                     seen_publishers: list[str],
                     row_model: np.ndarray, row_method: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Joint posterior-predictive accuracy draws.

    Parameters
    ----------
    post : dict of ndarray
        Posterior arrays with a leading sample axis: ``alpha (S,R,4)``, ``beta (S,R,4,J)``,
        ``u_pub (S,P,R,4)``, ``sigma (S,R,4)``, ``s_run (S,R)``, ``s_pub (S,R)``.
    row_model, row_method : ndarray
        For each output row, the candidate (index into ``feats``) and method (index into
        ``enc.methods``).

    Returns
    -------
    ndarray, shape (S, n_rows, 5), float32
        Accuracy draws for chat, chat_hard, safety, reasoning and their mean (score).
    """
    f32 = np.float32
    s_n = post["alpha"].shape[0]
    n_models, k = feats.factor_mean.shape
    pub_eff, pub_idx, singleton = _publisher_effects(feats.publisher, seen_publishers,
                                                     post["u_pub"], post["s_pub"], rng)
    beta_t = np.swapaxes(post["beta"], 2, 3).astype(f32)  # (S, R, J, 4) for matmul
    alpha = post["alpha"].astype(f32)
    out = np.empty((s_n, len(row_model), 5), dtype=f32)
    order = np.argsort(row_model, kind="stable")
    # Rows built by ``predict`` are grouped by candidate: slices then replace fancy indexing.
    contiguous = bool(np.all(order == np.arange(len(row_model))))
    for start in range(0, n_models, CHUNK_MODELS):
        stop = min(start + CHUNK_MODELS, n_models)
        m = stop - start
        z = rng.standard_normal((s_n, m, k), dtype=f32)
        chol = feats.factor_chol[start:stop].astype(f32)
        factors = np.broadcast_to(feats.factor_mean[None, start:stop].astype(f32),
                                  (s_n, m, k)).copy()
        # K is tiny (3): explicit loops over it beat batched 3x3 matmuls by far.
        for i in range(k):
            for j in range(i + 1):
                factors[:, :, i] += chol[:, i, j] * z[:, :, j]
        cols = [factors]
        for vals in (feats.lp[start:stop], feats.lt[start:stop]):
            draw = np.broadcast_to(vals.astype(f32), (s_n, m)).copy()
            miss = np.isnan(vals)
            if miss.any():
                draw[:, miss] = rng.standard_normal((s_n, int(miss.sum())), dtype=f32)
            cols.append(draw[:, :, None])
        cols.append(np.broadcast_to(feats.stage[None, start:stop].astype(f32),
                                    (s_n, m, feats.stage.shape[1])))
        if feats.dd.shape[1]:
            dd = np.broadcast_to(feats.dd[None, start:stop].astype(f32),
                                 (s_n, m, feats.dd.shape[1])).copy()
            miss = np.isnan(dd[0])
            if miss.any():
                dd[:, miss] = rng.standard_normal((s_n, int(miss.sum())), dtype=f32)
            cols.append(dd)
        x = np.concatenate(cols, axis=2)  # (S, m, J)
        if contiguous:
            lo_, hi_ = np.searchsorted(row_model, [start, stop])
            sel = slice(int(lo_), int(hi_))
            if hi_ == lo_:
                continue
        else:
            sel = order[(row_model[order] >= start) & (row_model[order] < stop)]
            if not len(sel):
                continue
        local = row_model[sel] - start
        meth = row_method[sel]
        eta = np.empty((s_n, len(local), 4), dtype=f32)
        for r in np.unique(meth):
            rows = meth == r
            xr = x[:, local[rows]]
            eta[:, rows] = alpha[:, r][:, None, :] + np.matmul(xr, beta_t[:, r])
        eta += pub_eff[:, pub_idx[row_model[sel]], meth]
        # Every candidate is a new training run: a new run effect and new residual noise.
        run_sd = post["s_run"][:, meth].astype(f32)  # (S, rows)
        eta += (run_sd * rng.standard_normal(run_sd.shape, dtype=f32))[:, :, None]
        noise_sd = post["sigma"][:, meth].astype(f32)  # (S, rows, 4)
        alone = singleton[row_model[sel]]
        if alone.any():
            s_alone = post["s_pub"][:, meth[alone]].astype(f32)[:, :, None]
            noise_sd[:, alone] = np.sqrt(noise_sd[:, alone] ** 2 + s_alone**2)
        eta += noise_sd * rng.standard_normal(eta.shape, dtype=f32)
        np.negative(eta, out=eta)
        np.exp(eta, out=eta)
        eta += 1.0
        np.reciprocal(eta, out=eta)  # logistic
        out[:, sel, :4] = eta
        out[:, sel, 4] = eta.mean(axis=2)
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
    f32 = np.float32
    s_n = post["alpha"].shape[0]
    n_pub, n_c = post["u_pub"].shape[1], post["alpha"].shape[2]
    n_j = post["beta"].shape[3]

    def z(*shape: int) -> np.ndarray:
        return rng.standard_normal((s_n, n_new, *shape)).astype(f32)

    alpha = hyper["a"][:, None, :] + hyper["tau_alpha"][:, None, None] * z(n_c)
    b = hyper["theta"][:, None, :] + hyper["tau_method"][:, None, None] * z(n_j)
    beta = b[:, :, None, :] + hyper["tau_category"][:, None, None, None] * z(n_c, n_j)
    sigma = np.exp(hyper["log_noise_category"][:, None, :]
                   + hyper["tau_noise"][:, None, None] * z(n_c))
    s_pub = np.abs(priors["publisher_scale"] * z())
    s_run = np.abs(priors["run_scale"] * z())
    u_new = s_pub[:, None, :, None] * rng.standard_normal(
        (s_n, n_pub, n_new, n_c)).astype(f32)
    return {
        "alpha": np.concatenate([post["alpha"], alpha.astype(f32)], axis=1),
        "beta": np.concatenate([post["beta"], beta.astype(f32)], axis=1),
        "sigma": np.concatenate([post["sigma"], sigma.astype(f32)], axis=1),
        "s_pub": np.concatenate([post["s_pub"], s_pub], axis=1),
        "s_run": np.concatenate([post["s_run"], s_run], axis=1),
        "u_pub": np.concatenate([post["u_pub"], u_new], axis=2),
    }
