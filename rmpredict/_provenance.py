"""Provenance stamps: versions, hashes and seeds carried by every output."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from rmpredict._version import __version__

__all__ = ["sha256_file", "hash_frame", "hash_json", "library_versions", "provenance"]


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_frame(frame: pd.DataFrame) -> str:
    """Stable short hash (16 hex) of a table's content, independent of row order in memory.

    Columns are sorted by name and rows by every column so the same data always hashes the same.
    """
    cols = sorted(map(str, frame.columns))
    canon = frame.copy()
    canon.columns = [str(c) for c in canon.columns]
    canon = canon[cols]
    canon = canon.sort_values(cols, na_position="last", kind="mergesort").reset_index(drop=True)
    payload = canon.to_csv(index=False, float_format="%.10g").encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def hash_json(obj: Any) -> str:
    """Short hash (16 hex) of a JSON-serialisable object with sorted keys."""
    payload = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:16]


def library_versions(names: tuple[str, ...] = ("numpy", "pandas", "pymc", "arviz", "nutpie",
                                               "pytensor", "scikit-learn", "statsmodels")
                     ) -> dict[str, str]:
    """Installed versions of the named distributions (``"absent"`` if not installed)."""
    out = {"python": platform.python_version(), "rmpredict": __version__}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def provenance(**fields: Any) -> dict[str, Any]:
    """A provenance record: rmpredict version, UTC timestamp and the given fields."""
    rec: dict[str, Any] = {
        "rmpredict_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    rec.update(fields)
    return rec
