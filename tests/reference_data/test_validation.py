"""Validation of user tables: the bad-input matrix, aliases, filling and the file readers."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmpredict.datasets import (
    CATEGORIES,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    load_leaderboard,
    load_table,
    read_candidates,
    read_results,
    validate_table,
)
from rmpredict.exceptions import (
    DataValidationError,
    DataWarning,
    FilledValuesWarning,
    InvalidParameterError,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "examples" / "candidates.csv"

KNOWN = "01-ai/Yi-1.5-9B-Chat"  # withheld study model: metadata + both leaderboards
KNOWN_V2_ONLY = "ibm-granite/granite-3.1-8b-instruct"  # leaderboard v2 only
UNKNOWN = "my-org/private-7b"


def quiet(frame: pd.DataFrame, kind: str = "candidates", **kwargs):
    """Validate, returning the table and the DataWarning messages it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = validate_table(frame, kind, **kwargs)
    others = [w for w in caught if not issubclass(w.category, DataWarning)]
    assert not others, [str(w.message) for w in others]
    return table, [str(w.message) for w in caught]


def problems_of(frame: pd.DataFrame, kind: str = "candidates", **kwargs) -> list[str]:
    with pytest.raises(DataValidationError) as info:
        quiet(frame, kind, **kwargs)
    assert str(info.value).startswith(f"{len(info.value.problems)} problem(s)")
    return info.value.problems


def results_frame(n: int = 2, **overrides) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    data = {"model": [f"org/m{i}" for i in range(n)], "method": ["bradley_terry"] * n,
            "mmlu_pro": rng.uniform(0.2, 0.5, n)}
    for c in CATEGORIES:
        data[c] = rng.uniform(0.5, 0.95, n).round(4)
    data.update(overrides)
    return pd.DataFrame(data)


# --------------------------------------------------------------------------- the bad-input matrix


def test_no_model_column():
    with pytest.raises(DataValidationError, match=r"no 'model' column; add one"):
        validate_table(pd.DataFrame({"mmlu_pro": [0.3]}))


def test_duplicate_rows():
    df = pd.DataFrame({"model": ["a/x", "a/y", "a/x"], "mmlu_pro": [0.3, 0.4, 0.35]})
    with pytest.raises(DataValidationError,
                       match=r"duplicate model at row 1 \('a/x'\), row 3 \('a/x'\); keep one row"):
        validate_table(df)


def test_non_numeric_values():
    df = pd.DataFrame({"model": ["a/x", "a/y"], "ifeval": ["0.4", "high"]})
    with pytest.raises(DataValidationError,
                       match=r"column 'ifeval': non-numeric value\(s\) 'high' at row 2 "
                             r"\('a/y'\); use numbers"):
        validate_table(df)


def test_scores_outside_unit_range():
    df = pd.DataFrame({"model": ["a/x", "a/y"], "bbh": [0.4, -0.2]})
    with pytest.raises(DataValidationError,
                       match=r"column 'bbh': value\(s\) -0.2 outside \[0, 1\] at row 2"):
        validate_table(df)
    df = pd.DataFrame({"model": ["a/x"], "bbh": [250.0]})
    with pytest.raises(DataValidationError, match=r"value\(s\) 250 outside \[0, 1\]"):
        validate_table(df)


def test_percent_table_is_an_error_never_rescaled():
    df = pd.DataFrame({"model": ["a/x", "a/y"], "MMLU-PRO": [35.2, 41.0]})
    with pytest.raises(DataValidationError,
                       match=r"column 'MMLU-PRO' \(read as 'mmlu_pro'\) looks like percent "
                             r"\(0-100\): values up to 41 "
                             r".*divide the column by 100") as info:
        validate_table(df)
    assert len(info.value.problems) == 1


def test_percent_results_categories():
    df = results_frame()
    df["chat"] = df["chat"] * 100
    problems = problems_of(df, "results")
    assert any("column 'chat' looks like percent" in p for p in problems)


