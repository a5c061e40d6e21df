"""The estimator contract of ``models/_base.py``: validation marks and the accepted inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rmpredict.exceptions import DataValidationError, InvalidParameterError
from rmpredict.models import HierarchicalRMPredictor, MeanBaseline
from rmpredict.models._base import (
    _is_validated,
    as_candidates_frame,
    as_results_frame,
    mark_validated,
)

IDS = ["Qwen/Qwen2.5-7B-Instruct", "google/gemma-2-2b-it"]


@pytest.fixture
def results() -> pd.DataFrame:
    return as_results_frame(None)


def test_a_validated_frame_stays_validated_while_unchanged(results):
    assert _is_validated(results)
    assert _is_validated(results.copy())
    assert _is_validated(mark_validated(results[results["method"] == "regression"]))
    assert not _is_validated(results.to_dict())


def _scaled(frame: pd.DataFrame) -> pd.DataFrame:
    frame["chat"] *= 100
    return frame


@pytest.mark.parametrize("edit", [
    _scaled,
    lambda f: f.assign(mmlu_pro=f["mmlu_pro"].astype(object)),
    lambda f: f.drop(columns="safety"),
    lambda f: f.rename(columns={"chat": "chat2"}),
    lambda f: f.set_axis(np.arange(len(f))[::-1]),
], ids=["scaled", "dtype", "dropped", "renamed", "reindexed"])
def test_any_edit_after_validation_clears_the_mark(results, edit):
    frame = edit(results.copy())
    assert frame.attrs.get("rmpredict_validated")  # pandas carries attrs through the edit ...
    assert not _is_validated(frame)  # ... but the content no longer matches the mark


def test_fit_revalidates_an_edited_results_frame(results):
    results["chat"] *= 100  # percent after validation: must be caught, not fitted
    with pytest.raises(DataValidationError, match="looks like percent"):
        MeanBaseline().fit(results)
    with pytest.raises(DataValidationError, match="looks like percent"):
        # raised before any sampling
        HierarchicalRMPredictor(draws=10, tune=10, chains=1).fit(results)


def test_predict_revalidates_an_edited_candidates_frame(results):
    model = MeanBaseline().fit(results)
    cands = as_candidates_frame(IDS)
    cands["mmlu_pro"] *= 100
    with pytest.raises(DataValidationError, match="looks like percent"):
        model.predict(cands)


@pytest.mark.parametrize("candidates", [
    IDS,
    tuple(IDS),
    pd.Series(IDS),
    {"model": IDS},
    pd.DataFrame({"model": IDS}),
])
def test_predict_accepts_ids_dicts_and_frames(results, candidates):
    res = MeanBaseline().fit(results).predict(candidates, method="regression")
    assert res.index["model"].tolist() == IDS


def test_one_candidate_as_a_dict_of_scalars():
    frame = as_candidates_frame({"model": "my-org/private-7b", "params_b": 7.0})
    assert frame["model"].tolist() == ["my-org/private-7b"] and frame["params_b"].iloc[0] == 7.0


@pytest.mark.parametrize("bad, match", [
    (3, "must be a DataFrame, a dict of columns, a list or tuple of model ids"),
    ([1, 2], "must hold model ids"),
    ({"model": ["a/x"], "params_b": [1.0, 2.0]}, "equally long lists"),
])
def test_unsupported_candidates_are_a_clear_error(bad, match):
    with pytest.raises(InvalidParameterError, match=match):
        as_candidates_frame(bad)


def test_as_frame_functions_return_a_still_valid_frame_as_is(results):
    assert as_results_frame(results) is results
    cands = as_candidates_frame(IDS)
    assert as_candidates_frame(cands) is cands
    edited = results.assign(chat=results["chat"] * 100)
    with pytest.raises(DataValidationError, match="looks like percent"):
        as_results_frame(edited)  # what leave_one_publisher_out calls on its input
