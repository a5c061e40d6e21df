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

__all__ = ["atomic_path", "check_writable", "write_text_atomic", "write_json_atomic",
           "write_table_atomic", "read_table"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson")


def check_writable(path: str | os.PathLike[str], argument_name: str, *,
                   folder: bool = False) -> Path:
    """Raise a one-line error now unless the output ``path`` can be written later.

    Long commands call this for every output before their work starts, so a bad output path
    fails in a second instead of after sampling or training. Nothing is created: folders that
    would have to be made are checked through their nearest existing ancestor, which must be a
    folder in which a file can be created (tested with a temporary file that is removed at
    once, so permissions and read-only file systems are both seen).

    Parameters
    ----------
    path : path-like
        The output file (or, with ``folder=True``, the output folder).
    argument_name : str
        How the user gave it (e.g. ``"--output"``), for the message.
    folder : bool, default=False
        ``path`` is a folder the command writes files into.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InvalidParameterError
        If a file path is a folder or a folder path is a file, a parent is a file, or the
        folder is not writable.
    """
    target = Path(path)
    where = f"{argument_name} {str(path)!r}"
    if str(path).strip() == "":
        raise InvalidParameterError(f"{argument_name}: empty path; give a "
                                    f"{'folder' if folder else 'file'} path")
    if folder:
        if target.exists() and not target.is_dir():
            raise InvalidParameterError(f"{where} is a file, not a folder; choose another path")
        ancestor = target
    else:
        if target.is_dir() or target.name in ("", ".", ".."):
            raise InvalidParameterError(f"{where} is a folder; give a file path inside it")
        ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidParameterError(
            f"{where}: {str(ancestor)!r} is a file, not a folder; choose another output path")
    try:
        with tempfile.TemporaryFile(dir=ancestor, prefix=".rmpredict-check-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidParameterError(
            f"{where}: cannot write in {str(ancestor)!r} ({reason}); choose a writable "
            "folder") from None
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    An interrupted write therefore never leaves a half-written file at ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidParameterError(
            f"cannot write {str(target)!r}: a parent of it is a file, not a folder; choose "
            "another output path") from None
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
