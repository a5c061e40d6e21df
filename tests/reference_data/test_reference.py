"""Bundled reference data: integrity, units, the join, the duplicate rule and reproducibility."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rmpredict.datasets import (
    CATEGORIES,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    _reference,
    data_dir,
    list_tables,
    load_leaderboard,
    load_reference,
    load_table,
    verify_data,
)
from rmpredict.exceptions import InvalidParameterError, ModelMismatchError

REPO = Path(__file__).resolve().parents[2]
# CI keeps a copy of shared/ beside the clone; tests that re-derive from the sources skip
# without it.
SHARED_DATA = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                  reason=f"source data not found at {SHARED_DATA}")

WITHHELD_PUBLISHERS = {"01.ai", "TII", "Stability AI"}
PRECISION_RANK = {"bfloat16": 0, "float16": 1, "float32": 2, "8bit": 3, "4bit": 4, "GPTQ": 5}


# --------------------------------------------------------------------------- row counts


def test_row_counts():
    rm = load_table("rm_results")
    assert len(rm) == 66
    assert rm["method"].value_counts().to_dict() == {"regression": 34, "bradley_terry": 32}
    assert len(load_table("models")) == 42
    assert load_table("models")["model"].is_unique
    assert len(load_leaderboard(2)) == 4496
    assert len(load_leaderboard(1)) == 6811
    assert len(load_table("obsscaling")) == 148


def test_list_tables_matches_manifest_and_files():
    tables = list_tables()
    assert list(tables.columns) == ["table", "file", "rows", "description"]
    manifest = json.loads((data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))
    for row in tables.itertuples():
        assert (data_dir() / row.file).is_file()
        assert len(load_table(row.table)) == row.rows == manifest["files"][row.file]["rows"]
        assert list(load_table(row.table).columns) == manifest["files"][row.file]["columns"]


def test_leaderboard_ids_unique():
    for version in (1, 2):
        lb = load_leaderboard(version)
        assert lb["model"].is_unique, f"leaderboard v{version} has duplicate model ids"


# --------------------------------------------------------------------------- units and ranges


def test_score_is_mean_of_categories():
    rm = load_table("rm_results")
    gap = (rm[list(CATEGORIES)].mean(axis=1) - rm["score"]).abs()
    # 0.06 points in percent, as in the source, is 0.0006 in fractions.
    assert gap.max() <= 0.0006 + 1e-12
    assert rm[[*CATEGORIES, "score"]].notna().all().all()


@pytest.mark.parametrize("table, columns", [
    ("rm_results", [*CATEGORIES, "score"]),
    ("leaderboard_v2", list(V2_BENCHMARKS)),
    ("leaderboard_v1", list(V1_BENCHMARKS)),
    ("obsscaling", ["mmlu", "arc", "hellaswag", "winogrande", "truthfulqa", "gsm8k",
                    *V2_BENCHMARKS]),
])
def test_scores_are_fractions(table, columns):
    frame = load_table(table)[columns]
    values = frame.to_numpy(dtype=float)
    finite = values[~np.isnan(values)]
    assert finite.size > 0
    assert finite.min() >= 0.0 and finite.max() <= 1.0
    # Not percent in disguise: some accuracy in every table is above 0.3.
    assert finite.max() > 0.3


def test_sizes_positive():
    for table in ("models", "leaderboard_v1", "obsscaling"):
        params = load_table(table)["params_b"].dropna()
        assert (params > 0).all(), table
    # Leaderboard v2 marks an unknown size with 0 or -1 (10 source rows, kept as given; the
    # datasheet says so). Everything else is a positive size.
    v2 = load_leaderboard(2)["params_b"]
    sentinel = v2 <= 0
    assert set(v2[sentinel]) <= {0.0, -1.0}
    assert sentinel.sum() <= 10
    models = load_table("models")
    assert models["params_b"].between(0.4, 11).all()
    assert (models["pretrain_tokens_t"].dropna() > 0).all()


def test_units_converted_from_source_percent():
    """rm_results is the paper's percent divided by 100 (explicit conversion in build.py)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"source data not found at {SHARED_DATA}")
    src = pd.read_csv(SHARED_DATA / "rewardbench_2505_10775.csv")
    rm = load_table("rm_results")
    assert list(src["model"]) == list(rm["model"])
    np.testing.assert_allclose(rm[[*CATEGORIES, "score"]].to_numpy(),
                               src[[*CATEGORIES, "score"]].to_numpy() / 100.0, atol=1e-9)


