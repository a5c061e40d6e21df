"""The Bayesian hierarchical predictor: API, prediction structure, persistence, recovery."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from _hier_settings import SMALL

from rmpredict.datasets import TARGETS
from rmpredict.exceptions import (
    ConvergenceWarning,
    DataValidationError,
    InvalidParameterError,
    ModelMismatchError,
    NotFittedError,
)
from rmpredict.models import HierarchicalRMPredictor

CANDIDATES = pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-9b-it",
                                     "01-ai/Yi-1.5-9B-Chat", "tiiuae/Falcon3-7B-Instruct"]})


def test_init_only_stores_and_clone_works():
    from sklearn.base import clone

    m = HierarchicalRMPredictor(draws=7, sampler="nope")
    assert m.get_params()["draws"] == 7 and m.sampler == "nope"
    assert clone(m).get_params() == m.get_params()


def test_unfitted_predict_raises():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        HierarchicalRMPredictor().predict(CANDIDATES)


def test_bad_parameters_raise_at_fit(reference_frame):
    with pytest.raises(InvalidParameterError, match="'sampler' parameter"):
        HierarchicalRMPredictor(sampler="stan").fit(reference_frame)
    with pytest.raises(InvalidParameterError, match="'draws' parameter"):
        HierarchicalRMPredictor(draws=0).fit(reference_frame)
    with pytest.raises(InvalidParameterError, match="unknown key"):
        HierarchicalRMPredictor(priors={"nope": 1.0}).fit(reference_frame)


def test_fitted_attributes(small_model):
    m = small_model
    assert m.methods_ == ("bradley_terry", "regression")
    assert m.n_train_ == 66
    assert m.feature_names_[:5] == ["factor_1", "factor_2", "factor_3", "log_params",
                                    "log_tokens"]
    assert m.feature_names_[-4:] == ["within_factor_1", "within_factor_2", "within_factor_3",
                                     "within_log_params"]
    post = m.idata_.posterior
    assert post.sizes["chain"] == SMALL["chains"] and post.sizes["draw"] == SMALL["draws"]
    assert {"max_rhat", "min_ess_bulk", "divergences", "ok", "structures"} <= set(m.diagnostics_)
    assert "fit_data" in m.idata_
    assert set(m.members_) == {"full", "capability", "intercept"}
    for method, weights in m.stacking_weights_.items():
        assert set(weights) == set(m.members_) and np.isclose(sum(weights.values()), 1.0)
        assert all(w >= 0 for w in weights.values()), method
    assert m.stacking_info_["n_inner_folds"] == 8


def test_log_likelihood_is_pointwise_per_row_and_loo_works(small_model):
    import arviz as az

    ll = small_model.idata_.log_likelihood["y_obs"]
    assert ll.sizes["row"] == small_model.n_train_ == 66
    assert np.isfinite(ll.to_numpy()).all()
    with warnings.catch_warnings():
        # 300 draws: some Pareto k above 0.7 are expected and flagged by ArviZ.
        warnings.simplefilter("ignore", UserWarning)
        loo = az.loo(small_model.idata_, pointwise=True)
        table = small_model.compare()
    assert loo.loo_i.shape == (66,) and np.isfinite(loo.elpd_loo)
    assert set(table.index) == {"full", "capability", "intercept"}


def test_holdout_equals_fitting_the_remaining_rows(reference_frame):
    """Nothing is learned from held-out rows: both fits are the same computation."""
    from rmpredict.models._base import mark_validated

    held = (reference_frame["publisher"] == "Nvidia").to_numpy()
    settings = SMALL | {"structures": ("capability", "intercept")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = HierarchicalRMPredictor(**settings).fit(mark_validated(reference_frame),
                                                    holdout=held)
        b = HierarchicalRMPredictor(**settings).fit(
            mark_validated(reference_frame[~held].reset_index(drop=True)))
    assert a.stacking_weights_ == b.stacking_weights_
    assert a.encoding_.to_dict() == b.encoding_.to_dict()
    assert "Nvidia" not in a.encoding_.publishers and "Nvidia" not in a.seen_publishers_
    pa, pb = a.predict(CANDIDATES), b.predict(CANDIDATES)
    np.testing.assert_array_equal(pa.draws, pb.draws)
    assert a.data_hash_ == b.data_hash_ and a.n_train_ == int((~held).sum())


def test_predict_shapes_and_frame(small_model):
    res = small_model.predict(CANDIDATES, method="all", ci_prob=0.8)
    # At most n_predictive_draws, at most the posterior's size, never a draw repeated.
    assert res.draws.shape == (SMALL["draws"] * SMALL["chains"], 8, 5)
    frame = res.to_frame()
    assert list(frame.columns) == ["model", "method", "target", "mean", "sd", "lower", "upper",
                                   "ci_prob"]
    assert len(frame) == 4 * 2 * 5
    assert set(frame["target"]) == set(TARGETS)
    assert ((frame["lower"] <= frame["mean"]) & (frame["mean"] <= frame["upper"])).all()
    assert frame[["mean", "lower", "upper"]].stack().between(0, 1).all()
    # score is the mean of the four categories, draw by draw
    np.testing.assert_allclose(res.draws[..., 4], res.draws[..., :4].mean(axis=2), rtol=1e-6)


def test_predict_is_reproducible(small_model):
    a = small_model.predict(CANDIDATES, method="regression")
    b = small_model.predict(CANDIDATES, method="regression")
    np.testing.assert_array_equal(a.draws, b.draws)


def test_unseen_publisher_is_wider_than_seen(small_model):
    res = small_model.predict(pd.DataFrame({
        "model": ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B-Instruct-renamed"],
        "publisher": ["Alibaba", "NewLab"], "mmlu_pro": [0.4287, 0.4287],
        "ifeval": [0.7585] * 2, "bbh": [0.5394] * 2, "math_lvl5": [0.5] * 2,
        "gpqa": [0.2911] * 2, "musr": [0.402] * 2, "params_b": [7.62] * 2,
        "pretrain_tokens_t": [18.0] * 2, "post_training": ["instruct"] * 2}), method="regression")
    sd = res.to_wide("sd").set_index("model")["score"]
    assert sd["Qwen/Qwen2.5-7B-Instruct-renamed"] > sd["Qwen/Qwen2.5-7B-Instruct"]
    notes = res.notes.set_index("model")
    assert not notes.loc["Qwen/Qwen2.5-7B-Instruct-renamed", "publisher_seen"]


def test_missing_scores_widen_the_interval(small_model):
    full = {"model": "x/full", "publisher": "Alibaba", "ifeval": 0.76, "bbh": 0.54,
            "math_lvl5": 0.5, "gpqa": 0.29, "musr": 0.40, "mmlu_pro": 0.43, "params_b": 7.6,
            "pretrain_tokens_t": 18.0, "post_training": "instruct"}
    partial = {"model": "x/partial", "publisher": "Alibaba", "mmlu_pro": 0.43,
               "params_b": 7.6, "pretrain_tokens_t": 18.0, "post_training": "instruct"}
    res = small_model.predict(pd.DataFrame([full, partial]), method="regression")
    notes = res.notes.set_index("model")
    assert notes.loc["x/full", "n_benchmarks"] == 6 and notes.loc["x/partial", "n_benchmarks"] == 1
    width = (res.upper - res.lower)[:, 4]
    assert width[1] > width[0]


def test_extrapolation_warns(small_model):
    cand = pd.DataFrame({"model": ["huge/model"], "publisher": ["Alibaba"], "params_b": [400.0],
                         "mmlu_pro": [0.6], "pretrain_tokens_t": [18.0],
                         "post_training": ["instruct"]})
    from rmpredict.exceptions import ExtrapolationWarning

    with pytest.warns(ExtrapolationWarning, match="outside the training range"):
        res = small_model.predict(cand, method="regression")
    assert "log_params" in res.notes["extrapolated"].iloc[0]


def test_bad_candidates_give_clear_errors(small_model):
    with pytest.raises(DataValidationError, match="no usable feature"):
        small_model.predict(pd.DataFrame({"model": ["nobody/unknown-model"]}))
    with pytest.raises(DataValidationError, match="looks like percent"):
        small_model.predict(pd.DataFrame({"model": ["x/y"], "mmlu_pro": [43.0]}))
    with pytest.raises(InvalidParameterError, match="'method' parameter"):
        small_model.predict(CANDIDATES, method="DPO RM")
    with pytest.raises(InvalidParameterError, match="ci_prob"):
        small_model.predict(CANDIDATES, ci_prob=1.5)


def test_save_load_round_trip(small_model, tmp_path):
    path = tmp_path / "m.nc"
    digest = small_model.save(path)
    assert len(digest) == 64 and not list(tmp_path.glob(".*.tmp"))
    loaded = HierarchicalRMPredictor.load(path)
    assert loaded.model_id == small_model.model_id
    assert loaded._config() == small_model._config()
    a = small_model.predict(CANDIDATES)
    b = loaded.predict(CANDIDATES)
    np.testing.assert_array_equal(a.draws, b.draws)
    assert b.provenance["model_id"] == small_model.model_id


def test_load_refuses_corrupted_and_foreign_files(small_model, tmp_path):
    good = tmp_path / "m.nc"
    small_model.save(good)
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ModelMismatchError, match="corrupted or not a netCDF"):
        HierarchicalRMPredictor.load(truncated)
    text = tmp_path / "text.nc"
    text.write_text("not a model")
    with pytest.raises(ModelMismatchError, match="not a usable rmpredict model"):
        HierarchicalRMPredictor.load(text)
    import xarray as xr

    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("d", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf",
                                                       group="posterior")
    with pytest.raises(ModelMismatchError, match="foreign or unrelated"):
        HierarchicalRMPredictor.load(foreign)
    with pytest.raises(FileNotFoundError, match="check the --model path"):
        HierarchicalRMPredictor.load(tmp_path / "absent.nc")


def test_load_refuses_modified_posterior_values(small_model, tmp_path):
    import h5py

    path = tmp_path / "m.nc"
    small_model.save(path)
    with h5py.File(path, "r+") as fh:
        data = fh["posterior"]["alpha"]
        values = data[...]
        values[0, 0, 0, 0] += 0.5
        data[...] = values
    with pytest.raises(ModelMismatchError, match="do not match their recorded sha256"):
        HierarchicalRMPredictor.load(path)


def _simulate(frame, model, rng):
    """Accuracies drawn from the model's own generative structure with known slopes."""
    from rmpredict.models._hier_data import build_encoding, model_features

    enc = build_encoding(frame, 3)
    f = model_features(frame, enc, model.factor_model_)
    factors = f.factor_mean + np.einsum("mkl,ml->mk", f.factor_chol,
                                        rng.standard_normal(f.factor_mean.shape))
    x = np.column_stack([factors, np.nan_to_num(f.aux[:, :2]), f.stage])
    pos = {m: i for i, m in enumerate(f.models)}
    row_model = frame["model"].map(pos).to_numpy()
    row_method = (frame["method"] == "regression").to_numpy(dtype=int)
    pubs = {p: i for i, p in enumerate(enc.publishers)}
    model_pub = np.array([pubs[p] for p in f.publisher])
    b_true = rng.normal(0.0, 0.35, size=(2, x.shape[1]))
    alpha = rng.normal(1.0, 0.5, size=(2, 4))
    u = rng.normal(0.0, 0.05, size=(len(enc.publishers), 2, 4))
    eta = (alpha[row_method] + (x[row_model] @ b_true.T)[np.arange(len(frame)),
                                                         row_method][:, None]
           + u[model_pub[row_model], row_method]
           + rng.normal(0.0, 0.05, size=(len(frame), 1))
           + rng.normal(0.0, 0.08, size=(len(frame), 4)))
    sim = frame.copy()
    sim[["chat", "chat_hard", "safety", "reasoning"]] = 1.0 / (1.0 + np.exp(-eta))
    sim["score"] = sim[["chat", "chat_hard", "safety", "reasoning"]].mean(axis=1)
    return sim, b_true


