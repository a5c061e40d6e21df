"""Baselines against scikit-learn / statsmodels fitted directly on the same design matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, LinearRegression, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from rmpredict.datasets import TARGETS, V2_BENCHMARKS
from rmpredict.exceptions import InvalidParameterError, NotFittedError
from rmpredict.features import BASELINE_FEATURES, baseline_matrix
from rmpredict.models._base import as_results_frame, mark_validated
from rmpredict.models._baselines import (
    BestSingleBenchmark,
    ElasticNetBaseline,
    MeanBaseline,
    OLSBaseline,
    RidgeBaseline,
)

ALL = (MeanBaseline, BestSingleBenchmark, ElasticNetBaseline, RidgeBaseline, OLSBaseline)
SMALL_GRID = {"degrees": (1, 2), "alphas": (0.01, 0.001), "l1_ratios": (0.5, 1.0), "cv": 5}


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    return as_results_frame(None)


def _split(ref: pd.DataFrame):
    """Train on every publisher but Alibaba; predict Alibaba's models (a realistic fold)."""
    held = (ref["publisher"] == "Alibaba").to_numpy()
    train = mark_validated(ref[~held])
    cands = mark_validated(ref[held].drop(columns=list(TARGETS)).drop_duplicates("model"))
    return train, cands


def _xy(train: pd.DataFrame, method: str, target: str):
    rows = train[train["method"] == method]
    return baseline_matrix(rows).to_numpy(float), rows[target].to_numpy(float)


def _pred(result, method: str, target: str) -> np.ndarray:
    mask = (result.index["method"] == method).to_numpy()
    return result.mean[mask, result.target(target)]


def test_mean_equals_training_mean(ref):
    train, cands = _split(ref)
    res = MeanBaseline().fit(train).predict(cands)
    for method in ("regression", "bradley_terry"):
        for target in TARGETS:
            _, y = _xy(train, method, target)
            np.testing.assert_allclose(_pred(res, method, target), y.mean(), atol=1e-12)
    assert not res.has_intervals and np.isnan(res.sd).all()


def test_ridge_equals_sklearn(ref):
    train, cands = _split(ref)
    res = RidgeBaseline().fit(train).predict(cands)
    Xc = baseline_matrix(cands).to_numpy(float)
    for method in ("regression", "bradley_terry"):
        for target in TARGETS:
            X, y = _xy(train, method, target)
            direct = Pipeline([("s", StandardScaler()),
                               ("r", RidgeCV(alphas=np.logspace(-3, 3, 13)))]).fit(X, y)
            np.testing.assert_allclose(_pred(res, method, target), direct.predict(Xc),
                                       rtol=0, atol=1e-8)
    assert np.isnan(res.lower).all()


def test_ols_equals_statsmodels_with_obs_ci(ref):
    train, cands = _split(ref)
    est = OLSBaseline().fit(train)
    res = est.predict(cands, ci_prob=0.8)
    Xc = baseline_matrix(cands).to_numpy(float)
    for method in ("regression", "bradley_terry"):
        for target in ("chat", "score"):
            X, y = _xy(train, method, target)
            mu, sd = X.mean(axis=0), X.std(axis=0)
            fit = sm.OLS(y, sm.add_constant((X - mu) / sd)).fit()
            pred = fit.get_prediction(sm.add_constant((Xc - mu) / sd, has_constant="add"))
            frame = pred.summary_frame(alpha=0.2)
            mask = (res.index["method"] == method).to_numpy()
            j = res.target(target)
            np.testing.assert_allclose(res.mean[mask, j], frame["mean"], atol=1e-8)
            np.testing.assert_allclose(res.lower[mask, j], frame["obs_ci_lower"], atol=1e-8)
            np.testing.assert_allclose(res.upper[mask, j], frame["obs_ci_upper"], atol=1e-8)
            np.testing.assert_allclose(res.sd[mask, j],
                                       np.sqrt(pred.var_pred_mean + fit.scale), atol=1e-10)
    assert res.has_intervals


