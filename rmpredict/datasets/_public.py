"""Public RewardBench v1 and RewardBench 2 results of classifier reward models (bundled table).

The table is built by ``data/build.py`` (``data/build_public.py``) from the read-only
``public_rm_results.csv``; its datasheet is ``data/README.md``. :func:`load_public_results`
validates it, joins each row's base model to the bundled leaderboards and the seed study's model
metadata by exact id (the rule of :func:`~rmpredict.datasets.load_reference`), and stamps the
result with its provenance in ``frame.attrs["provenance"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import RESULT_BENCHMARKS, V1_BENCHMARKS, V2_BENCHMARKS
from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["PUBLIC_BENCHMARKS", "CONFIDENCE_LEVELS", "load_public_results",
           "validate_public_results"]

PUBLIC_BENCHMARKS: dict[str, tuple[str, ...]] = RESULT_BENCHMARKS
"""Categories of each benchmark (``rewardbench`` is v1). Overall = mean of its categories."""

CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "medium", "low")
"""Confidence of the base-model mapping; ``low`` rows are left out unless asked for."""

_ALL_CATEGORIES = ("chat", "chat_hard", "safety", "reasoning", "factuality", "precise_if",
                   "math", "focus", "ties")
# Ties (RewardBench 2) is a score that combines accuracy with a margin term; the published
# values reach -0.01. Every other category and score is an accuracy in [0, 1].
_RANGES = {c: (0.0, 1.0) for c in (*_ALL_CATEGORIES, "score", "score_derived")}
_RANGES["ties"] = (-1.0, 1.0)
_SCORE_CHECKS = ("match", "prior_sets", "reasoning_missing_mean_of_3")
_SCORE_TOLERANCE = 1e-4
_TEXT = ("rm_key", "rm_id", "organisation", "org_group", "benchmark", "confidence",
         "base_pretrained", "base_publisher", "base_model", "base_model_from", "score_check")
_FLAGS = ("rm_id_truncated", "in_leaderboard_v2", "in_leaderboard_v1", "in_models")
REQUIRED: tuple[str, ...] = (*_TEXT, *_ALL_CATEGORIES, "score", "score_derived", *_FLAGS)
_MAX_LISTED = 5


def _rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    idx = list(np.flatnonzero(mask.to_numpy(dtype=bool)))
    shown = []
    for i in idx[:_MAX_LISTED]:
        key = frame["rm_key"].iloc[i] if "rm_key" in frame.columns else None
        shown.append(f"row {i + 1}" + (f" ({key!r})" if isinstance(key, str) else ""))
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return ", ".join(shown) + more


def _values(series: pd.Series) -> str:
    return ", ".join(repr(v) if isinstance(v, str) else f"{v:g}"
                     for v in series.head(_MAX_LISTED))


def validate_public_results(frame: pd.DataFrame, *,
                            source: str = "public_rm_results") -> pd.DataFrame:
    """Check a public-results table; return it with numeric columns as floats.

    Every problem is collected and raised at once in one
    :class:`~rmpredict.exceptions.DataValidationError`; each names the column, the value(s), the
    rows (with their ``rm_key``) and the fix.

    Raises
    ------
    DataValidationError
        Missing columns, empty keys, unknown benchmark or confidence, non-numeric values, scores
        outside [0, 1] (or in percent), a category of the other benchmark filled in, a missing
        category, a derived overall that is not the mean of the categories, a published score
        marked ``match`` that differs from it, duplicate ``rm_key``/``benchmark``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidParameterError(
            "The 'frame' parameter of validate_public_results must be a pandas DataFrame. "
            f"Got {type(frame).__name__} instead.")
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [f"missing column(s) {', '.join(map(repr, missing))}; rebuild the table with "
             "`python data/build.py`"], source=source)
    out = frame.copy()
    problems: list[str] = []
    for col in ("rm_key", "benchmark", "confidence", "base_model"):
        blank = out[col].isna() | (out[col].astype(str).str.strip() == "")
        if blank.any():
            problems.append(f"column {col!r}: empty value at {_rows(out, blank)}; every row "
                            f"needs a {col}")
    for col, allowed in (("benchmark", tuple(PUBLIC_BENCHMARKS)),
                         ("confidence", CONFIDENCE_LEVELS), ("score_check", _SCORE_CHECKS)):
        bad = out[col].notna() & ~out[col].isin(allowed)
        if bad.any():
            problems.append(f"column {col!r}: unknown value(s) {_values(out.loc[bad, col])} at "
                            f"{_rows(out, bad)}; use one of {', '.join(allowed)}")
    for col, (lo, hi) in _RANGES.items():
        raw = out[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            problems.append(f"column {col!r}: non-numeric value(s) {_values(raw[bad])} at "
                            f"{_rows(out, bad)}; use numbers (leave the cell empty if unknown)")
        out[col] = num.astype(float)
        off = (num < lo) | (num > hi)
        if not off.any():
            continue
        if num.max() > 1 and num.max() <= 100 and num.min() >= lo:
            problems.append(f"column {col!r} looks like percent (0-100): values up to "
                            f"{num.max():g} at {_rows(out, num > 1)}; rmpredict stores "
                            "fractions, so divide the column by 100 (never rescaled silently)")
        else:
            problems.append(f"column {col!r}: value(s) {_values(num[off])} outside "
                            f"[{lo:g}, {hi:g}] at {_rows(out, off)}; scores are fractions")
    bench = out["benchmark"]
    for name, cats in PUBLIC_BENCHMARKS.items():
        rows = bench == name
        # RewardBench v1 rows of early Ai2 runs report no reasoning section.
        needed = [c for c in cats if not (name == "rewardbench" and c == "reasoning")]
        for col in needed:
            empty = rows & out[col].isna()
            if empty.any():
                problems.append(f"column {col!r}: empty at {_rows(out, empty)}; every {name} row "
                                f"needs {', '.join(needed)}")
        for col in (c for c in _ALL_CATEGORIES if c not in cats):
            filled = rows & out[col].notna()
            if filled.any():
                problems.append(f"column {col!r}: value(s) {_values(out.loc[filled, col])} at "
                                f"{_rows(out, filled)} but {col} is not a {name} category; "
                                "leave it empty or fix the benchmark")
        derived = out.loc[rows, list(cats)].mean(axis=1, skipna=False)
        wrong = (derived - out.loc[rows, "score_derived"]).abs() > 1e-6
        wrong |= derived.isna() != out.loc[rows, "score_derived"].isna()
        if wrong.any():
            mask = pd.Series(False, index=out.index)
            mask[wrong[wrong].index] = True
            problems.append(f"column 'score_derived': not the mean of the {name} categories at "
                            f"{_rows(out, mask)}; it is {name}'s overall (rebuild the table)")
    gap = (out["score"] - out["score_derived"]).abs()
    bad = (out["score_check"] == "match") & (gap > _SCORE_TOLERANCE + 1e-9)
    if bad.any():
        problems.append(f"column 'score': published score differs from 'score_derived' by more "
                        f"than {_SCORE_TOLERANCE:g} at {_rows(out, bad)} although 'score_check' "
                        "says 'match'")
    dup = out.duplicated(["rm_key", "benchmark"], keep=False) & out["rm_key"].notna()
    if dup.any():
        problems.append(f"duplicate rm_key/benchmark at {_rows(out, dup)}; keep one row per "
                        "reward model and benchmark")
    for col in _FLAGS:
        bad = ~out[col].isin([True, False])
        if bad.any():
            problems.append(f"column {col!r}: non-boolean value(s) {_values(out.loc[bad, col])} "
                            f"at {_rows(out, bad)}; use True or False")
    if problems:
        raise DataValidationError(problems, source=source)
    for col in _FLAGS:
        out[col] = out[col].astype(bool)
    return out


def load_public_results(include_low_confidence: bool = False,
                        benchmark: str | None = None) -> pd.DataFrame:
    """Public RewardBench v1 / RewardBench 2 results joined with their base models' features.

    One row per (``rm_key``, ``benchmark``). Accuracies (categories, ``score`` = the published
    overall, ``score_derived`` = the mean of the benchmark's categories) and benchmark scores are
    fractions in [0, 1] (RewardBench 2's ``ties`` is a score that can be slightly negative). The
    base model (``base_model``: ``base_init`` if it is in leaderboard v2, else
    ``base_pretrained``) is joined by exact id to leaderboard v2, leaderboard v1 and the seed
    study's ``models`` table; unmatched features are NaN and every failed join is listed in
    ``load_table("public_rm_joins")``.

    Parameters
    ----------
    include_low_confidence : bool, default=False
        Keep the rows whose base-model mapping is ``low`` confidence (guessed; mostly Ai2's
        ``open_instruct_dev`` sweep runs). ``high`` and ``medium`` rows are always kept.
    benchmark : {None, "rewardbench", "rewardbench2"}, default=None
        Keep one benchmark (and only its category columns); ``None`` keeps both.

    Returns
    -------
    pandas.DataFrame
        ``frame.attrs["provenance"]`` holds the table's file sha256, the ``data_hash`` of the
        returned rows, the options and the row counts.

    Raises
    ------
    InvalidParameterError
        For a non-bool ``include_low_confidence`` or an unknown ``benchmark``.
    DataValidationError
        If the bundled table fails validation (every problem at once).

    Examples
    --------
    >>> pub = load_public_results(benchmark="rewardbench2")
    >>> sorted(pub["confidence"].unique())
    ['high', 'medium']
    """
    if not isinstance(include_low_confidence, (bool, np.bool_)):
        raise InvalidParameterError(
            "The 'include_low_confidence' parameter of load_public_results must be a bool. "
            f"Got {include_low_confidence!r} instead.")
    if benchmark is not None and benchmark not in PUBLIC_BENCHMARKS:
        raise InvalidParameterError(
            "The 'benchmark' parameter of load_public_results must be None, 'rewardbench' "
            f"(v1) or 'rewardbench2'. Got {benchmark!r} instead.")
    from rmpredict._provenance import hash_frame, sha256_file
    from rmpredict.datasets import _reference as ref

    fname = ref.TABLES["public_rm_results"][0]
    table = validate_public_results(ref._read("public_rm_results"), source=fname)
    n_all = len(table)
    keep = pd.Series(True, index=table.index)
    if not include_low_confidence:
        keep &= table["confidence"] != "low"
    if benchmark is not None:
        keep &= table["benchmark"] == benchmark
    n_low = int(((table["confidence"] == "low")
                 & (benchmark is None or table["benchmark"] == benchmark)).sum())
    table = table[keep]

    models = ref._read("models")[["model", "family", "post_training", "params_b",
                                  "pretrain_tokens_t"]]
    v2 = ref._read("leaderboard_v2")[["model", "params_b", *V2_BENCHMARKS]].rename(
        columns={"params_b": "_params_v2"})
    v1 = ref._read("leaderboard_v1")[["model", *V1_BENCHMARKS]]
    out = (
        table.merge(models.rename(columns={"model": "base_model"}), on="base_model",
                    how="left", validate="many_to_one")
        .merge(v2.rename(columns={"model": "base_model"}), on="base_model", how="left",
               validate="many_to_one")
        .merge(v1.rename(columns={"model": "base_model"}), on="base_model", how="left",
               validate="many_to_one")
    )
    # Size as validate_table fills it: the seed paper's count, else leaderboard v2's (> 0 only).
    v2_size = out["_params_v2"].where(out["_params_v2"] > 0)
    out["params_b"] = out["params_b"].fillna(v2_size)
    cats = list(PUBLIC_BENCHMARKS[benchmark]) if benchmark else list(_ALL_CATEGORIES)
    order = ["rm_key", "rm_id", "benchmark", "organisation", "org_group", "study", "confidence",
             "base_model", "base_model_from", "base_init", "base_pretrained", "base_publisher",
             "family", "post_training", "params_b", "pretrain_tokens_t", *V2_BENCHMARKS,
             *V1_BENCHMARKS, *cats, "score", "score_derived", "score_gap", "score_check",
             "prior_sets_implied", "model_type", "evidence", "rm_id_truncated",
             "in_leaderboard_v2", "in_leaderboard_v1", "in_models"]
    out = out[order].reset_index(drop=True)
    manifest = ref._manifest()["files"].get(fname, {})
    out.attrs["provenance"] = {
        "table": "public_rm_results",
        "file": fname,
        "file_sha256": sha256_file(ref.data_dir() / fname),
        "manifest_sha256": manifest.get("sha256"),
        "data_hash": hash_frame(out),
        "include_low_confidence": bool(include_low_confidence),
        "benchmark": benchmark,
        "rows": int(len(out)),
        "rows_in_table": int(n_all),
        "low_confidence_excluded": 0 if include_low_confidence else n_low,
    }
    return out
