"""Scoring a whole corpus to a parquet file: model loading, provenance, resumption.

Resumption: scores are written in shards (``<output>.partial/shard-NNNNN.parquet``, each written
atomically) next to a ``run.json`` that pins the model, corpus and settings. Rerunning the same
command skips documents already in a shard; when every document is scored the shards are
merged into ``output`` atomically and the partial folder is removed. A rerun with different
settings refuses to mix results and says which setting differs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict._io import atomic_path, write_json_atomic
from rmpredict._provenance import provenance, sha256_file
from rmpredict.datadist._corpus import Corpus, read_corpus
from rmpredict.datadist._score import (
    ScoreConfig,
    _pad_id,
    bos_token_id,
    score_token_ids,
    tokenize_documents,
)
from rmpredict.exceptions import (
    DataValidationError,
    InvalidParameterError,
    MissingDependencyError,
    ModelMismatchError,
)

__all__ = ["load_model", "model_fingerprint", "score_corpus", "read_scores", "SCORE_COLUMNS"]

SCORE_COLUMNS = ("id", "domain", "n_tokens", "truncated", "mean_logprob")
_META_KEY = b"rmpredict"
_DTYPES = ("float32", "bfloat16", "float16")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt")


def model_fingerprint(model_path: str | os.PathLike[str]) -> dict[str, str]:
    """Identity of a model: for a local folder, sha256 over its config and weight files.

    A hub id (not a local path) is recorded as given; the revision then identifies it.
    """
    p = Path(model_path)
    if not p.exists():
        return {"model": str(model_path), "model_sha256": "hub id (not hashed)"}
    files = [p] if p.is_file() else sorted(
        f for f in p.iterdir()
        if f.is_file() and (f.suffix in _WEIGHT_SUFFIXES or f.name == "config.json"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + sha256_file(f).encode())
    return {"model": str(model_path), "model_sha256": h.hexdigest()}


def load_model(model: str | os.PathLike[str], *, dtype: str = "bfloat16",
               device: str | None = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer (local folder, GGUF file or hub id) for scoring.

    Parameters
    ----------
    model : str or path-like
        Folder with ``config.json`` and weights, a ``.gguf`` file, or a hub id (needs network).
    dtype : {"bfloat16", "float32", "float16"}
        Weights dtype; the log-softmax is always float32.
    device : str, optional
        ``"cuda"`` when available, else ``"cpu"``.
    """
    if dtype not in _DTYPES:
        raise InvalidParameterError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            'presence scores need torch and transformers; run pip install "rmpredict[train]"'
        ) from exc
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    p = Path(model)
    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    src = str(model)
    if p.is_file() and p.suffix == ".gguf":
        src, kwargs["gguf_file"] = str(p.parent), p.name
    try:
        tok = AutoTokenizer.from_pretrained(src, **{k: v for k, v in kwargs.items()
                                                    if k == "gguf_file"})
        lm = AutoModelForCausalLM.from_pretrained(src, **kwargs)
    except OSError as exc:
        raise InvalidParameterError(
            f"cannot load model {str(model)!r}: {str(exc).splitlines()[0]}; pass a local folder "
            "with config.json, weights and tokenizer files, or a hub id with network access"
        ) from exc
    lm.to(device).eval()
    return lm, tok


def _run_settings(corpus: Corpus, fingerprint: dict, cfg: ScoreConfig, dtype: str,
                  bos: int | None) -> dict:
    return {"corpus_sha256": corpus.sha256, **fingerprint, "max_tokens": cfg.max_tokens,
            "dtype": dtype, "bos_prepended": bos is not None}


