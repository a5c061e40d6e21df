"""Trust flags: stored held-out skill, known results, stage support, new recipes, identity."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rmpredict.decisions import (
    NoSkillWarning,
    attach_trust,
    compute_trust,
    rank_candidates,
    resolve_method,
    suggest_next,
)
from rmpredict.decisions._trust import model_identity, parse_card_evaluation, skill_status
from rmpredict.exceptions import InvalidParameterError, RMPredictWarning
from rmpredict.release import bundled_registry_dir, read_registry


def test_bundled_card_evaluation_gives_regression_skill_and_none_for_bt():
    releases = read_registry()
    assert releases, "the package ships a release"
    results = parse_card_evaluation(releases[-1].card_path.read_text(encoding="utf-8"))
    assert set(results) >= {"bayes", "mean"}
    reg, bt = results["bayes"]["regression"], results["bayes"]["bradley_terry"]
    assert skill_status(reg["mae"], results["mean"]["regression"]["mae"],
                        reg["spearman"]) == "demonstrated"
    assert skill_status(bt["mae"], results["mean"]["bradley_terry"]["mae"],
                        bt["spearman"]) == "none"
    assert results["ridge"]["regression"]["interval_coverage_90"] is None  # "–" cells


def test_skill_status_rule():
    assert skill_status(3.0, 6.0, 0.7) == "demonstrated"
    assert skill_status(5.8, 4.7, 0.1) == "none"     # worse than the mean
    assert skill_status(3.0, 6.0, -0.1) == "none"    # better MAE, but no ranking signal
    assert skill_status(None, 6.0, 0.7) == "unknown"
    assert skill_status(float("nan"), 6.0, 0.7) == "unknown"


def test_compute_trust_flags(stub_predictor):
    predictor, result = stub_predictor(stages={})
    cands = pd.DataFrame({"model": [f"org/model-{i}" for i in range(5)],
                          "post_training": ["instruct", "instruct", "base", None, "instruct"]})
    trust = compute_trust(result, predictor, cands)
    rows = pd.concat([result.index[["model", "method"]], trust.rows], axis=1)
    by = rows.set_index(["model", "method"])
    # skill from the release card: regression demonstrated, BT none
    assert by.loc[("org/model-0", "regression"), "skill"] == "demonstrated"
    assert by.loc[("org/model-0", "bradley_terry"), "skill"] == "none"
    # known result: the fitted (model, method) rows, with the observed value
    assert bool(by.loc[("org/model-1", "regression"), "known_result"])
    assert by.loc[("org/model-1", "regression"), "observed_score"] == pytest.approx(0.8)
    assert not bool(by.loc[("org/model-0", "regression"), "known_result"])
    assert np.isnan(by.loc[("org/model-0", "regression"), "observed_score"])
    # stage 'base' has no training model (< 3): flagged, with N stated
    base = by.loc[("org/model-2", "regression")]
    assert bool(base["extrapolated"])
    assert "stage 'base' rests on 0 training models (< 3)" in base["extrapolation"]
    assert not bool(by.loc[("org/model-3", "regression"), "extrapolated"])  # missing = instruct
    assert not rows["new_recipe"].any()
    assert trust.release == "stub@1" and trust.model_sha256 == "ab" * 32
    assert trust.stage_support == {"instruct": 5}


def test_one_training_model_stage_is_flagged(stub_predictor):
    predictor, result = stub_predictor(stages={"train/model-0": "base"})
    cands = pd.DataFrame({"model": [f"org/model-{i}" for i in range(5)],
                          "post_training": ["base"] * 5})
    trust = compute_trust(result, predictor, cands, min_stage_support=2)
    assert trust.rows["extrapolated"].all()
    assert trust.rows["extrapolation"].str.contains(
        "stage 'base' rests on 1 training model (< 2)", regex=False).all()


def test_feature_extrapolation_from_notes(stub_predictor):
    predictor, result = stub_predictor()
    result.notes = pd.DataFrame({"model": ["org/model-4"], "extrapolated": ["log_params"]})
    trust = compute_trust(result, predictor)
    flagged = result.index["model"].eq("org/model-4").to_numpy()
    assert trust.rows["extrapolated"].to_numpy(dtype=bool).tolist() == flagged.tolist()
    assert (trust.rows.loc[flagged, "extrapolation"]
            == "outside training range: log_params").all()


def test_user_fitted_model_and_new_recipe(stub_predictor):
    predictor, result = stub_predictor(methods=("regression", "my_new"), with_release=False)
    trust = compute_trust(result, predictor)
    by_method = dict(zip(result.index["method"], trust.rows["skill"]))
    assert by_method == {"regression": "unknown", "my_new": "unknown"}
    assert "user-fitted" in trust.skill["regression"].source
    new = trust.rows["new_recipe"].to_numpy(dtype=bool)
    assert new.tolist() == result.index["method"].eq("my_new").tolist()
    assert "not seen in fit" in trust.skill["my_new"].source
    assert trust.release is None


def test_resolve_method_did_you_mean():
    known = ("bradley_terry", "regression", "my_recipe")
    assert resolve_method("my_recipe", known) == "my_recipe"
    assert resolve_method("all", known) == "all"
    with pytest.raises(InvalidParameterError, match=r"did you mean 'regression'\?"):
        resolve_method("regresion", known)
    with pytest.raises(InvalidParameterError, match=r"did you mean 'bradley_terry'\?"):
        resolve_method("Bradley_Terry", known)
    with pytest.raises(InvalidParameterError, match="the model knows 'bradley_terry', "
                                                    "'regression', 'my_recipe'"):
        resolve_method("zzz", known)


def test_rank_warns_once_without_skill_and_orders_skilled_first(stub_predictor):
    predictor, result = stub_predictor()
    assert list(dict.fromkeys(result.index["method"])) == ["bradley_terry", "regression"]
    with pytest.warns(NoSkillWarning) as caught:
        ranking = rank_candidates(result, predictor=predictor)
    assert len(caught) == 1
    assert issubclass(NoSkillWarning, RMPredictWarning)
    assert str(caught[0].message).startswith(
        "Bradley–Terry: benchmarks have not predicted out-of-publisher accuracy better than "
        "the mean")
    assert ranking.methods == ["regression", "bradley_terry"]
    text = str(ranking)
    assert text.index("== method regression") < text.index("== method bradley_terry")
    caveat = text.split("== method bradley_terry")[1].splitlines()[1]
    assert caveat.startswith("caveat: Bradley–Terry: benchmarks have not predicted "
                             "out-of-publisher accuracy better than the mean")
    assert caveat.endswith("the ranking below is mostly prior.")
    reg = text.split("== method regression")[1].splitlines()[1]
    assert reg.startswith("Regression: held-out skill demonstrated") and "Spearman 0.77" in reg
    table = ranking.to_frame()
    known = table[table["known_result"].fillna(False).astype(bool)]
    assert set(known["model"]) == {"org/model-1"} and (known["observed"] == 0.8).all()
    assert ranking.provenance["release"] == "stub@1"


def test_rank_with_skill_only_does_not_warn(stub_predictor):
    predictor, result = stub_predictor(methods=("regression",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranking = rank_candidates(result, predictor=predictor)
    assert (ranking.table["skill"] == "demonstrated").all()


def test_attached_trust_travels_with_select_and_to_frame(stub_predictor):
    predictor, result = stub_predictor()
    attach_trust(result, predictor)
    assert result.provenance["model_sha256"] == "ab" * 32
    sub = result.select("regression")
    assert len(sub.trust.rows) == len(sub.index)
    frame = sub.to_frame()
    for col in ("skill", "known_result", "observed", "extrapolated", "new_recipe"):
        assert col in frame
    known = frame[(frame["model"] == "org/model-1") & (frame["target"] == "score")]
    assert known["observed"].iloc[0] == pytest.approx(0.8)
    with pytest.warns(NoSkillWarning):
        suggestion = suggest_next(result, budget=1)
    assert suggestion.methods == ["regression", "bradley_terry"]


def test_suggest_does_not_pick_known_results(stub_predictor):
    predictor, result = stub_predictor(methods=("regression",), known=("org/model-0",
                                                                         "org/model-1",
                                                                         "org/model-2"))
    free = suggest_next(result, budget=2, exclude_known=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sug = suggest_next(result, budget=2, predictor=predictor)
    assert not set(sug.chosen["regression"]) & {"org/model-0", "org/model-1", "org/model-2"}
    table = sug.table.set_index("model")
    assert not table.loc["org/model-1", "eligible"] and np.isnan(table.loc["org/model-1", "kg"])
    assert table.loc["org/model-1", "observed"] == pytest.approx(0.8)
    assert "result already known (observed): " in str(sug)
    assert sug.screen["regression"]["excluded_known"] == 3
    assert free.table["eligible"].all()
    with pytest.raises(InvalidParameterError, match="known results are not suggested"):
        suggest_next(result, budget=3, predictor=predictor)


def test_model_identity_matches_bundled_release_by_sha256():
    release = read_registry()[-1]
    path = bundled_registry_dir() / release.file
    name, digest, found = model_identity(object(), path)
    assert name == release.full_name and digest == release.sha256
    assert found.card_path.exists()


def test_resolve_method_accepts_the_reserved_new_recipe_name():
    known = ("bradley_terry", "regression")
    assert resolve_method("new", known, extra=("new",)) == "new"
    with pytest.raises(InvalidParameterError, match=r"'new' \(a recipe not fitted\)"):
        resolve_method("nwe", known, extra=("new",))
    with pytest.raises(InvalidParameterError):
        resolve_method("new", known)
