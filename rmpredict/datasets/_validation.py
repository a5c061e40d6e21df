"""Validation of user tables: candidates (models to predict) and results (observed RM accuracy).

Every problem of a table is collected and reported at once in one
:class:`~rmpredict.exceptions.DataValidationError`; each names the row, column, value and fix.
Units are never rescaled silently: a column given in percent where fractions are expected is an
error that says so.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import (
    BENCHMARK_LABELS,
    BENCHMARKS,
    DEFAULT_BENCHMARK,
    META_NUMERIC,
    POST_TRAINING_STAGES,
    RB2_CATEGORIES,
    RESULT_BENCHMARKS,
    TARGETS,
    V1_BENCHMARKS,
    V2_BENCHMARKS,
    canonical_column,
    is_datadist_column,
    result_benchmark,
)
from rmpredict.exceptions import (
    DataValidationError,
    DataWarning,
    FilledValuesWarning,
    InvalidParameterError,
)

__all__ = ["ValidatedTable", "validate_table", "read_candidates", "read_results", "KINDS"]

KINDS = ("candidates", "results")
PASSTHROUGH = {"rm_train_data", "source", "release", "notes", "precision", "architecture",
               "publisher", "family"}
_MAX_LISTED = 5
_UNITS = {"params_b": "billions of parameters", "pretrain_tokens_t": "trillions of tokens"}
_METHOD_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TIES_MIN = -1.0
"""RewardBench 2's ``ties`` is a score, not an accuracy: slightly negative values occur."""
# A score column counts as "given in percent" when its values exceed 1 but not 100.
_PERCENT_MAX = 100.0


@dataclass
class ValidatedTable:
    """A validated table in canonical columns and units.

    Attributes
    ----------
    frame : pandas.DataFrame
        The clean table (canonical column names, fractions in [0, 1]).
    kind : str
        ``"candidates"`` or ``"results"``.
    filled : pandas.DataFrame
        One row per value filled from the bundled tables: ``model, column, value, source``.
    warnings : list of str
        Non-fatal remarks (unknown columns dropped, etc.).
    source : str
        Where the table came from.
    """

    frame: pd.DataFrame
    kind: str
    filled: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["model", "column", "value", "source"]))
    warnings: list[str] = field(default_factory=list)
    source: str = "DataFrame"


def _rows(frame: pd.DataFrame, mask: pd.Series) -> str:
    idx = list(np.flatnonzero(mask.to_numpy()))
    shown = []
    for i in idx[:_MAX_LISTED]:
        model = frame["model"].iloc[i] if "model" in frame.columns else None
        shown.append(f"row {i + 1}" + (f" ({model!r})" if isinstance(model, str) else ""))
    more = f" and {len(idx) - _MAX_LISTED} more" if len(idx) > _MAX_LISTED else ""
    return ", ".join(shown) + more


def _canonicalise(frame: pd.DataFrame, problems: list[str], notes: list[str]) -> pd.DataFrame:
    # Select by position, not label: a table may repeat a column name (e.g. two 'model' columns).
    keep: list[int] = []
    names: list[str] = []
    seen: dict[str, str] = {}
    unknown = []
    for pos, col in enumerate(frame.columns):
        canon = canonical_column(str(col))
        if canon is None:
            if str(col).strip().lower() in PASSTHROUGH:
                canon = str(col).strip().lower()
            else:
                unknown.append(str(col))
                continue
        if canon in seen:
            problems.append(
                f"columns {seen[canon]!r} and {col!r} both mean {canon!r}; keep only one of them")
            continue
        seen[canon] = str(col)
        keep.append(pos)
        names.append(canon)
    if unknown:
        notes.append(f"unknown column(s) ignored: {', '.join(map(repr, unknown))} "
                     "(see rmpredict.datasets.COLUMN_ALIASES for accepted names)")
    out = frame.iloc[:, keep].copy()
    out.columns = names
    # Messages name the column as the user wrote it (an alias) and as rmpredict reads it.
    out.attrs["original_names"] = {c: o for c, o in seen.items() if c != o}
    return out


