"""The bundled offline study (``data/study/results/``): its results table, records and checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from rmpredict.exceptions import DataValidationError

__all__ = ["study_results_dir", "load_study_results", "load_study_record",
           "verify_study_results"]

REBUILD = "python data/build_study_results.py --work RUN_DIR (see docs/study.md)"


def study_results_dir() -> Path:
    """Folder of the bundled study results."""
    from rmpredict.datasets import data_dir

    return data_dir() / "study" / "results"


def _need(path: Path) -> Path:
    if not path.is_file():
        raise DataValidationError([f"bundled study file missing: {path.name}; rebuild it with "
                                   f"{REBUILD}"], source=str(path))
    return path


def load_study_results(*, with_records: bool = False) -> pd.DataFrame:
    """The offline study's results table: one row per base model (method
    ``bradley_terry_offline``), section accuracies as fractions, measured ``mmlu``/``bbh``,
    ``datadist_*`` presence features and the model facts.

    Parameters
    ----------
    with_records : bool, default=False
        Keep the ``record`` (relative path) and ``record_sha256`` columns.
    """
    from rmpredict._io import read_table

    table = read_table(_need(study_results_dir() / "results.csv"))
    if not with_records:
        table = table.drop(columns=[c for c in ("record", "record_sha256") if c in table])
    return table


def load_study_record(model: str) -> dict[str, Any]:
    """The ground-truth record of one study model (by ``model`` id or study key)."""
    table = load_study_results(with_records=True)
    hit = table[(table["model"] == model) | (table["record"] == f"records/{model}.json")]
    if hit.empty:
        raise DataValidationError(
            [f"no study model {model!r}; known: {', '.join(table['model'])}"],
            source=str(study_results_dir() / "results.csv"))
    path = _need(study_results_dir() / hit["record"].iloc[0])
    return json.loads(path.read_text(encoding="utf-8"))


def verify_study_results() -> dict[str, str]:
    """Check every bundled study file against ``MANIFEST.json``; return name -> sha256."""
    from rmpredict._provenance import sha256_file

    root = study_results_dir()
    manifest = json.loads(_need(root / "MANIFEST.json").read_text(encoding="utf-8"))
    problems = []
    for name, digest in manifest["files"].items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: sha256 differs from MANIFEST.json (edited or corrupted)")
    if problems:
        raise DataValidationError(problems + [f"rebuild with {REBUILD}"], source=str(root))
    return dict(manifest["files"])