def test_negative_and_zero_sizes():
    df = pd.DataFrame({"model": ["a/x", "a/y", "a/z"], "params_b": [7.0, -1.5, 0.0]})
    with pytest.raises(DataValidationError,
                       match=r"column 'params_b': non-positive value\(s\) -1.5, 0 at row 2 "
                             r"\('a/y'\), row 3 \('a/z'\); sizes must be > 0 .*billions"):
        validate_table(df)
    df = pd.DataFrame({"model": ["a/x"], "pretrain_tokens_t": [-3.0]})
    with pytest.raises(DataValidationError, match=r"'pretrain_tokens_t'.*trillions of tokens"):
        validate_table(df)


def test_unknown_post_training_stage():
    df = pd.DataFrame({"model": ["a/x", "a/y"], "mmlu_pro": [0.3, 0.4],
                       "post_training": ["Instruct", "chat"]})
    with pytest.raises(DataValidationError,
                       match=r"column 'post_training': unknown stage\(s\) 'chat' at row 2 "
                             r"\('a/y'\); use one of base, sft, dpo, rlvr, instruct"):
        validate_table(df)


def test_post_training_normalised():
    df = pd.DataFrame({"model": ["a/x"], "mmlu_pro": [0.3], "stage": [" Instruct "]})
    table, _ = quiet(df)
    assert table.frame.loc[0, "post_training"] == "instruct"


def test_unknown_columns_warn_and_are_dropped():
    df = pd.DataFrame({"model": ["a/x"], "mmlu_pro": [0.3], "my_notes_col": ["x"]})
    with pytest.warns(DataWarning, match=r"unknown column\(s\) ignored: 'my_notes_col'"):
        table = validate_table(df)
    assert "my_notes_col" not in table.frame.columns
    assert any("my_notes_col" in w for w in table.warnings)


def test_candidate_without_any_usable_feature():
    df = pd.DataFrame({"model": [UNKNOWN, "b/y"], "mmlu_pro": [np.nan, 0.3],
                       "post_training": ["instruct", "base"]})
    with pytest.raises(DataValidationError,
                       match=re.escape(f"no usable feature at row 1 ('{UNKNOWN}')")):
        validate_table(df)


def test_unknown_model_with_only_model_column():
    problems = problems_of(pd.DataFrame({"model": [UNKNOWN]}))
    assert len(problems) == 1 and "no usable feature" in problems[0]


def test_blank_model_id():
    df = pd.DataFrame({"model": ["a/x", "  ", None], "mmlu_pro": [0.3, 0.4, 0.5]})
    with pytest.raises(DataValidationError,
                       match=r"column 'model': empty id at row 2 .*, row 3; give every row"):
        validate_table(df)


def test_infinite_value():
    df = pd.DataFrame({"model": ["a/x"], "gpqa": [np.inf]})
    with pytest.raises(DataValidationError, match=r"column 'gpqa': infinite value at row 1"):
        validate_table(df)


def test_empty_table():
    with pytest.raises(DataValidationError, match="the table has no rows"):
        validate_table(pd.DataFrame({"model": [], "mmlu_pro": []}))


def test_two_columns_with_one_meaning():
    df = pd.DataFrame({"model": ["a/x"], "MMLU-PRO": [0.3], "leaderboard_mmlu_pro": [0.3]})
    with pytest.raises(DataValidationError,
                       match=r"columns 'MMLU-PRO' and 'leaderboard_mmlu_pro' both mean "
                             r"'mmlu_pro'; keep only one"):
        validate_table(df)


def test_repeated_column_label():
    # A repeated label used to crash with a pandas length mismatch.
    df = pd.DataFrame([["a/x", "a/x", 0.3]], columns=["model", "model", "mmlu_pro"])
    with pytest.raises(DataValidationError, match=r"columns 'model' and 'model' both mean"):
        validate_table(df)