def _col(frame: pd.DataFrame, col: str) -> str:
    original = frame.attrs.get("original_names", {}).get(col)
    return f"{original!r} (read as {col!r})" if original else repr(col)


def _check_numeric(frame: pd.DataFrame, col: str, problems: list[str]) -> None:
    raw = frame[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        vals = ", ".join(repr(v) for v in raw[bad].head(_MAX_LISTED))
        problems.append(f"column {_col(frame, col)}: non-numeric value(s) {vals} at "
                        f"{_rows(frame, bad)}; use numbers (leave the cell empty if unknown)")
    inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
    if inf.any():
        problems.append(f"column {_col(frame, col)}: infinite value at "
                        f"{_rows(frame, pd.Series(inf))}; "
                        "use a finite number or leave the cell empty")
    frame[col] = num.where(~np.isinf(num.to_numpy(dtype=float, na_value=np.nan)))


def _check_fraction(frame: pd.DataFrame, col: str, problems: list[str],
                    low: float = 0.0) -> None:
    vals = frame[col]
    out = (vals < low) | (vals > 1)
    if not out.any():
        return
    if vals.max() <= _PERCENT_MAX and vals.min() >= 0 and vals.max() > 1:
        problems.append(
            f"column {_col(frame, col)} looks like percent (0-100): values up to "
            f"{vals.max():g} at "
            f"{_rows(frame, vals > 1)}; rmpredict expects fractions in [0, 1], so divide the "
            "column by 100 (rmpredict never rescales silently)")
    else:
        bad = ", ".join(f"{v:g}" for v in vals[out].head(_MAX_LISTED))
        problems.append(f"column {_col(frame, col)}: value(s) {bad} outside [{low:g}, 1] at "
                        f"{_rows(frame, out)}; "
                        "scores and accuracies are fractions in [0, 1]")


def _check_result_categories(frame: pd.DataFrame, problems: list[str], key: list[str],
                             notes: list[str]) -> list[str]:
    """Check each row's benchmark and its categories; derive ``score``; return the row key.

    A table without a ``benchmark`` column is RewardBench v1 (the seed study's), and so is a
    row with an empty cell (with a notice). Rows of RewardBench 2 need its six categories; a
    score must be the mean of the row's categories.
    """
    if "benchmark" in frame.columns:
        bench = frame["benchmark"].astype("string").str.strip().str.lower()
        blank = bench.isna() | (bench == "")
        if blank.any():
            notes.append(f"{int(blank.sum())} row(s) have no benchmark (e.g. "
                         f"{_rows(frame, blank)}) and are taken as {DEFAULT_BENCHMARK} (v1)")
            bench = bench.where(~blank, DEFAULT_BENCHMARK)
        unknown = ~bench.isin(list(RESULT_BENCHMARKS))
        if unknown.any():
            vals = ", ".join(repr(v) for v in frame.loc[unknown, "benchmark"].head(_MAX_LISTED))
            problems.append(f"column 'benchmark': unknown benchmark(s) {vals} at "
                            f"{_rows(frame, unknown)}; use one of "
                            f"{', '.join(RESULT_BENCHMARKS)} (or drop the column for "
                            "RewardBench v1)")
        frame["benchmark"] = bench.where(~unknown, DEFAULT_BENCHMARK).astype(object)
        key = [*key, "benchmark"]
    else:
        only_rb2 = [c for c in RB2_CATEGORIES if c in frame.columns
                    and c not in RESULT_BENCHMARKS[DEFAULT_BENCHMARK]]
        if only_rb2:
            notes.append(f"no 'benchmark' column: every row is taken as {DEFAULT_BENCHMARK} "
                         f"(v1) and the RewardBench 2 column(s) {', '.join(only_rb2)} are not "
                         "used; add a 'benchmark' column (rewardbench2 on those rows)")
    # No column is not added: the frame (and its hash) of a v1 table stays as it was.
    bench = result_benchmark(frame)
    score = pd.Series(np.nan, index=frame.index)
    for name, cats in RESULT_BENCHMARKS.items():
        rows = (bench == name).to_numpy()
        if not rows.any():
            continue
        missing = [c for c in cats if c not in frame.columns]
        label = BENCHMARK_LABELS[name]
        if missing:
            problems.append(f"missing {label} category column(s) {', '.join(missing)}; its "
                            f"results need {', '.join(cats)} (fractions)")
            continue
        empty = frame[list(cats)].isna().any(axis=1) & rows
        if empty.any():
            problems.append(f"empty {label} category accuracy at {_rows(frame, empty)}; every "
                            f"{name} result row needs {', '.join(cats)}")
        score[rows] = frame.loc[rows, list(cats)].mean(axis=1)
    if "score" in frame.columns:
        off = (score - frame["score"]).abs() > 0.005
        if off.any():
            problems.append(
                f"column 'score' differs from the mean of the row's benchmark categories by "
                f"more than 0.005 at {_rows(frame, off)}; score is their unweighted mean "
                "(drop the column to have it derived)")
        frame["score"] = frame["score"].fillna(score)  # e.g. tables concatenated
    else:
        frame["score"] = score
    return key


def validate_table(
    data: pd.DataFrame,
    kind: str = "candidates",
    *,
    source: str = "DataFrame",
    fill_from_reference: bool = True,
) -> ValidatedTable:
    """Validate a candidates or results table and return it in canonical form.

    Parameters
    ----------
    data : pandas.DataFrame
        The table as read. Column names may use any documented alias.
    kind : {"candidates", "results"}
        Candidates are models to predict (features only); results add the RM method and the
        observed RewardBench category accuracies.
    source : str, default="DataFrame"
        Name used in messages (the file path).
    fill_from_reference : bool, default=True
        Fill missing feature values of models found in the bundled tables (leaderboard v2/v1 and
        the study's model metadata); every filled value is listed in ``filled``.

    Returns
    -------
    ValidatedTable

    Raises
    ------
    DataValidationError
        With every problem of the table (missing ``model`` column, duplicates, non-numeric
        values, scores outside [0, 1] or given in percent, negative sizes, unknown stages,
        candidates without any usable feature).

    Warns
    -----
    DataWarning
        For unknown columns (ignored) and model ids that match a bundled id only up to case
        or whitespace.
    FilledValuesWarning
        A :class:`DataWarning` when values were filled from the bundled tables; each filled
        value is listed in ``filled``.
    """
    if kind not in KINDS:
        raise InvalidParameterError(
            f"The 'kind' parameter of validate_table must be one of {list(KINDS)}. "
            f"Got {kind!r} instead.")
    if not isinstance(data, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'data' parameter of validate_table must be a pandas DataFrame. "
            f"Got {type(data).__name__} instead.")
    problems: list[str] = []
    notes: list[str] = []
    frame = _canonicalise(data, problems, notes)
    if len(data) == 0:
        problems.append("the table has no rows; add at least one model")
    if "model" not in frame.columns:
        problems.append("no 'model' column; add one with the Hugging Face id of each model "
                        "(aliases: model_id, model_name, hf_id)")
        raise DataValidationError(problems, source=source)
    model = frame["model"]
    blank = model.isna() | (model.astype(str).str.strip() == "")
    if blank.any():
        problems.append(f"column 'model': empty id at {_rows(frame, blank)}; give every row a "
                        "model id")
    frame["model"] = model.astype(str).str.strip().where(~blank, None)

    numeric = [c for c in frame.columns
               if c in BENCHMARKS or c in META_NUMERIC or c in TARGETS or c in RB2_CATEGORIES
               or is_datadist_column(c)]
    for col in numeric:
        _check_numeric(frame, col, problems)
    for col in numeric:
        if col in BENCHMARKS or col in TARGETS or col in RB2_CATEGORIES:
            _check_fraction(frame, col, problems, low=_TIES_MIN if col == "ties" else 0.0)
    for col in META_NUMERIC:
        if col in frame.columns:
            neg = frame[col] <= 0
            if neg.any():
                vals = ", ".join(f"{v:g}" for v in frame.loc[neg, col].head(_MAX_LISTED))
                problems.append(f"column {_col(frame, col)}: non-positive value(s) {vals} at "
                                f"{_rows(frame, neg)}; sizes must be > 0 ({col} is in "
                                f"{_UNITS[col]})")
    if "post_training" in frame.columns:
        stage = frame["post_training"].astype("string").str.strip().str.lower()
        bad = stage.notna() & ~stage.isin(POST_TRAINING_STAGES)
        if bad.any():
            vals = ", ".join(repr(v) for v in frame.loc[bad, "post_training"].head(_MAX_LISTED))
            problems.append(f"column 'post_training': unknown stage(s) {vals} at "
                            f"{_rows(frame, bad)}; use one of {', '.join(POST_TRAINING_STAGES)}")
        frame["post_training"] = stage.where(~bad).astype(object)

    key = ["model"]
    if kind == "results":
        if "method" not in frame.columns:
            problems.append("no 'method' column; results need the RM method of each row "
                            "(e.g. bradley_terry, regression)")
        else:
            meth = frame["method"].astype("string").str.strip().str.lower()
            bad = meth.isna() | ~meth.fillna("").str.match(_METHOD_RE)
            if bad.any():
                vals = ", ".join(repr(v) for v in frame.loc[bad, "method"].head(_MAX_LISTED))
                problems.append(f"column 'method': invalid name(s) {vals} at {_rows(frame, bad)};"
                                " use lower-case identifiers such as bradley_terry or regression")
            frame["method"] = meth.astype(object)
            key = ["model", "method"]
        key = _check_result_categories(frame, problems, key, notes)
    if all(k in frame.columns for k in key):
        dup = frame.duplicated(key, keep=False) & frame["model"].notna()
        if dup.any():
            problems.append(f"duplicate {'/'.join(key)} at {_rows(frame, dup)}; keep one row per "
                            f"{' and '.join(key)}")

    filled = pd.DataFrame(columns=["model", "column", "value", "source"])
    if not problems and fill_from_reference:
        frame, filled = _fill_from_reference(frame)
    if kind == "candidates" and not problems:
        feats = [c for c in frame.columns if c in BENCHMARKS or is_datadist_column(c)
                 or c in META_NUMERIC]
        none = frame[feats].isna().all(axis=1) if feats else pd.Series(True, index=frame.index)
        if none.any():
            hint = _did_you_mean(frame.loc[none, "model"])
            problems.append(
                f"no usable feature at {_rows(frame, none)}: the model is not in the bundled "
                "leaderboard tables and the row has no benchmark score, size or token count; "
                "add at least one (e.g. mmlu_pro, ifeval, params_b) or fix the model id"
                + (f" ({hint})" if hint else ""))
        elif fill_from_reference:
            hint = _did_you_mean(frame["model"])
            if hint:
                notes.append(f"model id(s) not in the bundled tables, so nothing was filled for "
                             f"them ({hint})")
    if problems:
        raise DataValidationError(problems, source=source)
    for note in notes:
        warnings.warn(f"{source}: {note}", DataWarning, stacklevel=2)
    if len(filled):
        cols = ", ".join(sorted(filled["column"].unique()))
        warnings.warn(f"{source}: filled {len(filled)} missing value(s) of "
                      f"{filled['model'].nunique()} model(s) from the bundled tables ({cols}); "
                      "each is listed in the result's `filled` table", FilledValuesWarning,
                      stacklevel=2)
    return ValidatedTable(frame=frame.reset_index(drop=True), kind=kind, filled=filled,
                          warnings=notes, source=source)


def _id_key(model_id: str) -> str:
    """Model id without case and whitespace: ids that differ only there are one typo apart."""
    return re.sub(r"\s+", "", str(model_id)).lower()


@functools.cache
def _known_ids() -> dict[str, str]:
    """Every model id of the bundled tables, keyed by :func:`_id_key`."""
    from rmpredict.datasets._reference import load_table

    known: dict[str, str] = {}
    for table in ("leaderboard_v1", "leaderboard_v2", "models"):  # later tables win
        known.update({_id_key(m): m for m in load_table(table)["model"].dropna().astype(str)})
    return known


def _did_you_mean(models: pd.Series) -> str:
    """``did you mean 'A' for 'a'?`` for ids that match a bundled id up to case/whitespace."""
    known = _known_ids()
    exact = set(known.values())
    pairs = []
    for model in dict.fromkeys(models.dropna().astype(str)):
        if model in exact:
            continue
        match = known.get(_id_key(model))
        if match is not None:
            pairs.append(f"{match!r} for {model!r}")
    if not pairs:
        return ""
    more = f" and {len(pairs) - _MAX_LISTED} more" if len(pairs) > _MAX_LISTED else ""
    return "did you mean " + ", ".join(pairs[:_MAX_LISTED]) + more + "? ids are case-sensitive"


def _fill_from_reference(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    from rmpredict.datasets._reference import load_table

    # The study's metadata first (its parameter counts come from the paper), then leaderboards.
    lookups = [
        ("models", ["params_b", "pretrain_tokens_t", "post_training", "publisher", "family"]),
        ("leaderboard_v2", list(V2_BENCHMARKS) + ["params_b"]),
        ("leaderboard_v1", list(V1_BENCHMARKS)),
    ]
    records = []
    out = frame.copy()
    for table, cols in lookups:
        ref = load_table(table).set_index("model")
        hit = out["model"].isin(ref.index)
        if not hit.any():
            continue
        for col in cols:
            if col not in ref.columns:
                continue
            if col not in out.columns:
                out[col] = pd.Series([None] * len(out), index=out.index,
                                     dtype=ref[col].dtype if ref[col].dtype != object else object)
            elif (not pd.api.types.is_numeric_dtype(ref[col])
                  and pd.api.types.is_numeric_dtype(out[col])):
                # An empty text column (e.g. a blank `publisher` in a CSV) is read as float NaN;
                # it must hold the filled text values.
                out[col] = out[col].astype(object)
            need = hit & out[col].isna()
            if not need.any():
                continue
            vals = out.loc[need, "model"].map(ref[col])
            have = vals.notna()
            if col in META_NUMERIC:
                # Leaderboard v2 writes an unknown size as 0 or -1; never fill those.
                have &= pd.to_numeric(vals, errors="coerce") > 0
            out.loc[vals[have].index, col] = vals[have]
            for idx in vals[have].index:
                records.append({"model": out.at[idx, "model"], "column": col,
                                "value": vals[idx], "source": table})
    return out, pd.DataFrame(records, columns=["model", "column", "value", "source"])


def _read(data: pd.DataFrame | str | os.PathLike[str]) -> tuple[pd.DataFrame, str]:
    from rmpredict._io import read_table

    if isinstance(data, pd.DataFrame):
        return data, "DataFrame"
    return read_table(data), str(data)


def read_candidates(data: pd.DataFrame | str | os.PathLike[str], *,
                    fill_from_reference: bool = True) -> ValidatedTable:
    """Read (CSV, Parquet, JSON Lines or DataFrame) and validate a candidates table."""
    frame, source = _read(data)
    return validate_table(frame, "candidates", source=source,
                          fill_from_reference=fill_from_reference)


def read_results(data: pd.DataFrame | str | os.PathLike[str], *,
                 fill_from_reference: bool = True) -> ValidatedTable:
    """Read and validate a results table (one row per model and RM method)."""
    frame, source = _read(data)
    return validate_table(frame, "results", source=source,
                          fill_from_reference=fill_from_reference)
