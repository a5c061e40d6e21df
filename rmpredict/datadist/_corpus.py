"""Reading and validating a probe corpus (JSON Lines, one document per line).

A corpus line is a JSON object with ``text`` (str) and ``domain`` (str), and optionally ``id``
(str or int; default ``"line-<n>"``). Files may be gzip-compressed (``.gz``). Every problem is
reported with its 1-based line number and a fix; empty or whitespace-only documents are not an
error but are listed so the caller can report and skip them.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from rmpredict._provenance import sha256_file
from rmpredict.exceptions import DataValidationError

__all__ = ["Corpus", "read_corpus", "probe_corpus_path", "domain_key"]

_MAX_PROBLEMS = 20  # enough to fix a file in one go, short enough for one terminal line
_DOMAIN_RE = re.compile(r"[^a-z0-9_]+")


def domain_key(domain: str) -> str:
    """Column-safe form of a domain name (lower case, ``[a-z0-9_]``), used in feature names."""
    key = _DOMAIN_RE.sub("_", str(domain).strip().lower()).strip("_")
    return key or "unnamed"


@dataclass(frozen=True)
class Corpus:
    """A validated corpus.

    Attributes
    ----------
    documents : pandas.DataFrame
        Non-empty documents: ``id`` (str), ``domain`` (str), ``text`` (str), ``line`` (int).
    empty_ids : list of str
        Ids of empty or whitespace-only documents (skipped; report them).
    sha256 : str
        sha256 of the corpus file's bytes (as stored, i.e. of the ``.gz`` if compressed).
    path : str
        Where the corpus was read from.
    """

    documents: pd.DataFrame
    empty_ids: list[str] = field(default_factory=list)
    sha256: str = ""
    path: str = ""

    @property
    def domains(self) -> list[str]:
        """Sorted domain names."""
        return sorted(self.documents["domain"].unique())


def probe_corpus_path() -> Path:
    """Path of the probe corpus shipped with rmpredict (five domains, gzip JSON Lines)."""
    try:
        base = Path(str(resources.files("rmpredict._data")))
    except ModuleNotFoundError:  # running from a source tree without the package mapping
        base = Path(__file__).resolve().parents[2] / "data"
    return base / "probe" / "probe.jsonl.gz"


def _open_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix.lower() == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataValidationError(
                [f"cannot decompress {path.name}: {exc}; is it really gzip? "
                 "Rename it without .gz if it is plain JSON Lines"], source=str(path)) from exc
    return raw


def read_corpus(path: str | os.PathLike[str]) -> Corpus:
    """Read and validate a JSON Lines corpus.

    Parameters
    ----------
    path : str or path-like
        ``.jsonl`` / ``.ndjson`` file, optionally ``.gz``-compressed; ``"probe"`` reads the
        shipped probe corpus.

    Returns
    -------
    Corpus

    Raises
    ------
    DataValidationError
        If the file is missing, has bytes that are not UTF-8, a line that is not a JSON object,
        a missing or non-string ``text``/``domain``, or duplicate ids. The message names the
        line(s) and the fix.
    """
    p = probe_corpus_path() if str(path) == "probe" else Path(path)
    if not p.is_file():
        raise DataValidationError([f"corpus file not found: {str(p)!r}; check the --corpus path"],
                                  source=str(p))
    raw = _open_bytes(p)
    problems: list[str] = []
    rows: list[dict] = []
    empty: list[str] = []
    seen: dict[str, int] = {}
    for lineno, bline in enumerate(raw.split(b"\n"), start=1):
        if len(problems) >= _MAX_PROBLEMS:
            problems.append("more problems not shown; fix these first")
            break
        if not bline.strip():
            continue  # blank lines (e.g. a trailing newline) carry no document
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(f"line {lineno}: byte {exc.start} is not valid UTF-8 "
                            f"({bline[exc.start:exc.start + 1]!r}); re-encode the file as UTF-8")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {lineno}: invalid JSON ({exc.msg} at column {exc.colno}); "
                            "each line must be one JSON object")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {lineno}: expected a JSON object with 'text' and 'domain', "
                            f"got {type(obj).__name__}")
            continue
        bad = False
        for key in ("text", "domain"):
            if key not in obj:
                problems.append(f"line {lineno}: missing field {key!r}; add "
                                f"\"{key}\": \"...\" to the object")
                bad = True
            elif not isinstance(obj[key], str):
                problems.append(f"line {lineno}: field {key!r} must be a string, got "
                                f"{type(obj[key]).__name__} {str(obj[key])[:30]!r}")
                bad = True
        if not bad and not obj["domain"].strip():
            problems.append(f"line {lineno}: field 'domain' is empty; name the domain")
            bad = True
        doc_id = obj.get("id", f"line-{lineno}")
        if not isinstance(doc_id, (str, int)) or isinstance(doc_id, bool):
            problems.append(f"line {lineno}: field 'id' must be a string or integer, got "
                            f"{type(doc_id).__name__}")
            bad = True
        doc_id = str(doc_id)
        if doc_id in seen:
            problems.append(f"line {lineno}: duplicate id {doc_id!r} (first on line "
                            f"{seen[doc_id]}); ids must be unique")
            bad = True
        seen.setdefault(doc_id, lineno)
        if bad:
            continue
        if not obj["text"].strip():
            empty.append(doc_id)
            continue
        rows.append({"id": doc_id, "domain": obj["domain"].strip(), "text": obj["text"],
                     "line": lineno})
    if problems:
        raise DataValidationError(problems, source=str(p))
    if not rows:
        raise DataValidationError([f"no non-empty documents ({len(empty)} empty); a corpus "
                                   "needs at least one document with text"], source=str(p))
    frame = pd.DataFrame(rows, columns=["id", "domain", "text", "line"])
    return Corpus(documents=frame, empty_ids=empty, sha256=sha256_file(p), path=str(p))
