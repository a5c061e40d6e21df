"""Public RM results: the build, units, derived overall scores, the joins and the loader."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rmpredict
from rmpredict._provenance import hash_frame, sha256_file
from rmpredict.datasets import (
    CONFIDENCE_LEVELS,
    PUBLIC_BENCHMARKS,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    _reference,
    data_dir,
    load_leaderboard,
    load_public_results,
    load_table,
    validate_public_results,
)
from rmpredict.exceptions import DataValidationError, InvalidParameterError

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                  reason=f"source data not found at {SHARED_DATA}")
V1_CATS = list(PUBLIC_BENCHMARKS["rewardbench"])
V2_CATS = list(PUBLIC_BENCHMARKS["rewardbench2"])
ALL_CATS = list(dict.fromkeys(V1_CATS + V2_CATS))
TOL = 1e-4 + 1e-9  # categories and scores are published to 4 decimals


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_table("public_rm_results")


@pytest.fixture(scope="module")
def joins() -> pd.DataFrame:
    return load_table("public_rm_joins")


# --------------------------------------------------------------------------- counts


def test_row_counts(table):
    counts = table.groupby(["benchmark", "confidence"]).size().to_dict()
    assert counts == {("rewardbench", "high"): 25, ("rewardbench", "medium"): 42,
                      ("rewardbench", "low"): 2, ("rewardbench2", "high"): 14,
                      ("rewardbench2", "medium"): 19, ("rewardbench2", "low"): 126}
    study = table.groupby(["benchmark", table["study"].fillna("")]).size().to_dict()
    assert study == {("rewardbench", ""): 62, ("rewardbench", "rewardbench2_paper"): 7,
                     ("rewardbench2", ""): 152, ("rewardbench2", "rewardbench2_paper"): 7}
    assert not table.duplicated(["rm_key", "benchmark"]).any()


def test_truncated_ids_get_distinct_keys(table):
    repeated = table.duplicated(["rm_id", "benchmark"], keep=False)
    trunc = table[repeated]
    assert len(trunc) == 9 and trunc["rm_id"].nunique() == 1
    assert trunc["rm_id"].iloc[0].endswith("...")
    assert list(trunc["rm_key"]) == [f"{trunc['rm_id'].iloc[0]}#{k}" for k in range(1, 10)]
    assert table["rm_id_truncated"].sum() == 10
    assert (table.loc[~repeated, "rm_key"] == table.loc[~repeated, "rm_id"]).all()
    # Some reward models have results on both benchmarks.
    assert table.groupby("rm_key")["benchmark"].nunique().max() == 2


# --------------------------------------------------------------------------- units and scores


def test_scores_are_fractions(table):
    for col in [*ALL_CATS, "score", "score_derived"]:
        vals = table[col].dropna()
        lo = -0.01 if col == "ties" else 0.0
        assert vals.min() >= lo and vals.max() <= 1.0, col
        assert vals.max() > 0.3, col  # not percent in disguise, nor empty
    # The only negative values are RewardBench 2 Ties scores of -0.01 (kept as published).
    assert (table["ties"] < 0).sum() == 6
    assert set(table.loc[table["ties"] < 0, "ties"]) == {-0.01}


def test_categories_belong_to_their_benchmark(table):
    for bench, cats in PUBLIC_BENCHMARKS.items():
        rows = table[table["benchmark"] == bench]
        others = [c for c in ALL_CATS if c not in cats]
        assert rows[others].isna().all().all(), bench
    v2 = table[table["benchmark"] == "rewardbench2"]
    assert v2[V2_CATS].notna().all().all()
    v1 = table[table["benchmark"] == "rewardbench"]
    assert v1[["chat", "chat_hard", "safety"]].notna().all().all()
    assert v1["reasoning"].isna().sum() == 15


@needs_shared
def test_values_are_the_source_fractions_unscaled(table):
    src = pd.read_csv(SHARED_DATA / "public_rm_results.csv")
    assert len(src) == len(table)
    assert list(src["rm_id"]) == list(table["rm_id"])
    np.testing.assert_allclose(table[[*ALL_CATS, "score"]].to_numpy(dtype=float),
                               src[[*ALL_CATS, "score"]].to_numpy(dtype=float), atol=1e-9)


def test_derived_overall_matches_published(table):
    for bench, cats in PUBLIC_BENCHMARKS.items():
        rows = table[table["benchmark"] == bench]
        np.testing.assert_allclose(rows["score_derived"],
                                   rows[list(cats)].mean(axis=1, skipna=False), atol=1e-6)
    v2 = table[table["benchmark"] == "rewardbench2"]
    assert (v2["score_check"] == "match").all()
    assert (v2["score"] - v2["score_derived"]).abs().max() <= TOL
    v1 = table[table["benchmark"] == "rewardbench"]
    assert v1["score_check"].value_counts().to_dict() == {
        "prior_sets": 33, "match": 21, "reasoning_missing_mean_of_3": 15}
    match = v1[v1["score_check"] == "match"]
    assert (match["score"] - match["score_derived"]).abs().max() <= TOL
    # Older submissions: published = (four sections + 0.5 * Prior Sets) / 4.5.
    prior = v1[v1["score_check"] == "prior_sets"]
    assert ((prior["score"] - prior["score_derived"]).abs() > TOL).all()
    assert prior["prior_sets_implied"].between(0, 1).all()
    rebuilt = (prior[V1_CATS].sum(axis=1) + 0.5 * prior["prior_sets_implied"]) / 4.5
    assert (rebuilt - prior["score"]).abs().max() <= 0.5e-4 / 4.5 + 1e-9
    # Early Ai2 runs without a reasoning section: published = mean of the three others.
    three = v1[v1["score_check"] == "reasoning_missing_mean_of_3"]
    assert three["reasoning"].isna().all() and three["score_derived"].isna().all()
    gap = three[["chat", "chat_hard", "safety"]].mean(axis=1) - three["score"]
    assert gap.abs().max() <= TOL
    assert v1.loc[v1["score_check"] != "prior_sets", "prior_sets_implied"].isna().all()


# --------------------------------------------------------------------------- joins


def _ids() -> dict[str, set[str]]:
    return {"leaderboard_v2": set(load_leaderboard(2)["model"]),
            "leaderboard_v1": set(load_leaderboard(1)["model"]),
            "models": set(load_table("models")["model"])}


def test_join_flags_are_exact_membership(table):
    ids = _ids()
    for name, col in (("leaderboard_v2", "in_leaderboard_v2"),
                      ("leaderboard_v1", "in_leaderboard_v1"), ("models", "in_models")):
        assert (table["base_model"].isin(ids[name]) == table[col]).all(), col
    # The base model is base_init when leaderboard v2 has it, else base_pretrained.
    init_hit = table["base_init"].isin(ids["leaderboard_v2"])
    assert (table.loc[init_hit, "base_model"] == table.loc[init_hit, "base_init"]).all()
    fell = table["base_model_from"] == "base_pretrained"
    assert (table.loc[fell, "base_model"] == table.loc[fell, "base_pretrained"]).all()
    assert not (fell & init_hit).any()


def test_every_failed_join_is_recorded(table, joins):
    ids = _ids()
    keys = set(zip(table["rm_key"], table["benchmark"]))
    assert set(zip(joins["rm_key"], joins["benchmark"])) <= keys
    assert set(joins["table"]) == set(ids) and set(joins["outcome"]) == {"fallback", "unmatched"}
    for name, col in (("leaderboard_v2", "in_leaderboard_v2"),
                      ("leaderboard_v1", "in_leaderboard_v1"), ("models", "in_models")):
        unmatched = joins[(joins["table"] == name) & (joins["outcome"] == "unmatched")]
        missing = table[~table[col]]
        assert set(zip(missing["rm_key"], missing["benchmark"])) == set(
            zip(unmatched["rm_key"], unmatched["benchmark"])), name
        # A recorded failure is a real one, and no id differing only in case was silently used.
        assert not joins.loc[joins["table"] == name, "model_id"].isin(ids[name]).any()
    fallback = joins[joins["outcome"] == "fallback"]
    assert (fallback["table"] == "leaderboard_v2").all()
    assert (fallback["id_column"] == "base_init").all()
    fell = table[(table["base_model_from"] == "base_pretrained") & table["base_init"].notna()]
    assert set(zip(fell["rm_key"], fell["benchmark"])) == set(
        zip(fallback["rm_key"], fallback["benchmark"]))
    assert joins["reason"].str.len().gt(0).all()
    assert len(joins) == 270
    assert joins.groupby(["table", "outcome"]).size().to_dict() == {
        ("leaderboard_v1", "unmatched"): 163, ("leaderboard_v2", "fallback"): 26,
        ("leaderboard_v2", "unmatched"): 10, ("models", "unmatched"): 71}


def test_datasheet_lists_leaderboard_v2_failures(joins):
    readme = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    for model_id in joins.loc[joins["table"] == "leaderboard_v2", "model_id"].unique():
        assert f"`{model_id}`" in readme, model_id
    assert "`public_rm_results`" in readme and "`public_rm_joins`" in readme


# --------------------------------------------------------------------------- build


@needs_shared
def test_rebuild_is_byte_identical(tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        out.mkdir()
        proc = subprocess.run(
            [sys.executable, str(REPO / "data" / "build.py"), "--source", str(SHARED_DATA),
             "--output", str(out)], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
    for name in ("public_rm_results.csv", "public_rm_joins.csv"):
        shipped = (data_dir() / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() == shipped, name
        assert (tmp_path / "b" / name).read_bytes() == shipped, name


# --------------------------------------------------------------------------- loader


def test_low_confidence_excluded_by_default(table):
    pub = load_public_results()
    assert set(pub["confidence"]) == {"high", "medium"}
    assert len(pub) == int((table["confidence"] != "low").sum()) == 100
    assert pub.attrs["provenance"]["low_confidence_excluded"] == 128
    everything = load_public_results(include_low_confidence=True)
    assert len(everything) == len(table) == 228
    assert set(everything["confidence"]) == set(CONFIDENCE_LEVELS)


@pytest.mark.parametrize("bench, rows, low", [("rewardbench", 67, 2), ("rewardbench2", 33, 126)])
def test_benchmark_filter(bench, rows, low):
    pub = load_public_results(benchmark=bench)
    assert len(pub) == rows and set(pub["benchmark"]) == {bench}
    cats = list(PUBLIC_BENCHMARKS[bench])
    assert [c for c in ALL_CATS if c in pub.columns] == [c for c in ALL_CATS if c in cats]
    assert pub.attrs["provenance"]["low_confidence_excluded"] == low


def test_loader_joins_features_exactly():
    pub = load_public_results(include_low_confidence=True)
    v2 = load_leaderboard(2).set_index("model")
    hit = pub[pub["in_leaderboard_v2"]]
    np.testing.assert_array_equal(hit["mmlu_pro"].to_numpy(),
                                  v2.loc[hit["base_model"], "mmlu_pro"].to_numpy())
    assert hit[list(V2_BENCHMARKS)].notna().all().all()
    assert pub.loc[~pub["in_leaderboard_v2"], list(V2_BENCHMARKS)].isna().all().all()
    assert pub.loc[~pub["in_leaderboard_v1"], list(V1_BENCHMARKS)].isna().all().all()
    models = load_table("models").set_index("model")
    seed = pub[pub["in_models"]]
    np.testing.assert_array_equal(seed["params_b"].to_numpy(),
                                  models.loc[seed["base_model"], "params_b"].to_numpy())
    assert (pub["params_b"].dropna() > 0).all()
    stages = pub[pub["study"] == "rewardbench2_paper"].dropna(subset=["post_training"])
    assert set(stages["post_training"]) == {"base", "sft", "dpo", "rlvr", "instruct"}


def test_loader_provenance():
    pub = load_public_results()
    prov = pub.attrs["provenance"]
    assert prov["data_hash"] == hash_frame(pub)
    assert prov["file_sha256"] == prov["manifest_sha256"] == sha256_file(
        data_dir() / "public_rm_results.csv")
    assert prov["rows"] == len(pub) and prov["include_low_confidence"] is False
    assert load_public_results(include_low_confidence=True).attrs["provenance"][
        "data_hash"] != prov["data_hash"]


def test_loader_exported_and_returns_copies():
    assert "load_public_results" in rmpredict.__all__
    assert rmpredict.load_public_results is load_public_results
    a = load_public_results()
    a["score"] = -1.0
    assert load_public_results()["score"].min() >= 0


@pytest.mark.parametrize("kwargs, match", [
    ({"benchmark": "v2"}, r"'benchmark' parameter of load_public_results must be None"),
    ({"benchmark": "RewardBench"}, r"Got 'RewardBench' instead"),
    ({"include_low_confidence": "yes"}, r"'include_low_confidence' parameter .* must be a bool"),
    ({"include_low_confidence": 1}, r"must be a bool"),
])
def test_loader_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        load_public_results(**kwargs)


def test_validation_reports_every_problem_at_once(table):
    bad = table.copy()
    bad["safety"] = bad["safety"].astype(object)
    bad.loc[0, "benchmark"] = "rewardbench3"
    bad.loc[1, "confidence"] = "certain"
    bad["chat_hard"] = bad["chat_hard"] * 100  # percent
    bad.loc[2, "factuality"] = 0.5  # a v2 category on a v1 row
    bad.loc[3, "safety"] = "n/a"
    bad.loc[5, "rm_key"] = bad.loc[4, "rm_key"]
    with pytest.raises(DataValidationError) as info:
        validate_public_results(bad, source="bad.csv")
    problems = info.value.problems
    text = "\n".join(problems)
    assert str(info.value).startswith(f"{len(problems)} problem(s) in bad.csv")
    assert "column 'benchmark': unknown value(s) 'rewardbench3' at row 1" in text
    assert "column 'confidence': unknown value(s) 'certain' at row 2" in text
    assert "column 'chat_hard' looks like percent (0-100)" in text and "divide" in text
    assert "column 'factuality': value(s) 0.5 at row 3" in text
    assert "column 'safety': non-numeric value(s) 'n/a' at row 4" in text
    assert "duplicate rm_key/benchmark at row 5" in text
    assert len(problems) >= 6


def test_validation_out_of_range_and_derived(table):
    bad = table.copy()
    bad["in_models"] = bad["in_models"].astype(object)
    v2 = bad.index[bad["benchmark"] == "rewardbench2"]
    bad.loc[v2[0], "ties"] = -1.5
    bad.loc[v2[1], "math"] = np.nan
    bad.loc[v2[2], "score_derived"] = 0.123
    match = bad.index[bad["score_check"] == "match"]
    bad.loc[match[-1], "score"] = 0.01
    bad.loc[0, "in_models"] = "maybe"
    with pytest.raises(DataValidationError) as info:
        validate_public_results(bad)
    text = "\n".join(info.value.problems)
    assert "column 'ties': value(s) -1.5 outside [-1, 1]" in text
    assert "column 'math': empty at" in text
    assert "column 'score_derived': not the mean of the rewardbench2 categories" in text
    assert "column 'score': published score differs from 'score_derived'" in text
    assert "column 'in_models': non-boolean value(s) 'maybe'" in text


def test_validation_missing_columns(table):
    with pytest.raises(DataValidationError, match=r"missing column\(s\) 'benchmark', 'score'"):
        validate_public_results(table.drop(columns=["benchmark", "score"]))
    with pytest.raises(InvalidParameterError, match="must be a pandas DataFrame"):
        validate_public_results([1, 2])


@pytest.fixture
def corrupted_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    copy.mkdir()
    for name in ["MANIFEST.json", *(f for f, _ in _reference.TABLES.values())]:
        shutil.copy2(data_dir() / name, copy / name)
    path = copy / "public_rm_results.csv"
    frame = pd.read_csv(path)
    frame.loc[0, "score"] = 63.78
    frame.to_csv(path, index=False)
    monkeypatch.setattr(_reference, "data_dir", lambda: copy)
    _reference._read.cache_clear()
    yield copy
    _reference._read.cache_clear()


def test_loader_validates_the_bundled_file(corrupted_copy):
    with pytest.raises(DataValidationError) as info:
        load_public_results()
    assert info.value.source == "public_rm_results.csv"
    assert any("column 'score' looks like percent" in p and "Ziya" in p
               for p in info.value.problems)


# -- public results as training rows -------------------------------------------------------

def test_public_training_rows_are_valid_results_rows_averaged_per_checkpoint():
    from rmpredict.datasets import PUBLIC_RECIPE, load_public_results, public_training_rows
    from rmpredict.models import as_results_frame

    rows = public_training_rows()
    info = rows.attrs["public_rows"]
    assert not rows.duplicated(["model", "method"]).any()
    # The RewardBench 2 paper's RMs are their own (controlled) recipe; the rest one group.
    study = load_public_results(benchmark="rewardbench")
    paper = set(study.loc[study["study"] == "rewardbench2_paper", "base_model"])
    assert set(rows.loc[rows["method"] == "rewardbench2_paper", "model"]) == paper
    assert set(rows["method"]) == {PUBLIC_RECIPE, "rewardbench2_paper"}
    as_results_frame(rows)  # validates without warnings (warnings are errors here)
    # Independent recount from the joined table: the RMs with all four v1 categories and a
    # base model that has leaderboard-v2 scores.
    pub = load_public_results(benchmark="rewardbench")
    usable = pub.dropna(subset=["chat", "chat_hard", "safety", "reasoning"])
    usable = usable[usable[["ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro"]]
                    .notna().any(axis=1)]
    assert info["rms_used"] == len(usable)
    assert info["rms_used"] + sum(info["dropped"].values()) == len(pub)
    assert set(rows["model"]) == set(usable["base_model"])
    assert sum(c["n_rms"] for c in info["checkpoints"]) == len(usable)
    for model in ("google/gemma-2b-it", "meta-llama/Meta-Llama-3-8B-Instruct"):
        mine = usable[usable["base_model"] == model]
        got = rows[rows["method"] == PUBLIC_RECIPE].set_index("model").loc[model]
        assert got["chat_hard"] == pytest.approx(mine["chat_hard"].mean())
        assert got["score"] == pytest.approx(
            mine[["chat", "chat_hard", "safety", "reasoning"]].to_numpy().mean())


def test_public_training_rows_follow_the_seed_naming_of_publishers_and_stages():
    from rmpredict.datasets import load_table, public_training_rows

    rows = public_training_rows().drop_duplicates("model").set_index("model")
    seed = load_table("models").set_index("model")
    for model in rows.index.intersection(seed.index):
        assert rows.at[model, "publisher"] == seed.at[model, "publisher"]
        assert rows.at[model, "post_training"] == seed.at[model, "post_training"]
    # allenai checkpoints the seed does not list still count as Ai2, like its Tulu models.
    assert rows.at["allenai/Llama-3.1-Tulu-3-70B-SFT", "publisher"] == "Ai2"
    assert rows.at["meta-llama/Llama-2-13b-hf", "post_training"] == "base"


def test_public_training_rows_of_rewardbench2():
    from rmpredict.datasets import load_public_results, public_training_rows
    from rmpredict.datasets._schema import RB2_CATEGORIES
    from rmpredict.models import as_results_frame

    rows = public_training_rows(benchmark="rewardbench2")
    assert (rows["benchmark"] == "rewardbench2").all()
    np.testing.assert_allclose(rows["score"], rows[list(RB2_CATEGORIES)].mean(axis=1))
    as_results_frame(rows)
    # Independent recount: RMs with the six categories and a base with leaderboard-v2 scores.
    pub = load_public_results(benchmark="rewardbench2").dropna(subset=list(RB2_CATEGORIES))
    pub = pub[pub[["ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro"]]
              .notna().any(axis=1)]
    assert rows.attrs["public_rows"]["rms_used"] == len(pub)
    got = rows.set_index(["model", "method"]).loc[
        ("meta-llama/Llama-3.1-8B-Instruct", "rewardbench2_paper")]
    mine = pub[(pub["base_model"] == "meta-llama/Llama-3.1-8B-Instruct")
               & (pub["study"] == "rewardbench2_paper")]
    assert got["focus"] == pytest.approx(mine["focus"].mean())
    both = public_training_rows(benchmark="all")
    assert len(both) == len(rows) + len(public_training_rows())
    with pytest.raises(InvalidParameterError, match="'benchmark' parameter of "
                                                    "public_training_rows must be one of"):
        public_training_rows(benchmark="rb2")


@pytest.mark.parametrize(("model", "origin", "stage"), [
    ("meta-llama/Llama-3.1-8B", "base_init", "base"),
    ("mistralai/Mistral-7B-v0.1", "base_init", "base"),
    ("google/gemma-2b-it", "base_init", "instruct"),
    ("meta-llama/Llama-2-7b-chat-hf", "base_init", "instruct"),
    ("allenai/Llama-3.1-Tulu-3-8B-DPO", "base_init", "dpo"),
    ("allenai/Llama-3.1-Tulu-3-70B-SFT", "base_init", "sft"),
    ("google/gemma-2b-it", "base_pretrained", "base"),
])
def test_infer_stage(model, origin, stage):
    from rmpredict.datasets._public_training import infer_stage

    assert infer_stage(model, origin) == stage


def test_public_training_rows_rejects_an_empty_recipe():
    from rmpredict.datasets import public_training_rows

    with pytest.raises(InvalidParameterError, match="recipe"):
        public_training_rows(recipe=" ")


def test_public_training_rows_leave_out_organisations_before_averaging():
    from rmpredict.datasets import public_training_rows

    full = public_training_rows().set_index("model")
    rows = public_training_rows(exclude_organisations=["Ray2333"])
    info = rows.attrs["public_rows"]
    assert info["dropped"]["organisation excluded"] == 10
    rows = rows.set_index("model")
    # gemma-2-2b-it was trained by Ray2333 only; gemma-2b-it by Ray2333 (4) and weqweasdas (1).
    assert "google/gemma-2-2b-it" not in rows.index and "google/gemma-2-2b-it" in full.index
    assert rows.at["google/gemma-2b-it", "chat"] != full.at["google/gemma-2b-it", "chat"]
    with pytest.raises(InvalidParameterError, match="exclude_organisations"):
        public_training_rows(exclude_organisations="Ray2333")