def test_every_problem_reported_together():
    df = pd.DataFrame({
        "model": ["a/x", "a/x", "a/z", ""],
        "MMLU-PRO": [35.0, 40.0, 12.0, 50.0],           # percent
        "ifeval": [0.3, "n/a", 0.4, 0.5],               # non-numeric
        "bbh": [0.3, 0.4, -0.5, 0.4],                   # outside [0, 1]
        "Model Size (B)": [7.0, -7.0, 1.0, 2.0],        # negative size
        "post_training": ["instruct", "chat", "base", "sft"],  # unknown stage
    })
    with pytest.raises(DataValidationError) as info:
        validate_table(df, source="bad.csv")
    problems = info.value.problems
    expected = ["empty id at row 4", "'ifeval': non-numeric",
                "'MMLU-PRO' (read as 'mmlu_pro') looks like percent",
                "'bbh': value(s) -0.5 outside", "(read as 'params_b'): non-positive",
                "unknown stage(s) 'chat'", "duplicate model at row 1 ('a/x'), row 2 ('a/x')"]
    assert len(problems) == len(expected), problems
    for text in expected:
        assert sum(text in p for p in problems) == 1, (text, problems)
    assert str(info.value).startswith("7 problem(s) in bad.csv: ")
    report = info.value.report().splitlines()
    assert report[0] == "7 problem(s) in bad.csv:" and len(report) == 8


def test_long_row_lists_are_truncated():
    df = pd.DataFrame({"model": [f"a/m{i}" for i in range(12)], "gpqa": [-0.1] * 12})
    problems = problems_of(df)
    assert "and 7 more" in problems[0]


# --------------------------------------------------------------------------- aliases


@pytest.mark.parametrize("alias", ["MMLU-PRO", "leaderboard_mmlu_pro", "mmlu_pro", "MMLU Pro"])
def test_mmlu_pro_aliases(alias):
    table, _ = quiet(pd.DataFrame({"model_id": [UNKNOWN], alias: [0.31]}))
    assert list(table.frame.columns) == ["model", "mmlu_pro"]
    assert table.frame.loc[0, "mmlu_pro"] == pytest.approx(0.31)


def test_size_aliases():
    df = pd.DataFrame({"Model": [UNKNOWN], "Model Size (B)": [6.5],
                       "Pretraining Data Size (T)": [2.0]})
    table, _ = quiet(df)
    assert table.frame.loc[0, "params_b"] == 6.5
    assert table.frame.loc[0, "pretrain_tokens_t"] == 2.0


def test_display_names_of_leaderboard_v2():
    df = pd.DataFrame({"model": [UNKNOWN], "IFEval": [0.5], "BBH": [0.4], "MATH Level 5": [0.1],
                       "GPQA": [0.3], "MUSR": [0.4], "MMLU-PRO": [0.3]})
    table, _ = quiet(df)
    assert list(table.frame.columns) == ["model", *V2_BENCHMARKS]


# --------------------------------------------------------------------------- filling


def test_fill_known_model_from_bundled_tables():
    table, _ = quiet(pd.DataFrame({"model": [KNOWN]}))
    row = table.frame.iloc[0]
    v2 = load_leaderboard(2).set_index("model").loc[KNOWN]
    v1 = load_leaderboard(1).set_index("model").loc[KNOWN]
    meta = load_table("models").set_index("model").loc[KNOWN]
    for col in V2_BENCHMARKS:
        assert row[col] == v2[col]
    for col in V1_BENCHMARKS:
        assert row[col] == v1[col]
    assert row["params_b"] == meta["params_b"] == 8.83
    assert row["pretrain_tokens_t"] == meta["pretrain_tokens_t"]
    assert row["publisher"] == "01.ai" and row["post_training"] == "instruct"

    filled = table.filled.set_index("column")
    assert list(table.filled.columns) == ["model", "column", "value", "source"]
    assert set(table.filled["model"]) == {KNOWN}
    assert table.filled["column"].is_unique
    for col in V2_BENCHMARKS:
        assert filled.at[col, "source"] == "leaderboard_v2"
        assert filled.at[col, "value"] == v2[col]
    for col in V1_BENCHMARKS:
        assert filled.at[col, "source"] == "leaderboard_v1"
    # The study's metadata wins over the leaderboard's parameter count.
    assert filled.at["params_b", "source"] == "models"
    assert filled.at["pretrain_tokens_t", "source"] == "models"