# --------------------------------------------------------------------------- coverage and gaps


def test_every_study_model_in_leaderboard_v2():
    v2 = set(load_leaderboard(2)["model"])
    study = set(load_table("rm_results")["model"]) | set(load_table("models")["model"])
    assert len(study) == 42
    assert study <= v2, sorted(study - v2)


def test_rm_results_models_have_metadata():
    models = load_table("models")
    rm = load_table("rm_results")
    assert set(rm["model"]) <= set(models["model"])
    assert rm["model"].nunique() == 34
    assert set(models.loc[models["in_rm_results"], "model"]) == set(rm["model"])


def test_withheld_publishers():
    models = load_table("models")
    rm = load_table("rm_results")
    withheld = models[models["publisher"].isin(WITHHELD_PUBLISHERS)]
    assert len(withheld) == 8
    assert set(withheld["publisher"]) == WITHHELD_PUBLISHERS
    assert not set(withheld["model"]) & set(rm["model"])
    assert not set(rm["publisher"]) & WITHHELD_PUBLISHERS
    assert not withheld["in_rm_results"].any()
    # Their metadata and benchmarks are present, as for any candidate.
    assert withheld[["params_b", "pretrain_tokens_t"]].notna().all().all()
    v2 = load_leaderboard(2).set_index("model")
    assert v2.loc[withheld["model"], list(V2_BENCHMARKS)].notna().all().all()


def test_models_missing_from_leaderboard_v1():
    """The datasheet lists these 28 models; keep both in step."""
    v1 = set(load_leaderboard(1)["model"])
    missing = sorted(set(load_table("models")["model"]) - v1)
    assert len(missing) == 28
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    for model in missing:
        assert f"`{model}`" in readme, f"{model} missing from the data/README.md gap list"


# --------------------------------------------------------------------------- loader


def test_load_reference_shape_and_columns():
    ref = load_reference()
    assert len(ref) == 66
    assert not ref.duplicated(["model", "method"]).any()
    expected = ["model", "method", "publisher", "family", "post_training", "params_b",
                "pretrain_tokens_t", *V2_BENCHMARKS, *V1_BENCHMARKS, *CATEGORIES, "score"]
    assert list(ref.columns[: len(expected)]) == expected
    for col in ["params_b", "pretrain_tokens_t", *V2_BENCHMARKS, *V1_BENCHMARKS, *CATEGORIES,
                "score"]:
        assert pd.api.types.is_float_dtype(ref[col]), col
    for col in ["model", "method", "publisher", "post_training"]:
        assert pd.api.types.is_string_dtype(ref[col]), col
        assert ref[col].notna().all(), col
    assert set(ref["post_training"]) <= {"base", "sft", "dpo", "rlvr", "instruct"}


def test_load_reference_units_and_completeness():
    ref = load_reference()
    # Every study model is in leaderboard v2, so the v2 features are complete.
    assert ref[list(V2_BENCHMARKS)].notna().all().all()
    assert ref[["params_b", "pretrain_tokens_t"]].notna().all().all()
    num = ref[[*V2_BENCHMARKS, *V1_BENCHMARKS, *CATEGORIES, "score"]].to_numpy(dtype=float)
    assert np.nanmin(num) >= 0 and np.nanmax(num) <= 1


def test_load_reference_join_is_exact():
    ref = load_reference()
    v2 = load_leaderboard(2).set_index("model")
    models = load_table("models").set_index("model")
    for row in ref.sample(10, random_state=0).itertuples():
        assert row.mmlu_pro == v2.at[row.model, "mmlu_pro"]
        assert row.params_b == models.at[row.model, "params_b"]


def test_load_reference_v1_nan_for_models_absent_from_v1():
    ref = load_reference()
    in_v1 = ref["model"].isin(set(load_leaderboard(1)["model"]))
    assert in_v1.any() and (~in_v1).any()
    assert ref.loc[~in_v1, list(V1_BENCHMARKS)].isna().all().all()
    assert ref.loc[in_v1, list(V1_BENCHMARKS)].notna().any(axis=1).all()
    assert ref.loc[~in_v1, "model"].nunique() == 23


def test_loaders_return_copies():
    a = load_table("models")
    a.loc[0, "params_b"] = -1.0
    assert load_table("models").loc[0, "params_b"] > 0
    r = load_reference()
    r["score"] = 0.0
    assert load_reference()["score"].max() > 0


