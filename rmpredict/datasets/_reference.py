"""Loaders for the bundled reference tables (shipped as the ``rmpredict._data`` package)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path

import pandas as pd

from rmpredict.datasets._schema import CATEGORIES, V1_BENCHMARKS, V2_BENCHMARKS
from rmpredict.exceptions import InvalidParameterError, ModelMismatchError

__all__ = [
    "data_dir",
    "list_tables",
    "load_table",
    "load_reference",
    "load_leaderboard",
    "verify_data",
]

TABLES: dict[str, tuple[str, str]] = {
    "rm_results": ("rm_results.csv", "RewardBench v1 accuracies of the study's RMs (fractions)"),
    "models": ("models.csv", "metadata of the study's 42 base models (incl. withheld ones)"),
    "leaderboard_v2": ("leaderboard_v2.csv.gz", "Open LLM Leaderboard v2, one row per model"),
    "leaderboard_v1": ("leaderboard_v1.csv.gz", "Open LLM Leaderboard v1, one row per model"),
    "obsscaling": ("obsscaling_base_models.csv", "ObsScaling base models with size and tokens"),
    "public_rm_results": ("public_rm_results.csv",
                          "public RewardBench v1/v2 results of classifier RMs (fractions)"),
    "public_rm_joins": ("public_rm_joins.csv",
                        "every failed exact-id join of a public RM's base model"),
}


def data_dir() -> Path:
    """Folder that holds the bundled tables (``data/`` in a checkout)."""
    return Path(str(resources.files("rmpredict._data")))


def list_tables() -> pd.DataFrame:
    """The bundled tables: name, file, rows, description."""
    manifest = _manifest()
    rows = []
    for name, (fname, desc) in TABLES.items():
        rows.append({"table": name, "file": fname, "rows": manifest["files"][fname]["rows"],
                     "description": desc})
    return pd.DataFrame(rows)


@functools.cache
def _manifest() -> dict:
    return json.loads((data_dir() / "MANIFEST.json").read_text(encoding="utf-8"))


def verify_data() -> dict[str, str]:
    """Check every bundled table against ``MANIFEST.json``.

    Returns
    -------
    dict
        File name to sha256 for every verified table.

    Raises
    ------
    ModelMismatchError
        If a file is missing or its checksum differs (reinstall rmpredict or rerun
        ``python data/build.py``).
    """
    from rmpredict._provenance import sha256_file

    out = {}
    for fname, meta in _manifest()["files"].items():
        path = data_dir() / fname
        if not path.exists():
            raise ModelMismatchError(f"bundled table {fname} is missing; reinstall rmpredict")
        digest = sha256_file(path)
        if digest != meta["sha256"]:
            raise ModelMismatchError(
                f"bundled table {fname} has sha256 {digest[:12]}…, expected "
                f"{meta['sha256'][:12]}…; reinstall rmpredict or rerun `python data/build.py`"
            )
        out[fname] = digest
    return out


@functools.cache
def _read(name: str) -> pd.DataFrame:
    fname = TABLES[name][0]
    return pd.read_csv(data_dir() / fname)


def load_table(name: str) -> pd.DataFrame:
    """Load one bundled table by name (see :func:`list_tables`).

    Examples
    --------
    >>> load_table("models").shape[0]
    42
    """
    if name not in TABLES:
        raise InvalidParameterError(
            f"The 'name' parameter of load_table must be one of {sorted(TABLES)}. "
            f"Got {name!r} instead."
        )
    return _read(name).copy()


def load_leaderboard(version: int = 2) -> pd.DataFrame:
    """Full Open LLM Leaderboard table (v2: 4,496 models; v1: 6,811), scores as fractions."""
    if version not in (1, 2):
        raise InvalidParameterError(
            f"The 'version' parameter of load_leaderboard must be 1 or 2. Got {version!r} instead."
        )
    return load_table(f"leaderboard_v{version}")


def load_reference() -> pd.DataFrame:
    """The study's RM results joined with model metadata and leaderboard scores.

    One row per (model, method). Accuracies (``chat``, ``chat_hard``, ``safety``,
    ``reasoning``, ``score``) and benchmark scores are fractions in [0, 1]; ``params_b`` is
    billions of parameters; ``pretrain_tokens_t`` trillions of tokens. Leaderboard v1 columns
    are missing (NaN) for models that v1 does not list. Model ids match exactly.

    Examples
    --------
    >>> ref = load_reference()
    >>> ref.shape[0], sorted(ref["method"].unique())
    (66, ['bradley_terry', 'regression'])
    """
    rm = _read("rm_results")
    models = _read("models")[["model", "family", "params_b", "pretrain_tokens_t", "release"]]
    v2 = _read("leaderboard_v2")[["model", *V2_BENCHMARKS]]
    v1 = _read("leaderboard_v1")[["model", *V1_BENCHMARKS]]
    out = (
        rm.merge(models, on="model", how="left", validate="many_to_one")
        .merge(v2, on="model", how="left", validate="many_to_one")
        .merge(v1, on="model", how="left", validate="many_to_one")
    )
    order = ["model", "method", "publisher", "family", "post_training", "params_b",
             "pretrain_tokens_t", *V2_BENCHMARKS, *V1_BENCHMARKS, *CATEGORIES, "score",
             "rm_train_data", "release", "source"]
    return out[order].reset_index(drop=True)
