"""Property: validation never crashes; it returns a clean table or raises DataValidationError."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmpredict.datasets import BENCHMARKS, CATEGORIES, canonical_column, validate_table
from rmpredict.exceptions import DataValidationError

COLUMN_NAMES = st.sampled_from([
    "model", "Model", "model_id", "method", "MMLU-PRO", "leaderboard_mmlu_pro", "mmlu_pro",
    "Model Size (B)", "params_b", "pretrain_tokens_t", "post_training", "stage", "publisher",
    "family", "score", "datadist_code", "ifeval", "IFEval", "bbh", *CATEGORIES,
    "gsm8k", "arc", "notes", "unknown_col",
]) | st.text(min_size=0, max_size=8)

MODEL_IDS = st.sampled_from(["01-ai/Yi-1.5-9B-Chat", "google/gemma-2-2b-it",
                             "google/umt5-base", "org/new-model", "", " "])

CELLS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=-10**30, max_value=10**30),
    st.booleans(),
    st.text(max_size=6),
    MODEL_IDS,
    st.sampled_from(["instruct", "base", "chat", "bradley_terry", "Regression", "1e400", "nan",
                     "inf", "0.5", "55"]),
)


FRACTIONS = st.floats(min_value=0, max_value=1) | st.just(float("nan"))
NAMED = {
    "model": st.sampled_from(["01-ai/Yi-1.5-9B-Chat", "google/gemma-2-2b-it",
                              "google/umt5-base", "org/new-model", "org/other"]),
    "method": st.sampled_from(["bradley_terry", "regression"]),
    "post_training": st.sampled_from(["instruct", "base", "sft"]),
    "params_b": st.floats(min_value=0.1, max_value=100) | st.just(float("nan")),
    **{c: st.floats(min_value=0, max_value=1) for c in CATEGORIES},
}


def _column(draw, name, n_rows, junk):
    """Plausible values for a known column, or (if ``junk``) arbitrary mixed cells."""
    if junk:
        return draw(st.lists(CELLS, min_size=n_rows, max_size=n_rows))
    canon = canonical_column(name)
    values = NAMED.get(canon, FRACTIONS)
    if canon is None:
        values = CELLS
    # Model ids are mostly distinct, as in a real table (duplicates are tested separately).
    unique = canon == "model" and draw(st.integers(0, 4)) > 0
    return draw(st.lists(values, min_size=n_rows, max_size=n_rows, unique=unique))


@st.composite
def tables(draw):
    # Hypothesis favours the first branch and small values: keep those the plausible ones.
    n_rows = draw(st.integers(min_value=1, max_value=5))
    if draw(st.integers(0, 9)) == 9:
        n_rows = 0
    junk_rate = draw(st.sampled_from([0.0, 0.2, 1.0]))
    names = draw(st.lists(COLUMN_NAMES, min_size=0, max_size=7))
    if draw(st.integers(0, 4)) < 4:
        # Most tables look like real ones: a model column and often the results columns.
        names = ["model", *(x for x in names if canonical_column(x) != "model")]
        if draw(st.booleans()):
            names += ["method", *CATEGORIES]
    columns = {}
    for name in names:
        junk = draw(st.floats(0, 1)) < junk_rate
        columns[name] = _column(draw, name, n_rows, junk)
    frame = pd.DataFrame(columns, index=range(n_rows))
    if draw(st.integers(0, 9)) == 9 and names:
        # Repeated labels, as in a hand-edited file.
        frame = pd.concat([frame, frame.iloc[:, :1]], axis=1)
    return frame


# validate_table emits DataWarning for unknown columns and filled values: expected output for
# arbitrary tables, not a failure (pytest turns warnings into errors by default).
@pytest.mark.filterwarnings("ignore::rmpredict.exceptions.DataWarning")
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=tables(), kind=st.sampled_from(["candidates", "results"]),
       fill=st.booleans())
def test_validate_never_crashes(frame, kind, fill):
    try:
        table = validate_table(frame, kind, fill_from_reference=fill)
    except DataValidationError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    out = table.frame
    assert "model" in out.columns and len(out) == len(frame) > 0
    assert out["model"].notna().all()
    for col in out.columns:
        if col in BENCHMARKS or col in (*CATEGORIES, "score"):
            vals = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
            vals = vals[~np.isnan(vals)]
            assert ((vals >= 0) & (vals <= 1)).all(), col
    if kind == "results":
        assert {"method", *CATEGORIES, "score"} <= set(out.columns)
