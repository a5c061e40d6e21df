"""The closed-form predictive moments against the Monte-Carlo predictive they summarise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.models._hier_data import logit, model_features
from rmpredict.models._hier_moments import mix_moments

# Seen and unseen publishers, all six scores or one, size given or imputed, two stages.
MIXED = pd.DataFrame({
    "model": ["Qwen/Qwen2.5-7B-Instruct~a", "lab/one-score", "lab/no-size", "x/base"],
    "publisher": ["Alibaba", "NewLab", "Meta", "Other"],
    "mmlu_pro": [0.43, 0.30, 0.35, 0.25], "ifeval": [0.76, np.nan, 0.70, 0.30],
    "bbh": [0.54, np.nan, 0.48, 0.40], "math_lvl5": [0.50, np.nan, 0.20, 0.05],
    "gpqa": [0.29, np.nan, 0.30, 0.27], "musr": [0.40, np.nan, 0.38, 0.35],
    "params_b": [7.6, 3.0, np.nan, 1.5], "pretrain_tokens_t": [18.0, np.nan, 15.0, 2.0],
    "post_training": ["instruct", "instruct", "instruct", "base"]})

N_SEEDS = 24  # 24 x 300 posterior samples: Monte-Carlo SE of a mean ~0.012 predictive SD


@pytest.mark.parametrize("structure", ["full", "capability", "intercept"])
@pytest.mark.parametrize("method", ["regression", "bradley_terry"])
def test_logit_moments_match_monte_carlo(small_model, structure, method):
    member = small_model.members_[structure]
    feats = model_features(MIXED, small_model.encoding_, small_model.factor_model_)
    rows = np.arange(len(MIXED))
    n = 10_000
    mean, cov = member.moments(feats, rows, method, n)
    draws = np.concatenate([member.predictive(feats, rows, method, n, seed)
                            for seed in range(N_SEEDS)])
    x = logit(draws[..., :4].astype(float))
    mc_mean = x.mean(axis=0)
    dev = x - mc_mean
    mc_cov = np.einsum("src,srd->rcd", dev, dev) / len(x)
    sd = np.sqrt(np.diagonal(mc_cov, axis1=1, axis2=2))
    csd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    # ~5 Monte-Carlo standard errors (the closed form's measurement SD, taken at the mean
    # instead of per draw, adds well under one).
    np.testing.assert_allclose(mean, mc_mean, atol=0.07 * sd.min())
    np.testing.assert_allclose(csd, sd, rtol=0.06)
    corr = cov / (csd[:, :, None] * csd[:, None, :])
    mc_corr = mc_cov / (sd[:, :, None] * sd[:, None, :])
    np.testing.assert_allclose(corr, mc_corr, atol=0.07)


def test_mix_moments_is_the_pooled_mean_and_covariance():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (4000, 3, 4)) @ rng.normal(0, 1, (4, 4))
    b = rng.normal(1.0, 0.5, (1000, 3, 4))
    parts = []
    for x in (a, b):
        m = x.mean(0)
        d = x - m
        parts.append((len(x), m, np.einsum("src,srd->rcd", d, d) / len(x)))
    mean, cov = mix_moments(parts)
    pooled = np.concatenate([a, b])
    d = pooled - pooled.mean(0)
    np.testing.assert_allclose(mean, pooled.mean(0), atol=1e-12)
    np.testing.assert_allclose(cov, np.einsum("src,srd->rcd", d, d) / len(pooled), atol=1e-10)
