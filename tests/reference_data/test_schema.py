"""Canonical column names and their documented aliases."""

from __future__ import annotations

import pytest

from rmpredict.datasets import (
    BENCHMARKS,
    CATEGORIES,
    COLUMN_ALIASES,
    TARGETS,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    canonical_column,
    is_datadist_column,
)


@pytest.mark.parametrize("alias, canon", [
    ("MMLU-PRO", "mmlu_pro"),
    ("leaderboard_mmlu_pro", "mmlu_pro"),
    ("mmlu_pro", "mmlu_pro"),
    ("MMLU Pro", "mmlu_pro"),
    ("Model Size (B)", "params_b"),
    ("#Params (B)", "params_b"),
    ("Pretraining Data Size (T)", "pretrain_tokens_t"),
    ("MATH Level 5", "math_lvl5"),
    ("leaderboard_math_hard", "math_lvl5"),
    ("IFEval", "ifeval"),
    ("ARC-C", "arc"),
    ("Winograd", "winogrande"),
    ("model_id", "model"),
    ("  Model  ", "model"),
    ("Chat-Hard", "chat_hard"),
    ("datadist_code", "datadist_code"),
])
def test_aliases(alias, canon):
    assert canonical_column(alias) == canon


@pytest.mark.parametrize("name", ["foo", "", "datadist_", "mmlu_pro_x", "params"])
def test_unknown_names(name):
    assert canonical_column(name) is None


def test_every_canonical_name_maps_to_itself():
    for canon, aliases in COLUMN_ALIASES.items():
        assert canonical_column(canon) == canon
        for alias in aliases:
            assert canonical_column(alias) == canon, alias


def test_aliases_are_unambiguous():
    seen: dict[str, str] = {}
    for canon, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            key = alias.strip().lower().replace("-", "_").replace(" ", "_")
            assert seen.setdefault(key, canon) == canon, f"{alias!r} maps to two columns"


def test_vocabulary():
    assert BENCHMARKS == V2_BENCHMARKS + V1_BENCHMARKS
    assert len(set(BENCHMARKS)) == 12
    assert TARGETS == (*CATEGORIES, "score")
    assert all(b in COLUMN_ALIASES for b in (*BENCHMARKS, *TARGETS))


def test_is_datadist_column():
    assert is_datadist_column("datadist_books")
    assert not is_datadist_column("datadist_")
    assert not is_datadist_column("mmlu")
