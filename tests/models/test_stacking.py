"""Stacking weights (Yao et al. 2018) and the held-out log density of the predictive."""

from __future__ import annotations

import numpy as np
from scipy import stats

from rmpredict.models._stacking import stacking_objective, stacking_weights


def test_weights_match_a_brute_force_search_over_the_simplex(rng):
    lpd = np.column_stack([rng.normal(-1.0, 0.6, 40), rng.normal(-1.1, 0.9, 40)])
    grid = np.linspace(0.0, 1.0, 2001)
    scores = [stacking_objective(np.array([w, 1 - w]), lpd) for w in grid]
    best = grid[int(np.argmax(scores))]
    w = stacking_weights(lpd)
    assert abs(w[0] - best) < 2e-3 and np.isclose(w.sum(), 1.0)
    assert stacking_objective(w, lpd) >= max(scores) - 1e-9


def test_a_dominated_model_gets_no_weight_and_ties_split_evenly(rng):
    good = rng.normal(-1.0, 0.3, 30)
    w = stacking_weights(np.column_stack([good, good - 3.0]))
    assert w[1] == 0.0 and w[0] == 1.0
    tie = stacking_weights(np.column_stack([good, good]))
    np.testing.assert_allclose(tie, [0.5, 0.5], atol=1e-6)
    assert np.array_equal(stacking_weights(np.zeros((0, 3))), np.full(3, 1 / 3))


def test_complementary_models_are_mixed():
    # Each model is right on half the units: the mixture beats either alone.
    a = np.array([0.0, -6.0] * 10)
    lpd = np.column_stack([a, a[::-1]])
    w = stacking_weights(lpd)
    np.testing.assert_allclose(w, [0.5, 0.5], atol=1e-4)


def test_row_log_density_matches_scipy_multivariate_normal(rng):
    """The Woodbury form of the row density equals a direct multivariate normal."""
    from rmpredict.models._hier_data import Encoding, ModelFeatures, logit, measurement_sd
    from rmpredict.models._hier_predict import row_log_density

    s, k = 3, 2
    enc = Encoding(methods=["m"], publishers=["P"], n_factors=k, datadist=[],
                   lp_center=0.0, lp_scale=1.0, lt_center=0.0, lt_scale=1.0)
    n_feat = len(enc.feature_names)
    post = {
        "alpha": rng.normal(1.0, 0.2, (s, 1, 4)), "beta": rng.normal(0, 0.3, (s, 1, 4, n_feat)),
        "u_pub": rng.normal(0, 0.1, (s, 2, 1, 4)), "sigma": rng.uniform(0.1, 0.4, (s, 1, 4)),
        "s_pub": rng.uniform(0.1, 0.3, (s, 1)), "s_run": rng.uniform(0.1, 0.3, (s, 1)),
        "aux_intercept": np.zeros((s, 2)), "aux_loading": np.zeros((s, k, 2)),
        "aux_sd": np.ones((s, 2)), "pub_capability": np.zeros((s, 2, k + 1)),
    }
    # Exact features (no factor uncertainty, observed aux): the density is a pure MVN mixture.
    feats = ModelFeatures(models=["a", "b"], factor_mean=rng.normal(size=(2, k)),
                          factor_chol=np.zeros((2, k, k)), n_benchmarks=np.array([6, 6]),
                          aux=rng.normal(size=(2, 2)), stage=np.zeros((2, 4)),
                          publisher=["P", "Q"], stage_missing=np.zeros(2, bool))
    acc = rng.uniform(0.6, 0.95, (2, 4))
    mask = np.ones(n_feat)
    got = row_log_density(post, enc, feats, ["P"], mask, np.array([0, 1]), np.array([0, 0]),
                          acc, random_seed=0)
    y, meas = logit(acc), measurement_sd(acc)
    for i, pub_seen in enumerate([True, False]):
        x = np.concatenate([feats.factor_mean[i], feats.aux[i], np.zeros(4),
                            feats.factor_mean[i], feats.aux[i, :1]] if pub_seen else
                           [feats.factor_mean[i], feats.aux[i], np.zeros(4), np.zeros(k + 1)])
        dens = []
        for j in range(s):
            mean = post["alpha"][j, 0] + post["beta"][j, 0] @ x
            cov = np.diag(post["sigma"][j, 0] ** 2 + meas[i] ** 2) \
                + post["s_run"][j, 0] ** 2 * np.ones((4, 4))
            if pub_seen:
                mean = mean + post["u_pub"][j, 0, 0]
            else:
                cov = cov + np.eye(4) * post["s_pub"][j, 0] ** 2
            dens.append(stats.multivariate_normal(mean, cov).logpdf(y[i]))
        expected = np.logaddexp.reduce(dens) - np.log(s)
        np.testing.assert_allclose(got[i], expected, rtol=1e-5)