def score_corpus(model: Any, tokenizer: Any, corpus: Corpus | str | os.PathLike[str],
                 output: str | os.PathLike[str], *, config: ScoreConfig | None = None,
                 model_id: str = "", dtype: str | None = None, checkpoint_docs: int = 256,
                 fingerprint: dict | None = None) -> pd.DataFrame:
    """Score every document of a corpus and write ``output`` (parquet) with provenance.

    Parameters
    ----------
    model, tokenizer
        From :func:`load_model` (or any transformers causal LM and tokenizer).
    corpus : Corpus or path
        A :class:`Corpus` or a JSON Lines path (``"probe"`` = the shipped probe corpus).
    output : path
        Parquet file to write; ``<output>.partial/`` holds shards while running.
    config : ScoreConfig, optional
    model_id : str
        Name recorded in the provenance (defaults to the model's ``name_or_path``).
    dtype : str, optional
        Recorded dtype (defaults to the model's parameter dtype).
    checkpoint_docs : int
        Documents per shard: at most this much work is lost when a run is interrupted.
    fingerprint : dict, optional
        Model identity (:func:`model_fingerprint`); defaults to hashing ``model_id`` if local.

    Returns
    -------
    pandas.DataFrame
        Columns id, domain, n_tokens, truncated, mean_logprob (plus n_predicted); the
        provenance dict is in ``.attrs["rmpredict"]``.
    """
    cfg = config or ScoreConfig()
    if checkpoint_docs < 1:
        raise InvalidParameterError(f"checkpoint_docs must be >= 1, got {checkpoint_docs}")
    corpus = corpus if isinstance(corpus, Corpus) else read_corpus(corpus)
    model_id = model_id or str(getattr(getattr(model, "config", None), "name_or_path", "")) \
        or type(model).__name__
    dtype = dtype or str(next(model.parameters()).dtype).replace("torch.", "")
    fingerprint = fingerprint or model_fingerprint(model_id)
    bos = bos_token_id(tokenizer)
    settings = _run_settings(corpus, fingerprint, cfg, dtype, bos)
    out = Path(output)
    if out.suffix.lower() not in (".parquet", ".pq"):
        raise InvalidParameterError(f"output must be a .parquet file, got {str(out)!r}")
    partial = out.with_name(out.name + ".partial")
    done = _load_partial(partial, settings)

    docs = corpus.documents
    todo = docs[~docs["id"].isin(done["id"])] if len(done) else docs
    t0 = time.perf_counter()
    n_tok_total = 0
    for start in range(0, len(todo), checkpoint_docs):
        part = todo.iloc[start:start + checkpoint_docs]
        ids, n_tokens, truncated = tokenize_documents(tokenizer, part["text"].tolist(),
                                                      max_tokens=cfg.max_tokens)
        sums, counts = score_token_ids(model, ids, config=cfg, pad_id=_pad_id(tokenizer))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        shard = pd.DataFrame({"id": part["id"].to_numpy(), "domain": part["domain"].to_numpy(),
                              "n_tokens": np.asarray(n_tokens, dtype=np.int64),
                              "truncated": np.asarray(truncated, dtype=bool),
                              "n_predicted": counts.astype(np.int64),
                              "mean_logprob": mean})
        n_shard = len(list(partial.glob("shard-*.parquet")))
        with atomic_path(partial / f"shard-{n_shard:05d}.parquet") as tmp:
            shard.to_parquet(tmp, index=False)
        n_tok_total += int(counts.sum())
    elapsed = time.perf_counter() - t0

    scores = _read_shards(partial) if partial.exists() else done
    scores = scores.set_index("id").loc[docs["id"]].reset_index()  # corpus order
    prov = provenance(**settings, model_id=model_id, corpus=corpus.path,
                      n_documents=len(scores), empty_ids=corpus.empty_ids,
                      n_truncated=int(scores["truncated"].sum()),
                      head_chunk=cfg.head_chunk, batch_tokens=cfg.batch_tokens,
                      padding_side=cfg.padding_side,
                      unit="mean log-probability per predicted token (nats)",
                      last_run_tokens_per_s=(n_tok_total / elapsed if elapsed > 0 else None))
    _write_scores(out, scores, prov)
    if partial.exists():
        shutil.rmtree(partial)
    scores.attrs["rmpredict"] = prov
    return scores


def _load_partial(partial: Path, settings: dict) -> pd.DataFrame:
    run_file = partial / "run.json"
    if partial.exists() and run_file.exists():
        previous = json.loads(run_file.read_text(encoding="utf-8"))
        diff = [k for k in settings if previous.get(k) != settings[k]]
        if diff:
            raise ModelMismatchError(
                f"{partial} holds an interrupted run with different {', '.join(diff)} "
                f"({', '.join(f'{k}={previous.get(k)!r}' for k in diff)}); delete that folder "
                "or choose another --output")
        return _read_shards(partial)
    partial.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_file, settings)
    return pd.DataFrame(columns=list(SCORE_COLUMNS))


def _read_shards(partial: Path) -> pd.DataFrame:
    shards = sorted(partial.glob("shard-*.parquet"))
    if not shards:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    return pd.concat([pd.read_parquet(s) for s in shards], ignore_index=True)


def _write_scores(path: Path, scores: pd.DataFrame, prov: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(scores, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[_META_KEY] = json.dumps(prov, default=str).encode()
    with atomic_path(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_scores(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a scores parquet; its provenance is in ``.attrs["rmpredict"]``.

    Raises
    ------
    DataValidationError
        If the file is missing, not parquet, or lacks a score column.
    """
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise DataValidationError([f"scores file not found: {str(p)!r}; run `rmpredict "
                                   "datadist score` first"], source=str(p))
    try:
        table = pq.read_table(p)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataValidationError([f"cannot read {p.name} as parquet: {exc}; pass the file "
                                   "written by `rmpredict datadist score`"], source=str(p)) from exc
    frame = table.to_pandas()
    missing = [c for c in SCORE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataValidationError([f"missing column(s) {', '.join(missing)}; pass the file "
                                   "written by `rmpredict datadist score`"], source=str(p))
    raw = (table.schema.metadata or {}).get(_META_KEY)
    prov = json.loads(raw) if raw else {"model_id": p.stem, "rmpredict_version": "unknown"}
    prov.setdefault("path", str(p))
    frame.attrs["rmpredict"] = prov
    frame.attrs["source"] = str(p)
    return frame