@pytest.mark.parametrize("criterion", ["correlation", "cv"])
def test_best_single_selects_on_training_rows_and_fits_ols_line(ref, criterion):
    train, cands = _split(ref)
    est = BestSingleBenchmark(criterion=criterion, cv=5, random_seed=3).fit(train)
    res = est.predict(cands)
    for method in ("regression", "bradley_terry"):
        for target in ("reasoning", "score"):
            rows = train[train["method"] == method]
            y = rows[target].to_numpy(float)
            if criterion == "correlation":
                scores = [abs(np.corrcoef(rows[f], y)[0, 1]) for f in V2_BENCHMARKS]
                expect = V2_BENCHMARKS[int(np.argmax(scores))]
            else:  # independent inner CV with sklearn's LinearRegression
                kf = KFold(5, shuffle=True, random_state=3)
                mse = []
                for f in V2_BENCHMARKS:
                    x = rows[[f]].to_numpy(float)
                    errs = [np.mean((LinearRegression().fit(x[a], y[a]).predict(x[b])
                                     - y[b]) ** 2) for a, b in kf.split(x)]
                    mse.append(np.mean(errs))
                expect = V2_BENCHMARKS[int(np.argmin(mse))]
            assert est.selected_features_[(method, target)] == expect
            direct = LinearRegression().fit(rows[[expect]].to_numpy(float), y)
            np.testing.assert_allclose(_pred(res, method, target),
                                       direct.predict(cands[[expect]].to_numpy(float)),
                                       atol=1e-8)


def test_best_single_fixed_feature(ref):
    train, cands = _split(ref)
    res = BestSingleBenchmark(feature="mmlu_pro").fit(train).predict(cands, method="regression")
    X, y = _xy(train, "regression", "score")
    j = BASELINE_FEATURES.index("mmlu_pro")
    direct = LinearRegression().fit(X[:, [j]], y)
    np.testing.assert_allclose(res.mean[:, res.target("score")],
                               direct.predict(cands[["mmlu_pro"]].to_numpy(float)), atol=1e-8)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # small alphas
def test_elastic_net_matches_gridsearchcv(ref):
    train, cands = _split(ref)
    est = ElasticNetBaseline(**SMALL_GRID, random_seed=7).fit(train)
    res = est.predict(cands)
    Xc = baseline_matrix(cands).to_numpy(float)
    pipe = Pipeline([("poly", PolynomialFeatures(include_bias=False)),
                     ("scale", StandardScaler()), ("enet", ElasticNet(max_iter=1000))])
    grid = {"poly__degree": [1, 2], "enet__alpha": [0.01, 0.001], "enet__l1_ratio": [0.5, 1.0]}
    for method in ("regression", "bradley_terry"):
        for target in ("chat_hard", "score"):
            X, y = _xy(train, method, target)
            search = GridSearchCV(pipe, grid, cv=KFold(5, shuffle=True, random_state=7),
                                  scoring="neg_mean_squared_error").fit(X, y)
            got = est.best_params_[(method, target)]
            assert got == {"degree": search.best_params_["poly__degree"],
                           "alpha": search.best_params_["enet__alpha"],
                           "l1_ratio": search.best_params_["enet__l1_ratio"]}
            np.testing.assert_allclose(_pred(res, method, target),
                                       search.best_estimator_.predict(Xc), atol=1e-8)
            cv_mse = -search.cv_results_["mean_test_score"].max()
            fitted = est.cell_models_[(method, target)]
            assert fitted.cv_mse_ == pytest.approx(cv_mse, rel=1e-8)


def test_elastic_net_defaults_are_the_studys_grid():
    p = ElasticNetBaseline().get_params()
    assert p["degrees"] == (1, 2, 3)
    assert p["alphas"] == (0.1, 0.01, 0.001, 0.0001)
    assert p["l1_ratios"] == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert p["cv"] == 10


