"""Presence scores: mean token log-probability of a document under a causal LM.

Definition (one number per document, nats per token)::

    presence = (1 / T) * sum_{t=1..T} log p(x_t | x_<t)

over the document's first ``max_tokens`` tokens (the study's N = 2048). The tokenizer's BOS
token, when it has one, is prepended so that the first real token x_1 is scored too
(T = n_tokens); without a BOS the first token has no context and T = n_tokens - 1. Documents are
tokenised without the tokenizer's own special tokens, so BOS handling is the same for every
model. Longer documents are truncated (flagged ``truncated``), never split.

The LM head runs on chunks of ``head_chunk`` predicted positions with the log-softmax in
float32, so no (batch x length x vocab) float32 tensor is ever built; batches are formed from
length-sorted documents under a token budget to limit padding, and position ids are computed
from the attention mask so left and right padding give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rmpredict.exceptions import InvalidParameterError, MissingDependencyError

__all__ = ["ScoreConfig", "score_token_ids", "score_texts", "tokenize_documents",
           "make_batches", "bos_token_id"]

_TRAIN_EXTRA = 'pip install "rmpredict[train]"'


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError(f"presence scores need torch; run {_TRAIN_EXTRA}") from exc
    return torch


@dataclass(frozen=True)
class ScoreConfig:
    """Settings of a scoring run.

    Parameters
    ----------
    max_tokens : int
        Document tokens scored per document (N; the study used 2048).
    batch_tokens : int
        Token budget of one batch: padded length x batch size never exceeds it (unless a single
        document is longer, which then forms its own batch).
    padding_side : {"right", "left"}
        Where padding goes; results are identical either way (tested).
    head_chunk : int
        Predicted positions passed through the LM head at once (memory: head_chunk x vocab x 4
        bytes of float32 logits).
    """

    max_tokens: int = 2048
    batch_tokens: int = 32768
    padding_side: str = "right"
    head_chunk: int = 512

    def __post_init__(self) -> None:
        for name in ("max_tokens", "batch_tokens", "head_chunk"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
        if self.padding_side not in ("right", "left"):
            raise InvalidParameterError(
                f"padding_side must be 'right' or 'left', got {self.padding_side!r}")


def bos_token_id(tokenizer: Any) -> int | None:
    """The tokenizer's BOS id, or None when it has none (then the first token is not scored)."""
    bos = getattr(tokenizer, "bos_token_id", None)
    return int(bos) if bos is not None else None


def tokenize_documents(tokenizer: Any, texts: Sequence[str], *, max_tokens: int
                       ) -> tuple[list[list[int]], list[int], list[bool]]:
    """Token ids to feed the model, the kept document-token count, and the truncation flag.

    Returns
    -------
    ids : list of list of int
        Model inputs: ``[BOS] + first max_tokens document tokens`` (no BOS if the tokenizer
        has none).
    n_tokens : list of int
        Document tokens kept (<= max_tokens).
    truncated : list of bool
        Whether the document had more than ``max_tokens`` tokens.
    """
    bos = bos_token_id(tokenizer)
    ids, n_tokens, truncated = [], [], []
    for text in texts:
        toks = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        truncated.append(len(toks) > max_tokens)
        toks = toks[:max_tokens]
        n_tokens.append(len(toks))
        ids.append(([bos] if bos is not None else []) + toks)
    return ids, n_tokens, truncated