def test_parameter_recovery(small_model, reference_frame):
    rng = np.random.default_rng(7)
    sim, b_true = _simulate(reference_frame, small_model, rng)
    from rmpredict.models._base import mark_validated

    # One structure without stacking; the pooled slopes equal between = within slopes here.
    m = HierarchicalRMPredictor(**(SMALL | {"draws": 300, "tune": 300,
                                            "structures": ("full",)}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(mark_validated(sim))
    post = m.idata_.posterior["b_method"][..., :b_true.shape[1]]  # base (between) slopes
    mean = post.mean(("chain", "draw")).to_numpy()
    lo, hi = post.quantile([0.05, 0.95], dim=("chain", "draw")).to_numpy()
    cont = slice(0, 5)  # factors, log params, log tokens: identified by many models
    corr = np.corrcoef(mean[:, cont].ravel(), b_true[:, cont].ravel())[0, 1]
    assert corr > 0.8, corr
    covered = (lo <= b_true) & (b_true <= hi)
    assert covered[:, cont].mean() >= 0.8, covered


def test_datadist_features_are_partially_observed(reference_frame, rng):
    """Data-distribution columns that only some models have enter as latent-filled predictors."""
    from rmpredict.models._base import mark_validated

    frame = reference_frame.copy()
    models = frame["model"].unique()
    value = dict(zip(models, rng.normal(-2.5, 0.3, len(models))))
    frame["datadist_code"] = frame["model"].map(value)
    frame.loc[frame["model"].isin(models[::2]), "datadist_code"] = np.nan  # half unobserved
    m = HierarchicalRMPredictor(**(SMALL | {"structures": ("full",)}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(mark_validated(frame))
    assert "datadist_code" in m.feature_names_ and "datadist_code" in m.encoding_.aux_names
    # The joint feature model learned how the column depends on capability.
    assert m.idata_.posterior["aux_loading"].shape[-1] == 3
    base = {"publisher": "NewLab", "mmlu_pro": 0.43, "ifeval": 0.7, "bbh": 0.5,
            "math_lvl5": 0.3, "gpqa": 0.3, "musr": 0.4, "params_b": 7.0,
            "pretrain_tokens_t": 10.0, "post_training": "instruct"}
    # A candidate without the column still gets a prediction (the latent is drawn from the
    # population distribution); the column's slope here is noise, so widths are not compared.
    cands = pd.DataFrame([base | {"model": "a/with", "datadist_code": -2.5},
                          base | {"model": "a/without"}])
    res = m.predict(cands, method="regression")
    assert res.notes.set_index("model").loc["a/without", "n_benchmarks"] == 6
    assert np.all(np.isfinite(res.mean)) and res.to_wide().shape[0] == 2


def test_new_method_is_drawn_from_the_method_population(small_model):
    from rmpredict.exceptions import ExtrapolationWarning

    seen = small_model.predict(CANDIDATES, method="bradley_terry")
    with pytest.warns(ExtrapolationWarning, match="new RM recipe"):
        new = small_model.predict(CANDIDATES, method="new")
    assert set(new.to_frame()["method"]) == {"new"}
    # A new method adds the between-method spread: wider than a fitted method for every model.
    assert np.all(new.to_wide("sd")["score"].to_numpy() > seen.to_wide("sd")["score"].to_numpy())
    assert new.to_frame()["mean"].between(0, 1).all()
    with pytest.warns(ExtrapolationWarning):
        again = small_model.predict(CANDIDATES, method="new")
    np.testing.assert_array_equal(new.to_frame()["mean"], again.to_frame()["mean"])


def test_new_method_population_draws_match_the_hierarchy():
    from rmpredict.models._hier_predict import with_new_methods

    rng = np.random.default_rng(0)
    s, r, p, j = 20000, 2, 3, 4
    post = {"alpha": np.zeros((s, r, 4), np.float32), "beta": np.zeros((s, r, 4, j), np.float32),
            "sigma": np.ones((s, r, 4), np.float32), "s_pub": np.ones((s, r), np.float32),
            "s_run": np.ones((s, r), np.float32), "u_pub": np.zeros((s, p, r, 4), np.float32)}
    hyper = {"a": np.full((s, 4), 1.0), "tau_alpha": np.full(s, 0.5),
             "theta": np.full((s, j), -0.2), "tau_method": np.full(s, 0.3),
             "tau_category": np.full(s, 0.2), "log_noise_category": np.full((s, 4), -1.0),
             "tau_noise": np.full(s, 0.0)}
    out = with_new_methods(post, hyper, 1, {"publisher_scale": 0.3, "run_scale": 0.3}, rng)
    assert out["alpha"].shape == (s, 3, 4) and out["u_pub"].shape == (s, p, 3, 4)
    np.testing.assert_allclose(out["alpha"][:, 2].mean(), 1.0, atol=0.02)
    np.testing.assert_allclose(out["alpha"][:, 2].std(), 0.5, atol=0.02)
    # slope sd: sqrt(tau_method^2 + tau_category^2)
    np.testing.assert_allclose(out["beta"][:, 2].std(), np.hypot(0.3, 0.2), atol=0.02)
    np.testing.assert_allclose(out["sigma"][:, 2], np.exp(-1.0), rtol=1e-6)
    # half-normal(0.3): mean 0.3 * sqrt(2/pi)
    np.testing.assert_allclose(out["s_pub"][:, 2].mean(), 0.3 * np.sqrt(2 / np.pi), atol=0.01)
    np.testing.assert_array_equal(out["alpha"][:, :2], post["alpha"])


def test_unknown_method_name_is_refused_with_a_suggestion(small_model):
    with pytest.raises(InvalidParameterError, match="Did you mean 'bradley_terry'"):
        small_model.predict(CANDIDATES, method="bradley-terry")
    with pytest.raises(InvalidParameterError, match="'new': a recipe not fitted"):
        small_model.predict(CANDIDATES, method="dpo")


def test_numbers_do_not_depend_on_the_batch_or_the_methods(small_model):
    """Common random numbers: a candidate's draws are its own, whatever else is predicted."""
    both = small_model.predict(CANDIDATES, method="all").to_frame()
    one = small_model.predict(CANDIDATES.iloc[[2]], method="regression").to_frame()
    key = ["model", "method", "target"]
    merged = one.merge(both, on=key, suffixes=("_one", "_both"))
    assert len(merged) == 5
    # Equal up to the last bit: BLAS picks different kernels for different batch sizes, so
    # sums may round differently (1e-16); Monte-Carlo noise would be ~1e-3.
    np.testing.assert_allclose(merged["mean_one"], merged["mean_both"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged["upper_one"], merged["upper_both"], rtol=0, atol=1e-12)


def test_candidates_without_size_or_token_columns(small_model):
    # No params_b / pretrain_tokens_t column at all: both are latent, predictions still exist.
    from rmpredict.exceptions import ExtrapolationWarning

    with pytest.warns(ExtrapolationWarning, match=r"stage_base \(seen in 1 training models"):
        res = small_model.predict(pd.DataFrame({"model": ["x/new"], "mmlu": [0.4],
                                                "publisher": ["X"], "post_training": ["base"]}),
                                  method="regression")
    assert np.isfinite(res.to_frame()["mean"]).all()