@pytest.mark.parametrize("cls", ALL)
def test_clone_and_params_round_trip(cls):
    est = cls()
    cloned = clone(est)
    assert type(cloned) is cls and cloned is not est
    assert cloned.get_params() == est.get_params()
    if "random_seed" in est.get_params():
        assert clone(est.set_params(random_seed=11)).random_seed == 11


@pytest.mark.parametrize("cls", ALL)
def test_unfitted_predict_raises(cls, ref):
    with pytest.raises(NotFittedError, match="not fitted"):
        cls().predict(mark_validated(ref.head(2)))


@pytest.mark.parametrize("cls", [MeanBaseline, RidgeBaseline, OLSBaseline])
def test_bad_method_raises(cls, ref):
    est = cls().fit(mark_validated(ref))
    with pytest.raises(InvalidParameterError, match="'method'.*dpo_like"):
        est.predict(mark_validated(ref.head(2)), method="dpo_like")


@pytest.mark.parametrize("kwargs, match", [
    ({"criterion": "lasso"}, "criterion"), ({"feature": "hellaswag"}, "feature"),
    ({"cv": 1}, "cv")])
def test_bad_params_raise_at_fit(ref, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        BestSingleBenchmark(**kwargs).fit(mark_validated(ref))


def test_elastic_net_bad_grid(ref):
    with pytest.raises(InvalidParameterError, match="alphas"):
        ElasticNetBaseline(alphas=(0.1, -1.0)).fit(mark_validated(ref))


def test_missing_features_imputed_with_training_means_and_noted(ref):
    train, cands = _split(ref)
    est = RidgeBaseline().fit(train)
    holes = cands.copy()
    holes.loc[holes.index[0], "gpqa"] = np.nan
    res = est.predict(mark_validated(holes), method="regression")
    filled = cands.copy()
    mean_gpqa = train.loc[train["method"] == "regression", "gpqa"].mean()
    filled.loc[filled.index[0], "gpqa"] = mean_gpqa
    expect = est.predict(mark_validated(filled), method="regression")
    np.testing.assert_allclose(res.mean, expect.mean, atol=1e-12)
    assert len(res.notes) == 1
    assert res.notes.iloc[0]["model"] == cands["model"].iloc[0]
    assert "gpqa" in res.notes.iloc[0]["note"]
    assert expect.notes.empty


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_tiny_method_falls_back_without_crashing(ref):
    # A user table where one method has a single row: nothing to cross-validate.
    one = ref[ref["method"] == "bradley_terry"].head(1)
    frame = mark_validated(pd.concat([ref[ref["method"] == "regression"], one]))
    for cls in (ElasticNetBaseline, RidgeBaseline, OLSBaseline):
        est = cls(**SMALL_GRID) if cls is ElasticNetBaseline else cls()
        res = est.fit(frame).predict(mark_validated(ref.head(3)), method="bradley_terry")
        np.testing.assert_allclose(res.mean[:, res.target("score")], one["score"].iloc[0])


def test_convergence_warnings_do_not_escape(ref):
    # Fitting this grid point directly warns; the baseline must not (pytest runs with
    # filterwarnings=error, so an escaping warning fails the fit below).
    small = mark_validated(ref[ref["method"] == "regression"].head(12))
    X, y = _xy(small, "regression", "score")
    Z = StandardScaler().fit_transform(PolynomialFeatures(3, include_bias=False).fit_transform(X))
    with pytest.warns(ConvergenceWarning):
        ElasticNet(alpha=0.0001, l1_ratio=1.0).fit(Z, y)
    est = ElasticNetBaseline(degrees=(3,), alphas=(0.0001,), l1_ratios=(1.0,), cv=3).fit(small)
    assert est.best_params_[("regression", "score")]["degree"] == 3