def make_batches(lengths: Sequence[int], *, batch_tokens: int) -> list[list[int]]:
    """Group indices, longest first, so each batch's padded size stays within ``batch_tokens``."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        width = lengths[current[0]] if current else lengths[i]  # first is the longest
        if current and width * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def _head_transform(model: Any) -> Callable:
    """Post-processing some architectures apply to logits (scaling, soft-capping)."""
    cfg = getattr(model, "config", None)
    cfg = getattr(cfg, "get_text_config", lambda: cfg)() if cfg is not None else None
    cap = getattr(cfg, "final_logit_softcapping", None)
    scale = getattr(cfg, "logit_scale", None)  # Cohere multiplies
    divide = getattr(cfg, "logits_scaling", None)  # Granite divides

    def transform(logits):
        if scale is not None:
            logits = logits * scale
        if divide is not None:
            logits = logits / divide
        if cap is not None:
            logits = (logits / cap).tanh() * cap
        return logits

    return transform


def _body(model: Any) -> Any:
    body = getattr(model, "base_model", None)
    if body is None or body is model:
        raise InvalidParameterError(
            f"{type(model).__name__} has no separate transformer body (base_model); pass a "
            "*ForCausalLM model")
    return body


def _score_batch(model: Any, batch: list[list[int]], *, pad_id: int, padding_side: str,
                 head_chunk: int, device: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sum of log-probs and number of predicted tokens for each sequence of one batch."""
    torch = _torch()
    from rmpredict._padding import pad_batch

    padded = pad_batch(batch, pad_id=pad_id, padding_side=padding_side, device=device)
    ids, mask, pos = padded["input_ids"], padded["attention_mask"], padded["position_ids"]
    hidden = _body(model)(input_ids=ids, attention_mask=mask, position_ids=pos,
                          use_cache=False).last_hidden_state
    valid = (mask[:, :-1] * mask[:, 1:]).bool()  # position t predicts token t+1, both real
    h = hidden[:, :-1][valid]
    targets = ids[:, 1:][valid]
    rows = torch.arange(len(batch), device=device).unsqueeze(1).expand_as(valid)[valid]
    head = model.get_output_embeddings()
    transform = _head_transform(model)
    sums = torch.zeros(len(batch), dtype=torch.float64, device=device)
    for start in range(0, h.shape[0], head_chunk):
        logits = transform(head(h[start:start + head_chunk]).float())
        tgt = targets[start:start + head_chunk]
        lp = logits.gather(1, tgt.unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=-1)
        sums.index_add_(0, rows[start:start + head_chunk], lp.double())
    counts = valid.sum(-1)
    return sums.cpu().numpy(), counts.cpu().numpy()


def score_token_ids(model: Any, sequences: Sequence[Sequence[int]], *,
                    config: ScoreConfig | None = None, pad_id: int = 0,
                    on_batch: Callable[[list[int], np.ndarray, np.ndarray], None] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Score already-tokenised sequences (BOS, if any, already prepended).

    Parameters
    ----------
    model : transformers ``*ForCausalLM``
        In eval mode on its device; its dtype is used for the body, float32 for the softmax.
    sequences : sequence of sequence of int
        Model inputs, one per document.
    config : ScoreConfig, optional
    pad_id : int
        Token used for padding (masked out; any valid id works).
    on_batch : callable, optional
        Called after each batch with (indices, sum_logprob, n_predicted) — used to checkpoint.

    Returns
    -------
    sum_logprob : ndarray of float64
        Sum of log p over predicted tokens (nats), per sequence.
    n_predicted : ndarray of int
        Number of predicted tokens, per sequence (0 for a one-token input).
    """
    torch = _torch()
    cfg = config or ScoreConfig()
    device = next(model.parameters()).device
    sums = np.zeros(len(sequences))
    counts = np.zeros(len(sequences), dtype=np.int64)
    lengths = [len(s) for s in sequences]
    with torch.inference_mode():
        for idx in make_batches(lengths, batch_tokens=cfg.batch_tokens):
            s, c = _score_batch(model, [list(sequences[i]) for i in idx], pad_id=pad_id,
                                padding_side=cfg.padding_side, head_chunk=cfg.head_chunk,
                                device=device)
            sums[idx], counts[idx] = s, c
            if on_batch is not None:
                on_batch(idx, s, c)
    return sums, counts


def score_texts(model: Any, tokenizer: Any, texts: Sequence[str], *,
                config: ScoreConfig | None = None) -> Any:
    """Presence scores of texts: a DataFrame with n_tokens, truncated, n_predicted, mean_logprob.

    ``mean_logprob`` is NaN for a document with no predicted token (one token and no BOS).
    """
    import pandas as pd

    cfg = config or ScoreConfig()
    ids, n_tokens, truncated = tokenize_documents(tokenizer, texts, max_tokens=cfg.max_tokens)
    sums, counts = score_token_ids(model, ids, config=cfg, pad_id=_pad_id(tokenizer))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), math.nan)
    return pd.DataFrame({"n_tokens": n_tokens, "truncated": truncated, "n_predicted": counts,
                         "sum_logprob": sums, "mean_logprob": mean})


def _pad_id(tokenizer: Any) -> int:
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return 0