@pytest.mark.parametrize("name", ["nope", "rm_result", "", "reference"])
def test_load_table_unknown_name(name):
    with pytest.raises(InvalidParameterError, match="'name' parameter of load_table must be"):
        load_table(name)


@pytest.mark.parametrize("version", [0, 3, "2"])
def test_load_leaderboard_bad_version(version):
    with pytest.raises(InvalidParameterError, match="must be 1 or 2"):
        load_leaderboard(version)


# --------------------------------------------------------------------------- duplicate rule


@needs_shared
def test_duplicate_rule_v2_prefers_bfloat16():
    src = pd.read_csv(SHARED_DATA / "open_llm_leaderboard_v2.csv")
    assert len(src) == 4574
    dup_ids = src.loc[src["model_id"].duplicated(keep=False), "model_id"].unique()
    assert len(dup_ids) == 78
    lb = load_leaderboard(2).set_index("model")
    for model_id in dup_ids:
        rows = src[src["model_id"] == model_id]
        rank = rows["precision"].map(PRECISION_RANK).fillna(len(PRECISION_RANK))
        best = rows[rank == rank.min()].iloc[0]
        kept = lb.loc[model_id]
        assert kept["precision"] == best["precision"]
        if "bfloat16" in set(rows["precision"]):
            assert kept["precision"] == "bfloat16"
        np.testing.assert_allclose(kept[["ifeval", "mmlu_pro"]].to_numpy(dtype=float),
                                   best[["IFEval", "MMLU-PRO"]].to_numpy(dtype=float))


@needs_shared
def test_duplicate_rule_v1_precision():
    src = pd.read_csv(SHARED_DATA / "open_llm_leaderboard_v1.csv", usecols=["Model", "Precision"])
    dup = src[src["Model"].duplicated(keep=False)]
    assert dup["Model"].nunique() > 0
    best = (dup.assign(rank=dup["Precision"].map(PRECISION_RANK).fillna(len(PRECISION_RANK)))
            .groupby("Model")["rank"].min())
    lb = load_leaderboard(1).set_index("model")
    kept = lb.loc[best.index, "precision"].map(PRECISION_RANK).fillna(len(PRECISION_RANK))
    assert (kept == best).all()


# --------------------------------------------------------------------------- reproducibility


@needs_shared
def test_build_reproduces_manifest(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "data" / "build.py"), "--source", str(SHARED_DATA),
         "--output", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    shipped = json.loads((data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))
    rebuilt = json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))
    assert rebuilt["files"] == shipped["files"]
    assert rebuilt["sources"] == shipped["sources"]


def test_verify_data_passes():
    digests = verify_data()
    manifest = json.loads((data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))
    assert digests == {f: meta["sha256"] for f, meta in manifest["files"].items()}


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    copy.mkdir()
    for name in ["MANIFEST.json", *json.loads(
            (data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))["files"]]:
        shutil.copy2(data_dir() / name, copy / name)
    monkeypatch.setattr(_reference, "data_dir", lambda: copy)
    return copy


def test_verify_data_detects_modified_copy(data_copy):
    verify_data()  # the untouched copy passes
    path = data_copy / "rm_results.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("0.961", "0.962", 1), encoding="utf-8")
    with pytest.raises(ModelMismatchError, match=r"rm_results\.csv has sha256 .*expected"):
        verify_data()


def test_verify_data_detects_missing_file(data_copy):
    (data_copy / "leaderboard_v1.csv.gz").unlink()
    with pytest.raises(ModelMismatchError, match=r"leaderboard_v1\.csv\.gz is missing"):
        verify_data()


# --------------------------------------------------------------------------- datasheet, citation


def test_datasheet_names_every_source_commit():
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    manifest = json.loads((data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))
    for name, meta in manifest["sources"].items():
        assert f"`{name}`" in readme, name
        commit = meta["origin"].split("@")[1].split()[0] if "@" in meta["origin"] else None
        if commit:
            assert commit in readme, (name, commit)
    for table in list_tables()["table"]:
        assert f"`{table}`" in readme, table
    assert "PROBE.md" in readme and "examples/candidates.csv" in readme


def test_citation_cff():
    yaml = pytest.importorskip("yaml")
    from rmpredict import __version__

    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == __version__
    assert cff["authors"] == [{"name": "rmpredict developers"}]
    paper = cff["references"][0]
    assert paper["title"] == "A Systematic Analysis of Base Model Choice for Reward Modeling"
    assert {i["value"] for i in paper["identifiers"]} >= {"arXiv:2505.10775", "2025.emnlp-main.8"}
