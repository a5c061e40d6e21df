"""Study evaluation helpers: presence-vs-mixture recovery, transfer metrics, config presets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.exceptions import InvalidParameterError
from rmpredict.study import StudyConfig, presence_recovery, study_config_preset
from rmpredict.study._evaluate import transfer_metrics

DOMAINS = ("books", "code", "definitions", "exam", "technical")


def _ladder(rng, noise):
    mixtures = {"s-prose": dict(zip(DOMAINS, (0.45, 0.05, 0.30, 0.05, 0.15))),
                "s-code": dict(zip(DOMAINS, (0.05, 0.45, 0.05, 0.30, 0.15))),
                "l-prose": dict(zip(DOMAINS, (0.45, 0.05, 0.30, 0.05, 0.15))),
                "l-code": dict(zip(DOMAINS, (0.05, 0.45, 0.05, 0.30, 0.15)))}
    difficulty = dict(zip(DOMAINS, (-4.0, -2.0, -3.5, -3.0, -4.5)))
    quality = {"s-prose": 0.0, "s-code": 0.1, "l-prose": 0.8, "l-code": 0.9}
    rows = []
    for m, mix in mixtures.items():
        rows.append({"model": m, **{f"datadist_{d}": difficulty[d] + quality[m]
                                    + 0.3 * np.log(w) + noise * rng.normal()
                                    for d, w in mix.items()}})
    groups = {m: m.split("-")[0] for m in mixtures}
    return pd.DataFrame(rows), mixtures, groups


def test_presence_recovery_removes_difficulty_and_quality():
    feats, mixtures, groups = _ladder(np.random.default_rng(0), noise=0.0)
    table, stats = presence_recovery(feats, mixtures, groups)
    # Presence is an exact increasing function of log weight once the nuisances are removed.
    assert stats["pearson_centred"] == pytest.approx(1.0)
    assert stats["top_domain_hits"] == 4 and stats["n_models"] == 4
    # 2 groups x 1 pair x 4 domains with different weights (technical is 0.15 in both)
    assert stats["pairwise_comparisons"] == 8 and stats["pairwise_sign_agreement"] == 8
    # Raw presence is dominated by domain difficulty, so it does not recover the mixture.
    assert stats["spearman_raw"] < 0.9
    np.testing.assert_allclose(table.groupby("model")["presence_centred"].sum(), 0, atol=1e-12)


def test_presence_recovery_with_no_signal_is_near_zero():
    rng = np.random.default_rng(1)
    feats, mixtures, groups = _ladder(rng, noise=0.0)
    shuffled = feats.copy()
    for c in shuffled.columns[1:]:
        shuffled[c] = rng.normal(size=len(shuffled))
    _, stats = presence_recovery(shuffled, mixtures, groups)
    assert abs(stats["pearson_centred"]) < 0.6


def test_presence_recovery_needs_two_models():
    feats, mixtures, groups = _ladder(np.random.default_rng(0), noise=0.0)
    with pytest.raises(InvalidParameterError, match="at least two ladder models"):
        presence_recovery(feats.head(1), mixtures, groups)


def test_transfer_metrics_by_hand():
    obs = pd.DataFrame({"model": ["a", "b", "c"], "chat": [0.6, 0.7, 0.8],
                        "chat_hard": [0.5] * 3, "safety": [0.5] * 3, "reasoning": [0.5] * 3})
    obs["score"] = obs[["chat", "chat_hard", "safety", "reasoning"]].mean(axis=1)
    rows = []
    for m, mu in zip("abc", (0.55, 0.75, 0.8)):
        for t in ("chat", "chat_hard", "safety", "reasoning", "score"):
            truth = float(obs.set_index("model").loc[m, t])
            centre = mu if t == "chat" else truth
            rows.append({"model": m, "target": t, "mean": centre, "lower": centre - 0.02,
                         "upper": centre + 0.02, "lower50": centre - 0.01,
                         "upper50": centre + 0.01})
    pred = pd.DataFrame(rows)
    out = transfer_metrics(pred, obs)
    assert out["mae_categories"] == pytest.approx(100 * (0.05 + 0.05 + 0.0) / 12)
    assert out["coverage90_categories"] == pytest.approx(10 / 12)
    assert out["mae_score"] == pytest.approx(0.0)
    assert out["spearman_score"] == pytest.approx(1.0) and out["n_models"] == 3


def test_presets_and_validation():
    cpu = study_config_preset("cpu")
    assert "smollm2-135m" in cpu.models and cpu.ladder == "default"
    with pytest.raises(InvalidParameterError, match="unknown study preset"):
        study_config_preset("huge")
    with pytest.raises(InvalidParameterError, match="train_pairs must be an integer >= 1"):
        StudyConfig(train_pairs=0)
    with pytest.raises(InvalidParameterError, match="unknown study setting"):
        StudyConfig.from_dict({"trian_pairs": 3})


def test_preset_ladder_names_exist():
    pytest.importorskip("torch")
    from rmpredict.study import DEFAULT_LADDER, PACKAGED_BASES, TINY_LADDER

    names = {s.name for s in DEFAULT_LADDER} | set(PACKAGED_BASES)
    for preset in ("cpu", "gpu"):
        assert set(study_config_preset(preset).models) <= names
    assert set(study_config_preset("tiny").models) <= {s.name for s in TINY_LADDER}


@pytest.mark.slow
@pytest.mark.filterwarnings(
    # 80 draws cannot reach the ESS target; the study group is extrapolated by design.
    "ignore::rmpredict.exceptions.ConvergenceWarning")
def test_evaluate_with_presence_features_on_a_synthetic_study(tmp_path, rng):
    from rmpredict._io import write_table_atomic
    from rmpredict.study import STUDY_METHOD, evaluate_study, write_study_config

    write_study_config(tmp_path, study_config_preset("tiny"))
    rows = []
    for i in range(4):
        dd = rng.normal(-3, 0.3, size=5)
        acc = 1 / (1 + np.exp(-(0.2 + 0.5 * (dd.mean() + 3) + rng.normal(0, 0.1, size=4))))
        rows.append({"model": f"syn/m{i}", "method": STUDY_METHOD, "publisher": f"p{i % 2}",
                     "params_b": 0.1 * (i + 1), "post_training": "base", "mmlu": 0.25,
                     **dict(zip(("chat", "chat_hard", "safety", "reasoning"), acc)),
                     **{f"datadist_{d}": v for d, v in zip(DOMAINS, dd)}})
    table = pd.DataFrame(rows)
    table["score"] = table[["chat", "chat_hard", "safety", "reasoning"]].mean(axis=1)
    write_table_atomic(tmp_path / "results.csv", table)
    rep = evaluate_study(tmp_path, draws=80, tune=80, chains=2)
    settings = set(rep.metrics["setting"])
    assert "joint+datadist:leave_one_model_out" in settings
    dd = rep.predictions[rep.predictions["setting"] == "joint+datadist:leave_one_model_out"]
    assert set(dd["model"]) == set(table["model"]) and dd["mean"].between(0, 1).all()
    assert rep.presence.empty and rep.presence_stats == {}  # no ladder bases in this run
