"""Ground-truth records of training runs and appending them to a results table (no torch)."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import pandas as pd

from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["RECORD_VERSION", "hardware_info", "read_record", "record_to_row", "add_record",
           "is_selection_biased", "refuse_selection_biased"]

RECORD_VERSION = 1
_CATS = ("chat", "chat_hard", "safety", "reasoning")


def hardware_info() -> dict[str, Any]:
    """CPU/GPU description for the record."""
    info: dict[str, Any] = {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                            "machine": platform.machine()}
    try:
        import torch

        if torch.cuda.is_available():
            n_gpus = torch.cuda.device_count()
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(n_gpus)]
            info["cuda"] = torch.version.cuda
        else:
            info["gpus"] = []
    except ImportError:
        info["gpus"] = []
    return info


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and minimally check a ground-truth record JSON."""
    record_file = Path(path)
    if not record_file.is_file():
        raise DataValidationError([f"record not found: {str(record_file)!r}; check the path"],
                                  source=str(record_file))
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataValidationError([f"not valid JSON: {exc}"], source=str(record_file)) from exc
    problems = []
    for key in ("model", "method", "sections"):
        if key not in record:
            problems.append(f"missing key {key!r}; is this an rmpredict training record?")
    if not problems:
        missing = [category for category in _CATS if record["sections"].get(category) is None]
        if missing:
            problems.append(
                f"sections {', '.join(missing)} are missing or null: the evaluation data had "
                "none of their RewardBench subsets, so the record cannot enter a results table "
                "(score on data with a 'subset' column covering all four sections)")
    if problems:
        raise DataValidationError(problems, source=str(record_file))
    return record


def is_selection_biased(record: dict[str, Any]) -> bool:
    """Whether a record's score was measured on the pairs that chose its checkpoint.

    Records written before the flag existed say it through ``data.scored_on == "eval_data"``.
    """
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    return bool(record.get("selection_biased")) or data.get("scored_on") == "eval_data"


def refuse_selection_biased(record: dict[str, Any], *, source: str = "record") -> None:
    """Raise when a record's score is selection-biased, so it never reaches the predictor.

    Raises
    ------
    DataValidationError
        The record is :func:`is_selection_biased`.
    """
    if is_selection_biased(record):
        raise DataValidationError(
            [f"{record.get('model', '?')!r} ({record.get('method', '?')}) is selection-biased: "
             "its score was measured on the eval pairs that chose its checkpoint, so it "
             "overstates the model; retrain with --test-data (or enough eval pairs for the "
             "held-out split, see --holdout-fraction)"], source=source)


def record_to_row(record: dict[str, Any]) -> dict[str, Any]:
    """The results-table row of a record (categories and score as fractions)."""
    row: dict[str, Any] = {"model": record["model"], "method": record["method"]}
    for category in _CATS:
        row[category] = float(record["sections"][category])
    row["score"] = sum(row[category] for category in _CATS) / len(_CATS)
    for key in ("publisher", "family", "params_b"):
        if record.get(key) is not None:
            row[key] = record[key]
    return row


def add_record(record: str | os.PathLike[str] | dict[str, Any],
               results: str | os.PathLike[str], *, replace: bool = False) -> pd.DataFrame:
    """Append a record's row to a results table (created if absent), validated and atomic.

    Parameters
    ----------
    record : path or dict
        A ground-truth record (``record.json`` of a training run).
    results : path
        Results table (CSV, Parquet or JSON Lines by suffix).
    replace : bool, default=False
        Replace an existing row with the same (model, method) instead of raising.

    Returns
    -------
    pandas.DataFrame
        The table as written.

    Raises
    ------
    DataValidationError
        Duplicate (model, method) without ``replace``, a selection-biased record (scored on the
        pairs that chose its checkpoint), or the table fails validation.
    """
    from rmpredict._io import read_table, write_table_atomic
    from rmpredict.datasets import validate_table

    from_file = not isinstance(record, dict)
    parsed = read_record(record) if from_file else record
    refuse_selection_biased(parsed, source=str(record) if from_file else "record")
    row = record_to_row(parsed)
    target = Path(results)
    if target.suffix.lower() not in (".csv", ".parquet", ".pq", ".jsonl", ".ndjson"):
        raise InvalidParameterError(
            f"--to {str(target)!r}: unknown table suffix; use .csv, .parquet or .jsonl")
    table = read_table(target) if target.exists() else pd.DataFrame(columns=list(row))
    if len(table):
        same = (table["model"].astype(str) == row["model"]) & \
               (table["method"].astype(str).str.lower() == row["method"])
        if same.any():
            if not replace:
                raise DataValidationError(
                    [f"{row['model']!r} with method {row['method']!r} is already in the table; "
                     "pass --replace to overwrite it"], source=str(target))
            table = table.loc[~same]
    combined = pd.concat([table, pd.DataFrame([row])], ignore_index=True) if len(table) \
        else pd.DataFrame([row])
    # Validate the whole table as the predictor will read it (no filling: store what we know).
    validate_table(combined, "results", source=str(target), fill_from_reference=False)
    write_table_atomic(target, combined)
    return combined
