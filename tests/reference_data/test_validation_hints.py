"""Hints of candidate validation: did-you-mean for model ids, the filled-values warning."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from rmpredict.datasets import read_candidates
from rmpredict.exceptions import DataValidationError, DataWarning, FilledValuesWarning


@pytest.mark.parametrize("typed, meant", [
    ("qwen/qwen2.5-7b", "Qwen/Qwen2.5-7B"),
    ("QWEN/QWEN2.5-7B-INSTRUCT", "Qwen/Qwen2.5-7B-Instruct"),
    ("Qwen/ Qwen2.5-7B", "Qwen/Qwen2.5-7B"),
    ("google/gemma-2-2b-IT", "google/gemma-2-2b-it"),
])
def test_case_or_whitespace_mistakes_get_did_you_mean(typed, meant):
    with pytest.raises(DataValidationError, match="no usable feature") as info:
        read_candidates(pd.DataFrame({"model": [typed]}))
    assert f"did you mean {meant!r} for {typed.strip()!r}?" in str(info.value)


def test_unknown_id_without_near_match_has_no_hint():
    with pytest.raises(DataValidationError) as info:
        read_candidates(pd.DataFrame({"model": ["my-org/private-7b"]}))
    assert "did you mean" not in str(info.value)


def test_mistyped_id_with_features_warns_that_nothing_was_filled():
    with pytest.warns(DataWarning, match="did you mean 'Qwen/Qwen2.5-7B' for 'qwen/qwen2.5-7b'"):
        table = read_candidates(pd.DataFrame({"model": ["qwen/qwen2.5-7b"], "params_b": [7.6]}))
    assert len(table.filled) == 0


def test_filled_values_are_announced_with_a_data_warning():
    # docs/howto-own-data.md: "every filled value is listed and announced with a DataWarning"
    with pytest.warns(FilledValuesWarning, match=r"filled \d+ missing value\(s\) of 1 model"):
        table = read_candidates(pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct"]}))
    assert issubclass(FilledValuesWarning, DataWarning)
    assert len(table.filled) > 0


def test_nothing_filled_means_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_candidates(pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct"], "mmlu_pro": [0.4]}),
                        fill_from_reference=False)
        read_candidates(pd.DataFrame({"model": ["my-org/x"], "params_b": [3.0]}))
