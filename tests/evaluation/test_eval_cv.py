"""Leave-one-publisher-out: fold construction, metrics and the metrics.json shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rmpredict.datasets import CATEGORIES, TARGETS
from rmpredict.evaluation import crps_gaussian, leave_one_publisher_out, spearman
from rmpredict.exceptions import DataValidationError, InvalidParameterError
from rmpredict.models import (
    BaseRMPredictor,
    MeanBaseline,
    OLSBaseline,
    PredictionResult,
    RidgeBaseline,
    as_results_frame,
    mark_validated,
)

SEEN: list[dict] = []


class _Spy(BaseRMPredictor):
    """Records what each clone was trained on and predicts a constant."""

    name = "spy"

    def __init__(self, *, tag: str = "x") -> None:
        self.tag = tag

    def _fit(self, frame):
        SEEN.append({"publishers": set(frame["publisher"]), "methods": set(frame["method"]),
                     "n": len(frame), "estimator": self})

    def _predict(self, frame, index, ci_prob):
        assert not set(TARGETS) & set(frame.columns), "held-out targets leaked to predict"
        shape = (len(index), len(TARGETS))
        nan = np.full(shape, np.nan)
        return PredictionResult(index=index[["model", "method"]], targets=TARGETS,
                                mean=np.full(shape, 0.7), sd=nan, lower=nan, upper=nan,
                                ci_prob=ci_prob)


class _GaussDraws(BaseRMPredictor):
    """Predicts N(0.7, 0.05) for every cell through joint draws (the Bayesian path)."""

    name = "gauss"

    def __init__(self, *, n_draws: int = 4000) -> None:
        self.n_draws = n_draws

    def _fit(self, frame):
        pass

    def _predict(self, frame, index, ci_prob):
        rng = np.random.default_rng(0)
        draws = rng.normal(0.7, 0.05, size=(self.n_draws, len(index), len(TARGETS)))
        return PredictionResult.from_draws(index[["model", "method"]], TARGETS, draws,
                                           ci_prob, predictor="gauss")


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return as_results_frame(None)


@pytest.fixture(scope="module")
def fast_eval(ref):
    return leave_one_publisher_out(
        {"mean": MeanBaseline(), "ridge": RidgeBaseline(), "ols": OLSBaseline()}, ref,
        progress=False)


def test_folds_hold_out_whole_publishers_and_train_on_all_methods(ref):
    SEEN.clear()
    spy = _Spy()
    ev = leave_one_publisher_out({"spy": spy}, ref, progress=False)
    pubs = sorted(ref["publisher"].unique())
    assert ev.folds["publisher"].tolist() == pubs
    # One fresh clone per fold. SEEN keeps every clone alive, so identity (``is``) is a sound
    # test; id()s of objects already collected could be reused and compare equal by accident.
    fitted = [s["estimator"] for s in SEEN]
    assert len(fitted) == len(pubs)
    assert all(est is not spy for est in fitted)  # the caller's estimator is never fitted
    assert all(a is not b for i, a in enumerate(fitted) for b in fitted[i + 1:])
    for fold, seen in zip(ev.folds.to_dict("records"), SEEN):
        assert fold["publisher"] not in seen["publishers"]
        assert seen["n"] == len(ref) - fold["n_rows"]
        if fold["publisher"] != "Nous Research":
            assert seen["methods"] == {"regression", "bradley_terry"}
    # every observed (model, method, target) cell is predicted exactly once, in its fold
    p = ev.predictions
    assert len(p) == len(ref) * len(TARGETS)
    assert not p.duplicated(["model", "method", "target"]).any()
    pub_of = dict(zip(ref["model"], ref["publisher"]))
    assert (p["model"].map(pub_of) == p["publisher"]).all()


class _SpyRows(_Spy):
    """Also records the (model, method) pairs each clone was trained on."""

    def _fit(self, frame):
        super()._fit(frame)
        SEEN[-1]["pairs"] = set(zip(frame["model"], frame["method"]))


def test_extra_training_rows_follow_the_fold_and_are_never_evaluated(ref):
    from rmpredict.datasets import public_training_rows

    extra = public_training_rows()
    SEEN.clear()
    ev = leave_one_publisher_out({"spy": _SpyRows()}, ref, extra_train=extra, progress=False)
    extra_pairs = set(zip(extra["model"], extra["method"]))
    for fold, seen in zip(ev.folds.to_dict("records"), SEEN):
        held = set(ref.loc[ref["publisher"] == fold["publisher"], "model"])
        used = seen["pairs"] & extra_pairs
        # Exactly the extra rows of other publishers and other models reach training.
        expected = {(m, r) for m, r, p in zip(extra["model"], extra["method"],
                                              extra["publisher"])
                    if p != fold["publisher"] and m not in held}
        assert used == expected
        assert fold["n_extra_train_rows"] == len(expected)
        assert fold["publisher"] not in seen["publishers"]
    # Meta's public rows (most of them) are out of the Meta fold, in the others.
    meta = SEEN[[f["publisher"] for f in ev.folds.to_dict("records")].index("Meta")]
    assert not any(p == "Meta" for p in meta["publishers"])
    assert set(ev.predictions["method"]) == {"regression", "bradley_terry"}
    assert ev.provenance["extra_train"]["n_rows"] == len(extra)


def test_extra_training_rows_must_not_repeat_evaluated_pairs(ref):
    with pytest.raises(InvalidParameterError, match="extra_train.*repeat"):
        leave_one_publisher_out({"spy": _Spy()}, ref, extra_train=ref.head(3),
                                progress=False)


def test_mean_baseline_metrics_match_independent_computation(ref, fast_eval):
    m = fast_eval.metrics().set_index(["predictor", "method"])
    for method in ("regression", "bradley_terry"):
        rows = ref[ref["method"] == method]
        preds, obs = [], []
        for pub in sorted(ref["publisher"].unique()):
            train = rows[rows["publisher"] != pub]
            test = rows[rows["publisher"] == pub]
            preds += [train["score"].mean()] * len(test)
            obs += test["score"].tolist()
        preds, obs = np.array(preds), np.array(obs)
        rec = m.loc[("mean", method)]
        assert rec["mae"] == pytest.approx(np.mean(np.abs(preds - obs)), abs=1e-12)
        assert rec["rmse"] == pytest.approx(np.sqrt(np.mean((preds - obs) ** 2)), abs=1e-12)
        assert rec["spearman"] == pytest.approx(spearman(obs, preds), abs=1e-12)
        assert rec["n"] == len(rows)
        assert np.isnan(rec["interval_coverage_90"]) and np.isnan(rec["crps"])


def test_interval_metrics_use_category_cells_and_the_predictors_intervals(fast_eval):
    p = fast_eval.predictions
    ols = p[p["predictor"] == "ols"]
    assert ols["in_90"].notna().all() and ols["crps"].notna().all()
    hit90 = ((ols["lower"] <= ols["observed"]) & (ols["observed"] <= ols["upper"]))
    np.testing.assert_array_equal(ols["in_90"].to_numpy(), hit90.astype(float).to_numpy())
    m = fast_eval.metrics().set_index(["predictor", "method"])
    for method in ("regression", "bradley_terry"):
        cells = ols[(ols["method"] == method) & ols["target"].isin(CATEGORIES)]
        rec = m.loc[("ols", method)]
        assert rec["interval_coverage_90"] == pytest.approx(cells["in_90"].mean())
        assert rec["interval_coverage_50"] == pytest.approx(cells["in_50"].mean())
        score = ols[(ols["method"] == method) & (ols["target"] == "score")]
        assert rec["crps"] == pytest.approx(crps_gaussian(
            score["mean"], score["sd"], score["observed"]).mean())
        # 50% intervals are narrower than 90% ones: never more coverage
        assert rec["interval_coverage_50"] <= rec["interval_coverage_90"]
    assert p.loc[p["predictor"] == "ridge", "in_50"].isna().all()


def test_draws_path_coverage_and_crps(ref):
    ev = leave_one_publisher_out({"gauss": _GaussDraws()}, ref, progress=False)
    p = ev.predictions
    y = p["observed"].to_numpy()
    z50, z90 = 0.6744897501960817, 1.6448536269514722
    # draws are N(0.7, 0.05): interval hits agree with the exact normal quantiles except for
    # observations within Monte Carlo error of an interval end
    exact90 = (np.abs(y - 0.7) <= z90 * 0.05).astype(float)
    exact50 = (np.abs(y - 0.7) <= z50 * 0.05).astype(float)
    assert np.mean(p["in_90"] == exact90) > 0.97 and np.mean(p["in_50"] == exact50) > 0.97
    exact = crps_gaussian(0.7, 0.05, y)  # Monte Carlo error of 4000 draws ~1e-3
    np.testing.assert_allclose(p["crps"], exact, rtol=0.05, atol=2e-3)
    assert p["crps"].mean() == pytest.approx(exact.mean(), rel=0.01)
    np.testing.assert_allclose(p["pit"], stats.norm.cdf((y - 0.7) / 0.05), atol=0.03)


def test_to_json_shape_units_and_points(fast_eval):
    doc = fast_eval.to_json()
    assert doc["protocol"] == "leave-one-publisher-out"
    assert set(doc["results"]) == {"mean", "ridge", "ols"}
    keys = ["mae", "rmse", "spearman", "coverage_at_k", "interval_coverage_50",
            "interval_coverage_90", "crps", "n"]
    m = fast_eval.metrics().set_index(["predictor", "method"])
    for pred, by_method in doc["results"].items():
        assert set(by_method) == {"regression", "bradley_terry"}
        for method, rec in by_method.items():
            assert list(rec) == keys
            assert rec["mae"] == pytest.approx(100 * m.loc[(pred, method), "mae"], abs=1e-5)
            assert rec["spearman"] == pytest.approx(m.loc[(pred, method), "spearman"], abs=1e-5)
    assert doc["results"]["ridge"]["regression"]["interval_coverage_90"] is None
    assert set(doc["per_target"]["ols"]["regression"]) == set(TARGETS)
    assert "points" in doc["units"]["mae"]
    prov = doc["provenance"]
    assert prov["protocol"] == "leave-one-publisher-out" and len(prov["data_hash"]) == 16
    assert prov["rmpredict_version"]


def test_per_target_score_equals_headline_point_metrics(fast_eval):
    head = fast_eval.metrics().set_index(["predictor", "method"])
    per = fast_eval.per_target()
    score = per[per["target"] == "score"].set_index(["predictor", "method"])
    for col in ("mae", "rmse", "spearman", "coverage_at_k", "crps", "n"):
        np.testing.assert_allclose(score[col].loc[head.index].to_numpy(float),
                                   head[col].to_numpy(float))


def test_progress_quiet_when_disabled(ref, capsys):
    leave_one_publisher_out({"mean": MeanBaseline()}, ref, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_bar_when_requested(ref, capsys):
    leave_one_publisher_out({"mean": MeanBaseline()}, ref, progress=True)
    assert "LOPO" in capsys.readouterr().err


def test_user_table_without_publisher_is_refused(ref):
    bad = mark_validated(ref.drop(columns=["publisher"]))
    with pytest.raises(DataValidationError, match="publisher"):
        leave_one_publisher_out({"mean": MeanBaseline()}, bad)


def test_single_publisher_is_refused(ref):
    one = mark_validated(ref[ref["publisher"] == "Alibaba"])
    with pytest.raises(DataValidationError, match="at least 2 publishers"):
        leave_one_publisher_out({"mean": MeanBaseline()}, one)


@pytest.mark.parametrize("bad", [{}, {"x": object()}, [MeanBaseline()]])
def test_bad_predictors_are_refused(bad, ref):
    with pytest.raises(InvalidParameterError, match="predictor"):
        leave_one_publisher_out(bad, ref)


def test_bad_ci_prob_is_refused(ref):
    with pytest.raises(InvalidParameterError, match="ci_prob"):
        leave_one_publisher_out({"mean": MeanBaseline()}, ref, ci_prob=1.5)


def test_held_out_rewardbench2_rows_are_not_scored_against_v1_predictions(ref):
    from rmpredict.evaluation._cv import _predict_fold

    fitted = MeanBaseline().fit(ref)
    test = ref[ref["publisher"] == ref["publisher"].iloc[0]].assign(benchmark="rewardbench")
    rb2 = test.assign(benchmark="rewardbench2", score=0.01)  # same (model, method) pairs
    both = pd.concat([test, rb2], ignore_index=True)
    cands = test.drop(columns=list(TARGETS)).drop_duplicates("model")
    out = _predict_fold(fitted, cands, both, 0.9)
    only_v1 = _predict_fold(fitted, cands, test, 0.9)
    pd.testing.assert_frame_equal(out, only_v1)
    assert not (out["observed"] == 0.01).any()


def test_baselines_skip_extra_rewardbench2_rows(ref):
    from rmpredict.datasets import public_training_rows

    v1 = leave_one_publisher_out({"mean": MeanBaseline()}, ref,
                                 extra_train=public_training_rows(), progress=False)
    both = leave_one_publisher_out({"mean": MeanBaseline()}, ref,
                                   extra_train=public_training_rows(benchmark="all"),
                                   progress=False)
    pd.testing.assert_frame_equal(v1.predictions, both.predictions)
    assert (both.folds["n_extra_train_rows"] > v1.folds["n_extra_train_rows"]).all()
