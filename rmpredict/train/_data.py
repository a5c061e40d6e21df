"""Preference data: loading, validation, chat templates, tokenisation and truncation.

Sequences are token-id lists; padding and packing happen later (``pad_batch`` and
``pack_batch`` in :mod:`rmpredict.train._model`), so the same tokenised pair scores identically
in any batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["load_rows", "check_pairs", "check_regression_rows", "pair_items", "Tokenised",
           "Encoder", "data_fingerprint"]

_MAX_LISTED = 5
PAIR_COLUMNS = ("prompt", "chosen", "rejected")


def load_rows(source: Any, *, what: str = "data") -> tuple[pd.DataFrame, str]:
    """Load a table of rows from a path (JSON Lines, JSON, Parquet, CSV, or a directory written
    by ``datasets.Dataset.save_to_disk``), a ``datasets.Dataset`` or a DataFrame.

    Returns
    -------
    (frame, source_name)
    """
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), "DataFrame"
    if hasattr(source, "to_pandas") and not isinstance(source, str | os.PathLike):
        return source.to_pandas().reset_index(drop=True), type(source).__name__
    if not source:
        raise InvalidParameterError(f"no {what} given; pass a file (JSON Lines, Parquet, CSV)")
    path = Path(source)
    if not path.exists():
        raise DataValidationError([f"{what} file not found: {str(path)!r}; check the path"],
                                  source=str(path))
    if path.is_dir():
        try:
            import datasets

            dataset = datasets.load_from_disk(str(path))
        except Exception as exc:  # noqa: BLE001 - report any loader failure as a data problem
            raise DataValidationError(
                [f"{what}: cannot load directory as a saved datasets dataset ({exc})"],
                source=str(path)) from exc
        if hasattr(dataset, "keys"):  # DatasetDict: take the only or the 'train' split
            split = "train" if "train" in dataset else next(iter(dataset))
            dataset = dataset[split]
        return dataset.to_pandas().reset_index(drop=True), str(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype=False)
        elif suffix == ".json":
            frame = pd.read_json(path, dtype=False)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix == ".csv":
            frame = pd.read_csv(path, keep_default_na=False)
        else:
            raise DataValidationError(
                [f"{what}: unknown format {suffix!r}; use .jsonl, .json, .parquet or .csv"],
                source=str(path))
    except (ValueError, OSError) as exc:
        raise DataValidationError([f"{what}: cannot parse {path.name}: {exc}"],
                                  source=str(path)) from exc
    return frame.reset_index(drop=True), str(path)


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    shown = ", ".join(f"row {i + 1}" for i in rows[:_MAX_LISTED])
    return shown + (f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else "")


def _empty(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | np.ndarray):
        return len(value) == 0 or all(
            _empty(message.get("content") if isinstance(message, dict) else message)
            for message in value)
    return False


def _canon(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list):
        return [dict(message) if isinstance(message, dict) else message for message in value]
    return value


def check_pairs(frame: pd.DataFrame, *, source: str = "DataFrame",
                margin_column: str | None = None) -> pd.DataFrame:
    """Validate a pairs table: columns ``prompt, chosen, rejected`` (+ optional ``subset``).

    ``prompt`` may be empty when ``chosen``/``rejected`` are full conversations (lists of
    ``{"role", "content"}`` messages).

    Raises
    ------
    DataValidationError
        Missing columns, empty chosen/rejected, chosen identical to rejected, bad margins.
    """
    problems: list[str] = []
    if {"chosen_ids", "rejected_ids"} <= set(frame.columns) and "chosen" not in frame.columns:
        return _check_token_pairs(frame, source)
    missing = [col for col in ("chosen", "rejected") if col not in frame.columns]
    if missing:
        raise DataValidationError(
            [f"missing column(s) {', '.join(map(repr, missing))}; pairs need prompt, chosen, "
             f"rejected (found: {', '.join(map(str, frame.columns))})"], source=source)
    if len(frame) == 0:
        raise DataValidationError(["no rows; add at least one pair"], source=source)
    out = frame.copy()
    if "prompt" not in out.columns:
        conv = out["chosen"].map(lambda value: isinstance(_canon(value), list))
        if not conv.all():
            raise DataValidationError(
                ["missing column 'prompt'; plain-text pairs need prompt, chosen, rejected "
                 "(only chat-message pairs may omit it)"], source=source)
        out["prompt"] = ""
    for col in ("chosen", "rejected", "prompt"):
        out[col] = out[col].map(_canon)
    for col in ("chosen", "rejected"):
        bad = out[col].map(_empty).to_numpy()
        if bad.any():
            problems.append(f"column {col!r}: empty response at {_rows(bad)}; remove the row or "
                            "fill it")
    same = np.array([repr(chosen) == repr(rejected)
                     for chosen, rejected in zip(out["chosen"], out["rejected"])])
    if same.any():
        problems.append(f"chosen identical to rejected at {_rows(same)}; such pairs carry no "
                        "preference, remove them")
    prompt_empty = out["prompt"].map(_empty).to_numpy()
    plain = out["chosen"].map(lambda value: isinstance(value, str)).to_numpy()
    bad_prompt = prompt_empty & plain
    if bad_prompt.any():
        problems.append(f"column 'prompt': empty prompt at {_rows(bad_prompt)}; give the prompt "
                        "(or use chat-message lists that contain it)")
    if margin_column:
        if margin_column not in out.columns:
            problems.append(f"margin column {margin_column!r} not found; add it or drop "
                            "--margin-column")
        else:
            margins = pd.to_numeric(out[margin_column], errors="coerce")
            if margins.isna().any():
                problems.append(f"column {margin_column!r}: non-numeric margin at "
                                f"{_rows(margins.isna().to_numpy())}")
    if "subset" in out.columns:
        out["subset"] = out["subset"].astype(str)
    if problems:
        raise DataValidationError(problems, source=source)
    return out.reset_index(drop=True)


def _check_token_pairs(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Pre-tokenised pairs (``chosen_ids``, ``rejected_ids``: full sequences, used as-is)."""
    out = frame.copy()
    problems = []
    for col in ("chosen_ids", "rejected_ids"):
        out[col] = out[col].map(lambda ids: [int(token) for token in ids] if ids is not None
                                else [])
        bad = out[col].map(len).to_numpy() == 0
        if bad.any():
            problems.append(f"column {col!r}: empty token list at {_rows(bad)}")
    same = np.array([chosen == rejected
                     for chosen, rejected in zip(out["chosen_ids"], out["rejected_ids"])])
    if same.any():
        problems.append(f"chosen_ids identical to rejected_ids at {_rows(same)}; remove them")
    if problems:
        raise DataValidationError(problems, source=source)
    if "subset" in out.columns:
        out["subset"] = out["subset"].astype(str)
    return out.reset_index(drop=True)


