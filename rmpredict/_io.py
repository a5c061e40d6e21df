"""File input/output: atomic writes and reading tables by file suffix."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["atomic_path", "write_text_atomic", "write_json_atomic", "write_table_atomic",
           "read_table"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    An interrupted write therefore never leaves a half-written file at ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_table_atomic(
    path: str | os.PathLike[str], frame: pd.DataFrame, *, comment: str | None = None,
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``frame`` to CSV, Parquet or JSON Lines (chosen by suffix) atomically.

    Parameters
    ----------
    comment : str, optional
        For CSV only: a first line ``# comment``. Readers skip it with
        ``pd.read_csv(..., comment="#")``; :func:`read_table` does so.
    provenance : dict, optional
        Appended as constant trailing columns (e.g. ``rmpredict_version``, ``model_id``), so
        any CSV reader keeps the provenance with every row.
    """
    if provenance:
        frame = frame.assign(**{k: ("" if v is None else v) for k, v in provenance.items()})
    target = Path(path)
    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if suffix == ".csv":
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                if comment:
                    fh.write(f"# {comment}\n")
                frame.to_csv(fh, index=False)
        elif suffix in (".parquet", ".pq"):
            frame.to_parquet(tmp, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            frame.to_json(tmp, orient="records", lines=True)
        else:
            raise InvalidParameterError(
                f"Cannot write a table to {str(target)!r}: unknown suffix {suffix!r}. "
                f"Use one of {', '.join(TABLE_SUFFIXES)}."
            )
    return target


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON Lines table, chosen by the file suffix.

    Raises
    ------
    DataValidationError
        If the file does not exist, has an unknown suffix or cannot be parsed.
    """
    p = Path(path)
    if not p.exists():
        raise DataValidationError([f"file not found: {str(p)!r}; check the path"], source=str(p))
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(p, comment="#", skipinitialspace=True)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataValidationError(
            [f"cannot parse {p.name} as {suffix[1:]}: {first}; check the file format"],
            source=str(p),
        ) from exc
    raise DataValidationError(
        [f"unknown table format {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}"],
        source=str(p),
    )