def test_fill_leaderboard_only_model():
    table, _ = quiet(pd.DataFrame({"model": [KNOWN_V2_ONLY]}))
    filled = table.filled.set_index("column")
    assert filled.at["params_b", "source"] == "leaderboard_v2"
    assert filled.at["params_b", "value"] == load_leaderboard(2).set_index("model").at[
        KNOWN_V2_ONLY, "params_b"]
    assert set(V2_BENCHMARKS) <= set(filled.index)
    # Not in the study's metadata, so no token count is invented.
    assert "pretrain_tokens_t" not in set(filled.index)


def test_fill_never_overwrites_given_values():
    df = pd.DataFrame({"model": [KNOWN], "mmlu_pro": [0.123], "params_b": [9.0]})
    table, _ = quiet(df)
    assert table.frame.loc[0, "mmlu_pro"] == 0.123
    assert table.frame.loc[0, "params_b"] == 9.0
    assert not {"mmlu_pro", "params_b"} & set(table.filled["column"])
    assert "ifeval" in set(table.filled["column"])


def test_fill_into_blank_text_column():
    # A blank `publisher` column is read from CSV as float NaN; filling text into it used to
    # raise a pandas TypeError.
    df = pd.DataFrame({"model": [KNOWN], "publisher": [np.nan], "family": [np.nan]})
    table, _ = quiet(df)
    assert table.frame.loc[0, "publisher"] == "01.ai"
    assert table.frame.loc[0, "family"] == "yi-1.5"


def test_fill_skips_unknown_size_sentinels():
    v2 = load_leaderboard(2)
    sentinel = v2.loc[v2["params_b"] <= 0, "model"]
    if sentinel.empty:
        pytest.skip("leaderboard v2 has no size sentinels any more")
    table, _ = quiet(pd.DataFrame({"model": [sentinel.iloc[0]]}))
    assert "params_b" not in set(table.filled["column"])
    assert pd.isna(table.frame.loc[0, "params_b"])


def test_no_fill():
    df = pd.DataFrame({"model": [KNOWN], "mmlu_pro": [0.4]})
    table, _ = quiet(df, fill_from_reference=False)
    assert table.filled.empty
    assert list(table.frame.columns) == ["model", "mmlu_pro"]
    with pytest.raises(DataValidationError, match="no usable feature"):
        quiet(pd.DataFrame({"model": [KNOWN]}), fill_from_reference=False)


# --------------------------------------------------------------------------- results tables


def test_results_valid_and_score_derived():
    df = results_frame(3)
    table, _ = quiet(df, "results")
    expected = df[list(CATEGORIES)].mean(axis=1).to_numpy()
    np.testing.assert_allclose(table.frame["score"].to_numpy(), expected)
    assert table.kind == "results"


def test_results_consistent_score_accepted():
    df = results_frame(2)
    df["score"] = df[list(CATEGORIES)].mean(axis=1) + 0.001
    table, _ = quiet(df, "results")
    np.testing.assert_allclose(table.frame["score"], df["score"])


def test_results_need_method():
    df = results_frame().drop(columns="method")
    with pytest.raises(DataValidationError, match=r"no 'method' column; results need the RM"):
        validate_table(df, "results")


def test_results_method_names():
    df = results_frame(2, method=["Bradley-Terry", None])
    with pytest.raises(DataValidationError, match=r"column 'method': invalid name\(s\)"):
        validate_table(df, "results")


def test_results_need_categories():
    df = results_frame().drop(columns=["safety", "reasoning"])
    with pytest.raises(DataValidationError,
                       match=r"missing RewardBench v1 category column\(s\) safety, reasoning"):
        validate_table(df, "results")


def test_results_empty_category():
    df = results_frame()
    df.loc[1, "chat_hard"] = np.nan
    with pytest.raises(DataValidationError,
                       match=r"empty RewardBench v1 category accuracy at row 2"):
        validate_table(df, "results")


def test_results_inconsistent_score():
    df = results_frame(2)
    df["score"] = df[list(CATEGORIES)].mean(axis=1)
    df.loc[1, "score"] += 0.05
    with pytest.raises(DataValidationError,
                       match=r"column 'score' differs from the mean of the row's benchmark "
                             r"categories by more than 0.005 at row 2"):
        validate_table(df, "results")