def pair_items(frame: pd.DataFrame) -> tuple[list[tuple[Any, ...]], bool]:
    """Rows of a checked pairs table for :meth:`Encoder.encode_many`, and whether they are
    pre-tokenised."""
    if "chosen_ids" in frame.columns and "chosen" not in frame.columns:
        return list(zip([None] * len(frame), frame["chosen_ids"], frame["rejected_ids"])), True
    return list(zip(frame["prompt"], frame["chosen"], frame["rejected"])), False


def check_regression_rows(frame: pd.DataFrame, attributes: list[str], *,
                          source: str = "DataFrame") -> pd.DataFrame:
    """Validate regression rows: ``prompt, response`` and one numeric column per attribute."""
    need = ["prompt", "response", *attributes]
    missing = [col for col in need if col not in frame.columns]
    if missing:
        raise DataValidationError(
            [f"missing column(s) {', '.join(map(repr, missing))}; regression rows need prompt, "
             f"response and the attribute columns {attributes}"], source=source)
    if len(frame) == 0:
        raise DataValidationError(["no rows"], source=source)
    problems = []
    out = frame.copy()
    for col in ("prompt", "response"):
        out[col] = out[col].map(_canon)
        bad = out[col].map(_empty).to_numpy()
        if bad.any():
            problems.append(f"column {col!r}: empty text at {_rows(bad)}; remove or fill it")
    for attribute in attributes:
        values = pd.to_numeric(out[attribute], errors="coerce")
        bad = (values.isna() | ~np.isfinite(values.fillna(0))).to_numpy()
        if bad.any():
            problems.append(f"column {attribute!r}: missing or non-numeric value at "
                            f"{_rows(bad)}")
        out[attribute] = values.astype(float)
    if problems:
        raise DataValidationError(problems, source=source)
    return out.reset_index(drop=True)


def data_fingerprint(frame: pd.DataFrame, source: str) -> dict[str, Any]:
    """Path, sha256 (file bytes when a file, else content hash) and size of a data set."""
    from rmpredict._provenance import hash_frame, sha256_file

    info: dict[str, Any] = {"source": source, "n_rows": int(len(frame))}
    path = Path(source)
    if source not in ("DataFrame",) and path.is_file():
        info["sha256"] = sha256_file(path)
    else:
        info["content_hash"] = hash_frame(frame.map(repr))
    return info


@dataclass
class Tokenised:
    """Token ids of a data set plus its truncation report.

    ``sequences`` holds one id list per text; for pairs, chosen of pair i is ``2 * i`` and rejected
    ``2 * i + 1``. ``kept`` maps to the rows of the input frame (dropped pairs are absent).
    """

    sequences: list[list[int]]
    kept: np.ndarray
    truncation: dict[str, Any] = field(default_factory=dict)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(seq) for seq in self.sequences), dtype=np.int64,
                           count=len(self.sequences))


