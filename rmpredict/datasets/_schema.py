"""Canonical column names, their aliases, units and valid ranges.

One vocabulary for every table rmpredict reads or writes. Scores and accuracies are fractions
in [0, 1]; sizes are billions of parameters; pre-training data is trillions of tokens.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BENCHMARK_LABELS",
    "result_benchmark",
    "TARGETS",
    "CATEGORIES",
    "RB2_CATEGORIES",
    "RESULT_BENCHMARKS",
    "DEFAULT_BENCHMARK",
    "benchmark_categories",
    "benchmark_targets",
    "V2_BENCHMARKS",
    "V1_BENCHMARKS",
    "BENCHMARKS",
    "META_NUMERIC",
    "POST_TRAINING_STAGES",
    "DATADIST_PREFIX",
    "COLUMN_ALIASES",
    "canonical_column",
    "is_datadist_column",
]

CATEGORIES: tuple[str, ...] = ("chat", "chat_hard", "safety", "reasoning")
"""RewardBench v1 categories (fractions in [0, 1])."""

TARGETS: tuple[str, ...] = (*CATEGORIES, "score")
"""Prediction targets; ``score`` is the unweighted mean of the four categories."""

RB2_CATEGORIES: tuple[str, ...] = ("factuality", "precise_if", "math", "safety", "focus", "ties")
"""RewardBench 2 categories (Malik et al. 2025; fractions, ``ties`` a score that can be
slightly negative). Its overall score is the unweighted mean of the six."""

DEFAULT_BENCHMARK = "rewardbench"
RESULT_BENCHMARKS: dict[str, tuple[str, ...]] = {"rewardbench": CATEGORIES,
                                                  "rewardbench2": RB2_CATEGORIES}
"""Benchmarks a results table can hold (``benchmark`` column) and their categories; a table
without the column is RewardBench v1 (the seed study's benchmark)."""


BENCHMARK_LABELS: dict[str, str] = {"rewardbench": "RewardBench v1",
                                     "rewardbench2": "RewardBench 2"}
"""How messages and tables name each benchmark."""


def result_benchmark(frame: pd.DataFrame) -> pd.Series:
    """Each row's benchmark: a table without the column, an empty cell (NaN, or "" as a
    model file stores it) is RewardBench v1."""
    import pandas as pd  # the schema module itself stays import-light (the CLI reads it)

    if "benchmark" not in frame.columns:
        return pd.Series(DEFAULT_BENCHMARK, index=frame.index, dtype=object)
    bench = frame["benchmark"].astype(object)
    return bench.where(bench.notna() & (bench.astype(str) != ""), DEFAULT_BENCHMARK)


def benchmark_categories(benchmark: str) -> tuple[str, ...]:
    """Categories of ``benchmark`` (``rewardbench`` or ``rewardbench2``)."""
    return RESULT_BENCHMARKS[benchmark]


def benchmark_targets(benchmark: str) -> tuple[str, ...]:
    """Prediction targets of ``benchmark``: its categories and ``score`` (their mean)."""
    return (*RESULT_BENCHMARKS[benchmark], "score")

V2_BENCHMARKS: tuple[str, ...] = ("ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro")
"""Open LLM Leaderboard v2 raw accuracies (fractions)."""

V1_BENCHMARKS: tuple[str, ...] = ("arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k")
"""Open LLM Leaderboard v1 accuracies (fractions; the v1 leaderboard shows percent)."""

BENCHMARKS: tuple[str, ...] = V2_BENCHMARKS + V1_BENCHMARKS

META_NUMERIC: tuple[str, ...] = ("params_b", "pretrain_tokens_t")
"""Size in billions of parameters and pre-training data in trillions of tokens."""

POST_TRAINING_STAGES: tuple[str, ...] = ("base", "sft", "dpo", "rlvr", "instruct")

DATADIST_PREFIX = "datadist_"
"""Per-domain data-distribution features are named ``datadist_<domain>`` (e.g. mean presence)."""

# Documented aliases (case- and separator-insensitive): leaderboard display names, lm-eval task
# names and the study's names all map to one canonical column.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "model": ("model", "model_id", "model_name", "hf_id", "fullname", "base_model"),
    "method": ("method", "rm_method", "recipe"),
    "publisher": ("publisher", "organization", "org"),
    "family": ("family", "model_family"),
    "post_training": ("post_training", "stage", "post_training_stage"),
    "params_b": ("params_b", "params_billions", "#params (b)", "model size (b)", "size_b",
                 "n_params_b"),
    "pretrain_tokens_t": ("pretrain_tokens_t", "pretraining data size (t)", "tokens_t",
                          "pretraining_tokens_t"),
    "ifeval": ("ifeval", "leaderboard_ifeval"),
    "bbh": ("bbh", "leaderboard_bbh"),
    "math_lvl5": ("math_lvl5", "math level 5", "math lvl 5", "leaderboard_math_hard",
                  "math_hard", "math_level_5"),
    "gpqa": ("gpqa", "leaderboard_gpqa"),
    "musr": ("musr", "leaderboard_musr"),
    "mmlu_pro": ("mmlu_pro", "mmlu-pro", "leaderboard_mmlu_pro", "mmlupro"),
    "arc": ("arc", "arc-c", "arc_challenge", "arc_c"),
    "hellaswag": ("hellaswag",),
    "mmlu": ("mmlu", "hendrycks_test"),
    "truthfulqa": ("truthfulqa", "truthfulqa_mc2", "truthful_qa"),
    "winogrande": ("winogrande", "winograd"),
    "gsm8k": ("gsm8k",),
    "chat": ("chat",),
    "chat_hard": ("chat_hard", "chat-hard", "chathard"),
    "safety": ("safety",),
    "reasoning": ("reasoning",),
    "factuality": ("factuality",),
    "precise_if": ("precise_if", "precise if", "precise-if"),
    "math": ("math",),
    "focus": ("focus",),
    "ties": ("ties",),
    "benchmark": ("benchmark", "rm_benchmark", "eval_suite"),
    "score": ("score", "overall", "rewardbench", "rewardbench_score"),
}


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


_ALIAS_INDEX: dict[str, str] = {
    _norm(alias): canon for canon, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def canonical_column(name: str) -> str | None:
    """Canonical name for a column name or alias, or ``None`` if unknown.

    Examples
    --------
    >>> canonical_column("MMLU-PRO"), canonical_column("leaderboard_mmlu_pro")
    ('mmlu_pro', 'mmlu_pro')
    >>> canonical_column("datadist_code")
    'datadist_code'
    """
    n = _norm(name)
    if n in _ALIAS_INDEX:
        return _ALIAS_INDEX[n]
    if n.startswith(DATADIST_PREFIX) and len(n) > len(DATADIST_PREFIX):
        return n
    return None


def is_datadist_column(name: str) -> bool:
    """Whether ``name`` is a data-distribution feature column (``datadist_<domain>``)."""
    return str(name).startswith(DATADIST_PREFIX) and len(str(name)) > len(DATADIST_PREFIX)