def test_results_duplicate_model_method():
    df = results_frame(2, model=["a/x", "a/x"])
    with pytest.raises(DataValidationError, match=r"duplicate model/method at row 1"):
        validate_table(df, "results")
    df = results_frame(2, model=["a/x", "a/x"], method=["regression", "bradley_terry"])
    quiet(df, "results")  # one model, two methods is fine


def test_reference_results_round_trip():
    from rmpredict.datasets import load_reference

    ref = load_reference()
    table, _ = quiet(ref, "results", fill_from_reference=False)
    assert len(table.frame) == 66
    np.testing.assert_allclose(table.frame["score"], ref["score"])


def test_bad_arguments():
    with pytest.raises(InvalidParameterError, match="'kind' parameter of validate_table"):
        validate_table(pd.DataFrame({"model": ["a"]}), "predictions")
    with pytest.raises(InvalidParameterError, match="must be a pandas DataFrame"):
        validate_table([{"model": "a"}])


# --------------------------------------------------------------------------- file readers


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_read_candidates_formats(tmp_path, suffix):
    df = pd.DataFrame({"model_name": [UNKNOWN, "b/y"], "MMLU-PRO": [0.3, 0.35],
                       "params_b": [7.0, 1.5]})
    path = tmp_path / f"cands{suffix}"
    {".csv": lambda: df.to_csv(path, index=False),
     ".parquet": lambda: df.to_parquet(path, index=False),
     ".jsonl": lambda: df.to_json(path, orient="records", lines=True)}[suffix]()
    table = read_candidates(path)
    assert table.source == str(path)
    assert list(table.frame.columns) == ["model", "mmlu_pro", "params_b"]
    np.testing.assert_allclose(table.frame["mmlu_pro"], [0.3, 0.35])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_read_results_formats(tmp_path, suffix):
    df = results_frame(3)
    path = tmp_path / f"res{suffix}"
    {".csv": lambda: df.to_csv(path, index=False),
     ".parquet": lambda: df.to_parquet(path, index=False),
     ".jsonl": lambda: df.to_json(path, orient="records", lines=True)}[suffix]()
    table = read_results(path)
    np.testing.assert_allclose(table.frame["score"], df[list(CATEGORIES)].mean(axis=1))


def test_read_percent_csv_names_the_file(tmp_path):
    path = tmp_path / "pct.csv"
    path.write_text("model,mmlu_pro\na/x,35.1\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=re.escape(f"1 problem(s) in {path}: ")):
        read_candidates(path)


def test_read_missing_and_unknown_format(tmp_path):
    with pytest.raises(DataValidationError, match="file not found"):
        read_candidates(tmp_path / "missing.csv")
    bad = tmp_path / "table.xlsx"
    bad.write_text("x", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"unknown table format '.xlsx'"):
        read_candidates(bad)
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"cannot parse broken.jsonl as jsonl"):
        read_candidates(broken)


def test_read_dataframe_directly():
    table, _ = quiet(pd.DataFrame({"model": [UNKNOWN], "gpqa": [0.3]}))
    assert table.source == "DataFrame"
    assert read_candidates(pd.DataFrame({"model": [UNKNOWN], "gpqa": [0.3]})).source == \
        "DataFrame"


# --------------------------------------------------------------------------- bundled example


def test_example_candidates_file():
    raw = pd.read_csv(EXAMPLE)
    assert list(raw.columns) == ["model", "publisher", "post_training"]
    assert 10 <= len(raw) <= 16 and raw["model"].is_unique
    assert (raw["post_training"] == "instruct").all() and raw["publisher"].notna().all()
    v2 = load_leaderboard(2).set_index("model")
    missing = set(raw["model"]) - set(v2.index)
    assert not missing, f"not in bundled leaderboard v2: {sorted(missing)}"
    assert (v2.loc[raw["model"], "params_b"] <= 10).all()
    models = load_table("models")
    withheld = models.loc[~models["in_rm_results"]]
    in_example = set(raw["model"])
    assert {"01-ai/Yi-1.5-9B-Chat", "01-ai/Yi-1.5-6B-Chat", "tiiuae/Falcon3-7B-Instruct",
            "tiiuae/Falcon3-3B-Instruct", "stabilityai/stablelm-2-1_6b-chat"} <= in_example
    assert set(withheld["publisher"]) == set(withheld.loc[
        withheld["model"].isin(in_example), "publisher"])
    study = set(models.loc[models["in_rm_results"], "model"])
    assert 2 <= len(in_example & study) < len(in_example)
    assert len(in_example - set(models["model"])) >= 3  # newer models outside the study
    # Publishers agree with the study's metadata where the model is a study model.
    meta = models.set_index("model")["publisher"]
    known = raw[raw["model"].isin(meta.index)]
    assert (known["publisher"].to_numpy() == meta.loc[known["model"]].to_numpy()).all()