class Encoder:
    """Turns (prompt, response) into token ids, one documented way for every model.

    * Chat template (``chat_template="auto"`` and the tokenizer has one): the conversation
      ``[user: prompt, assistant: response]`` (or the given message lists) is rendered with
      ``apply_chat_template(tokenize=False)`` and tokenised without extra special tokens.
    * No template, decoder: ``prompt + "\\n\\n" + response`` with the tokenizer's special tokens,
      and EOS appended when the tokenizer has one, so the read-out token is a fixed end marker.
    * No template, encoder: the tokenizer's sentence-pair encoding ``(prompt, response)``.

    Too-long sequences follow ``truncation``: ``left`` drops tokens from the start (keeping the
    first token of encoders, their [CLS]), ``drop`` skips the pair, ``error`` raises.
    """

    def __init__(self, tokenizer: Any, *, is_encoder: bool, max_length: int,
                 truncation: str = "left", chat_template: str = "auto"):
        self.tokenizer = tokenizer
        self.is_encoder = is_encoder
        self.max_length = int(max_length)
        self.truncation = truncation
        has_template = bool(getattr(tokenizer, "chat_template", None))
        self.use_template = chat_template == "auto" and has_template
        self.template_info = {
            "applied": self.use_template,
            "template_sha256": (_sha(tokenizer.chat_template) if self.use_template else None),
            "fallback": None if self.use_template else (
                "sentence-pair encoding" if is_encoder else "prompt + '\\n\\n' + response + eos"),
            "append_eos": (not self.use_template and not is_encoder
                           and tokenizer.eos_token_id is not None),
        }

    def _messages(self, prompt: Any, response: Any) -> list[dict[str, str]]:
        msgs: list[dict[str, str]] = []
        if isinstance(prompt, list):
            msgs += [dict(message) for message in prompt]
        elif not _empty(prompt):
            msgs.append({"role": "user", "content": str(prompt)})
        if isinstance(response, list):
            msgs += [dict(message) for message in response]
        else:
            msgs.append({"role": "assistant", "content": str(response)})
        return msgs

    def encode(self, prompt: Any, response: Any) -> list[int]:
        """Token ids of one (prompt, response), before truncation."""
        tokenizer = self.tokenizer
        if self.use_template:
            text = tokenizer.apply_chat_template(self._messages(prompt, response),
                                                 tokenize=False)
            return list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if isinstance(prompt, list) or isinstance(response, list):
            msgs = self._messages(prompt, response)
            text = "\n".join(f"{message['role']}: {message['content']}" for message in msgs)
            ids = list(tokenizer(text)["input_ids"])
        elif self.is_encoder:
            return list(tokenizer(str(prompt), str(response))["input_ids"])
        else:
            ids = list(tokenizer(f"{prompt}\n\n{response}")["input_ids"])
        if self.template_info["append_eos"] and (not ids or ids[-1] != tokenizer.eos_token_id):
            ids.append(tokenizer.eos_token_id)
        return ids

    def _truncate(self, ids: list[int]) -> list[int]:
        keep_head = 1 if self.is_encoder else 0
        return ids[:keep_head] + ids[len(ids) - (self.max_length - keep_head):]

    def encode_many(self, items: list[tuple[Any, ...]], *, group: int,
                    pretokenised: bool = False) -> Tokenised:
        """Encode rows of ``group`` texts each (2 for pairs, 1 for regression rows).

        ``items`` holds ``(prompt, response_1[, response_2])`` per row; with ``pretokenised``
        the responses are full token-id sequences used as they are (truncation still applies).
        """
        seqs: list[list[int]] = []
        kept: list[int] = []
        n_trunc_rows = n_trunc_seqs = removed = worst = identical = 0
        too_long: list[int] = []
        for row, (prompt, *responses) in enumerate(items):
            ids = [list(response) if pretokenised else self.encode(prompt, response)
                   for response in responses[:group]]
            over = [len(seq) - self.max_length for seq in ids if len(seq) > self.max_length]
            if over:
                if self.truncation == "error":
                    too_long.append(row)
                    continue
                if self.truncation == "drop":
                    n_trunc_rows += 1
                    removed += sum(over)
                    worst = max(worst, max(over))
                    continue
                n_trunc_rows += 1
                n_trunc_seqs += len(over)
                removed += sum(over)
                worst = max(worst, max(over))
                ids = [self._truncate(seq) if len(seq) > self.max_length else seq
                       for seq in ids]
                if group == 2 and ids[0] == ids[1]:
                    # Truncation kept only identical tails: no preference left, so skip it.
                    identical += 1
                    continue
            seqs.extend(ids)
            kept.append(row)
        if too_long:
            rows = ", ".join(f"row {i + 1}" for i in too_long[:_MAX_LISTED])
            raise DataValidationError(
                [f"{len(too_long)} row(s) longer than max_length={self.max_length} tokens "
                 f"({rows}); raise --max-length, or use --truncation left or drop"])
        report = {
            "policy": self.truncation,
            "max_length": self.max_length,
            "rows": len(items),
            "rows_truncated" if self.truncation == "left" else "rows_dropped": n_trunc_rows,
            "sequences_truncated": n_trunc_seqs,
            "tokens_removed": int(removed),
            "max_tokens_removed_per_sequence": int(worst),
            "rows_dropped_identical_after_truncation": identical,
        }
        return Tokenised(seqs, np.asarray(kept, dtype=np.int64), report)


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]
