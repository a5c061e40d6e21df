"""Vectorised posterior-predictive draws for new candidates, from stored posterior arrays.

No PyMC model is rebuilt: each posterior sample's coefficients are combined with the candidate's
features in numpy. Draw ``s`` of every candidate uses posterior sample ``s`` (joint draws), and
candidates of one unseen publisher share that publisher's new random effect.
"""

from __future__ import annotations

import numpy as np

from rmpredict.models._hier_data import Encoding, ModelFeatures

__all__ = ["predictive_draws", "CHUNK_MODELS"]

CHUNK_MODELS = 1024


def _publisher_effects(keys: list[str], seen: list[str], u_pub: np.ndarray,
                       s_pub: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Publisher effect per model, shape (S, n_models, R, 4).

    A fitted publisher uses its posterior draws; an unseen one gets new draws from the
    population (``N(0, s_pub[r])``), shared by all candidates of that publisher.
    """
    s_n, _, n_r, n_c = u_pub.shape
    uniq = sorted(set(keys))
    pos = {g: i for i, g in enumerate(seen)}
    eff = np.empty((s_n, len(uniq), n_r, n_c))
    for i, g in enumerate(uniq):
        if g in pos:
            eff[:, i] = u_pub[:, pos[g]]
        else:
            eff[:, i] = s_pub[:, :, None] * rng.standard_normal((s_n, n_r, n_c))
    idx = np.array([uniq.index(g) for g in keys], dtype=np.int64)
    return eff[:, idx]


def predictive_draws(post: dict[str, np.ndarray], enc: Encoding, feats: ModelFeatures,
                     seen_publishers: list[str],
                     row_model: np.ndarray, row_method: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Joint posterior-predictive accuracy draws.

    Parameters
    ----------
    post : dict of ndarray
        Posterior arrays with a leading sample axis: ``alpha (S,R,4)``, ``beta (S,R,4,J)``,
        ``u_pub (S,P,R,4)``, ``sigma (S,R,4)``, ``s_run (S,R)``,
        ``s_pub (S,R)``.
    row_model, row_method : ndarray
        For each output row, the candidate (index into ``feats``) and method (index into
        ``enc.methods``).

    Returns
    -------
    ndarray, shape (S, n_rows, 5), float32
        Accuracy draws for chat, chat_hard, safety, reasoning and their mean (score).
    """
    s_n = post["alpha"].shape[0]
    n_models, k = feats.factor_mean.shape
    pub = _publisher_effects(feats.publisher, seen_publishers, post["u_pub"], post["s_pub"], rng)
    out = np.empty((s_n, len(row_model), 5), dtype=np.float32)
    order = np.argsort(row_model, kind="stable")
    for start in range(0, n_models, CHUNK_MODELS):
        stop = min(start + CHUNK_MODELS, n_models)
        m = stop - start
        z = rng.standard_normal((s_n, m, k))
        factors = feats.factor_mean[None, start:stop] + np.einsum(
            "mkl,sml->smk", feats.factor_chol[start:stop], z)
        cols = [factors]
        for vals in (feats.lp[start:stop], feats.lt[start:stop]):
            draw = np.broadcast_to(vals, (s_n, m)).copy()
            miss = np.isnan(vals)
            if miss.any():
                draw[:, miss] = rng.standard_normal((s_n, int(miss.sum())))
            cols.append(draw[:, :, None])
        cols.append(np.broadcast_to(feats.stage[None, start:stop], (s_n, m, feats.stage.shape[1])))
        if feats.dd.shape[1]:
            dd = np.broadcast_to(feats.dd[None, start:stop], (s_n, m, feats.dd.shape[1])).copy()
            miss = np.isnan(dd[0])
            if miss.any():
                dd[:, miss] = rng.standard_normal((s_n, int(miss.sum())))
            cols.append(dd)
        x = np.concatenate(cols, axis=2)  # (S, m, J)
        sel = order[(row_model[order] >= start) & (row_model[order] < stop)]
        if not len(sel):
            continue
        local = row_model[sel] - start
        meth = row_method[sel]
        eta = np.empty((s_n, len(sel), 4))
        for r in np.unique(meth):
            rows = meth == r
            lin = np.einsum("smj,scj->smc", x[:, local[rows]], post["beta"][:, r])
            eta[:, rows] = post["alpha"][:, r][:, None, :] + lin
        mdl = row_model[sel]
        eta += pub[:, mdl, meth]
        run_sd = post["s_run"][:, meth]  # (S, rows): every candidate is a new training run
        eta += (run_sd * rng.standard_normal(run_sd.shape))[:, :, None]
        noise_sd = post["sigma"][:, meth]  # (S, rows, 4)
        eta += noise_sd * rng.standard_normal(noise_sd.shape)
        acc = 1.0 / (1.0 + np.exp(-eta))
        out[:, sel, :4] = acc
        out[:, sel, 4] = acc.mean(axis=2)
    return out