def test_example_candidates_validate_and_fill():
    with warnings.catch_warnings(record=True) as caught:
        # The file has no unknown columns: the one warning announces the filled values.
        warnings.simplefilter("always")
        table = read_candidates(EXAMPLE)
    assert [w.category for w in caught] == [FilledValuesWarning], [str(w.message) for w in caught]
    assert f"filled {len(table.filled)} missing value(s)" in str(caught[0].message)
    assert len(table.frame) == len(pd.read_csv(EXAMPLE))
    assert table.frame[list(V2_BENCHMARKS)].notna().all().all()
    assert table.frame["params_b"].notna().all()
    assert set(table.filled["model"]) == set(table.frame["model"])
    assert set(table.filled["source"]) == {"models", "leaderboard_v2", "leaderboard_v1"}


def test_results_rewardbench2_rows():
    cats = {"factuality": 0.6, "precise_if": 0.35, "math": 0.55, "safety": 0.8, "focus": 0.7,
            "ties": -0.01}
    df = pd.DataFrame([{"model": "org/a", "method": "r", "benchmark": "RewardBench2 ", **cats},
                       {"model": "org/a", "method": "r", "benchmark": "rewardbench",
                        "chat": 0.9, "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.7}])
    out = validate_table(df, "results", fill_from_reference=False).frame
    assert list(out["benchmark"]) == ["rewardbench2", "rewardbench"]
    # Each row's score is the mean of its own benchmark's categories.
    assert out.loc[0, "score"] == pytest.approx(np.mean(list(cats.values())))
    assert out.loc[1, "score"] == pytest.approx(0.75)


def test_results_rewardbench2_problems_reported_together():
    df = pd.DataFrame([{"model": "org/a", "method": "r", "benchmark": "rewardbench3",
                        "chat": 0.9, "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.7},
                       {"model": "org/b", "method": "r", "benchmark": "rewardbench2",
                        "factuality": 0.6, "safety": 0.8, "ties": -1.5}])
    with pytest.raises(DataValidationError) as err:
        validate_table(df, "results", fill_from_reference=False)
    text = str(err.value)
    assert "column 'benchmark': unknown benchmark(s) 'rewardbench3' at row 1" in text
    assert "missing RewardBench 2 category column(s) precise_if, math, focus" in text
    assert "column 'ties': value(s) -1.5 outside [-1, 1]" in text


def test_results_rows_without_a_benchmark_are_v1_with_a_notice():
    df = pd.DataFrame([{"model": "org/a", "method": "r", "benchmark": None, "chat": 0.9,
                        "chat_hard": 0.6, "safety": 0.8, "reasoning": 0.7}])
    with pytest.warns(DataWarning, match=r"1 row\(s\) have no benchmark .* taken as "
                                         r"rewardbench \(v1\)"):
        out = validate_table(df, "results", fill_from_reference=False).frame
    assert out.loc[0, "benchmark"] == "rewardbench"


def test_results_with_rewardbench2_columns_but_no_benchmark_column_get_a_notice():
    df = pd.DataFrame([{"model": "org/a", "method": "r", "chat": 0.9, "chat_hard": 0.6,
                        "safety": 0.8, "reasoning": 0.7, "factuality": 0.5}])
    with pytest.warns(DataWarning, match=r"no 'benchmark' column: every row is taken as "
                                         r"rewardbench \(v1\) and the RewardBench 2 "
                                         r"column\(s\) factuality are not used"):
        validate_table(df, "results", fill_from_reference=False)
