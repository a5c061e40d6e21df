"""Multiple-choice benchmarks scored by log-likelihood, the way lm-eval-harness does.

For an item with prompt ``c`` and choices ``a_1..a_k``, the score of choice ``j`` is the
log-likelihood (nats) of the continuation ``" " + a_j`` given the context ``c``::

    loglik_j = sum_{t in continuation} log p(x_t | x_<t)

Tokenisation follows lm-eval's ``_encode_pair``: trailing whitespace of the prompt is moved to
the front of the continuation, the whole string ``context + continuation`` is encoded once, and
the continuation tokens are the tail after the first ``len(encode(context))`` tokens. A word
that BPE merges across the boundary is thereby scored as the model would see it in running text.

Special tokens: strings are always encoded with ``add_special_tokens=False``; the tokenizer's BOS
token, when it has one, is prepended to every context (as the presence scorer in
:mod:`rmpredict.datadist` does, so both measurements see the same inputs). A tokenizer without
BOS gets its EOS token as the prefix only when the context encodes to no tokens (lm-eval's
"end of text" prefix), so the first continuation token always has something to condition on.
This differs from lm-eval's default (no BOS) for models whose tokenizer defines BOS; for
models trained with a BOS (Llama, Gemma, the ladder) prepending it is the in-distribution choice.

``pred`` is the choice with the largest log-likelihood; ``pred_norm`` the choice with the largest
log-likelihood per UTF-8 byte of the choice text (without the leading space), lm-eval's
``acc_norm`` (which divides by characters; identical for ASCII choices).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from rmpredict._padding import pad_batch
from rmpredict.datadist._score import _body, _head_transform
from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["score_choices", "benchmark_scores", "encode_pair"]

#: Benchmarks whose task="all" row is the unweighted mean over tasks (BIG-bench Hard and
#: BIG-bench tasks differ a lot in size; lm-eval reports their group score per task).
MACRO_BENCHMARKS = ("bbh", "bigbench")


def _check_causal_lm(model: Any) -> None:
    """Refuse models that cannot give next-token probabilities (encoders, classifiers)."""
    cfg = getattr(model, "config", None)
    name = type(model).__name__
    if cfg is not None:
        from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

        if cfg.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(
                cfg, "is_decoder", False):
            raise InvalidParameterError(
                f"{name} ({cfg.model_type}) is an encoder without a causal LM head; multiple-"
                "choice log-likelihoods cannot be computed (record NaN for this model)")
    get_head = getattr(model, "get_output_embeddings", None)
    if get_head is None or get_head() is None:
        raise InvalidParameterError(
            f"{name} has no LM head (get_output_embeddings() is None); pass an "
            "AutoModelForCausalLM model (record NaN for models that have none)")


def _prefix_ids(tokenizer: Any) -> list[int]:
    bos = getattr(tokenizer, "bos_token_id", None)
    return [int(bos)] if bos is not None else []


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation token ids, lm-eval style (BOS handled by the caller).

    Parameters
    ----------
    tokenizer : transformers tokenizer
    context, continuation : str

    Returns
    -------
    context_ids, continuation_ids : list of int
        ``encode(context + continuation)`` split at ``len(encode(context))``, after moving the
        context's trailing whitespace onto the continuation.
    """
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = list(tokenizer(context + continuation, add_special_tokens=False)["input_ids"])
    n_ctx = len(tokenizer(context, add_special_tokens=False)["input_ids"])
    return whole[:n_ctx], whole[n_ctx:]


def _validate_items(items: pd.DataFrame) -> None:
    missing = [c for c in ("prompt", "choices", "answer") if c not in items.columns]
    if missing:
        raise DataValidationError(
            [f"missing column(s) {missing}; items need prompt (str), choices (list of str) and "
             "answer (int index into choices)"], source="items")
    problems = []
    for i, (choices, answer) in enumerate(zip(items["choices"], items["answer"])):
        if isinstance(choices, str) or not isinstance(choices, Sequence | np.ndarray) \
                or len(choices) < 2:
            problems.append(f"row {i}: choices must be a list of at least 2 strings, got "
                            f"{choices!r}")
            continue
        if isinstance(answer, bool) or not isinstance(answer, int | np.integer) \
                or not 0 <= int(answer) < len(choices):
            problems.append(f"row {i}: answer must be an int in [0, {len(choices) - 1}], got "
                            f"{answer!r}")
    if problems:
        raise DataValidationError(problems, source="items")


def score_choices(model: Any, tokenizer: Any, items: pd.DataFrame, *, batch_size: int = 16,
                  max_length: int = 1024, device: Any = None) -> pd.DataFrame:
    """Log-likelihood of every choice of every item, with accuracy under both read-outs.

    Parameters
    ----------
    model : transformers ``*ForCausalLM``
        Put in eval mode for the call (its training flag is restored afterwards).
    tokenizer : transformers tokenizer
    items : DataFrame
        Columns ``prompt`` (str), ``choices`` (list of str), ``answer`` (int, 0-based); any other
        columns (e.g. ``benchmark``, ``task``) are kept.
    batch_size : int, default=16
        Sequences (item x choice) per forward pass; results do not depend on it.
    max_length : int, default=1024
        Most tokens fed to the model per sequence. Longer inputs lose their earliest context
        tokens (after BOS, which is kept); the item is flagged ``truncated``.
    device : torch device or str, optional
        Where to run; the model is moved there. Default: the model's current device.

    Returns
    -------
    DataFrame
        One row per item: the item's columns plus ``loglik`` (list of float, nats),
        ``n_tokens`` (list of int, continuation tokens), ``pred``, ``pred_norm`` (int),
        ``correct``, ``correct_norm`` (bool) and ``truncated`` (bool).

    Raises
    ------
    InvalidParameterError
        For an encoder or a model without LM head, bad ``batch_size``/``max_length``, or a
        continuation that does not fit in ``max_length``.
    """
    for name, value in (("batch_size", batch_size), ("max_length", max_length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise InvalidParameterError(f"{name} must be an integer >= 2, got {value!r}")
    _check_causal_lm(model)
    _validate_items(items)
    if device is not None:
        model.to(device)
    device = next(model.parameters()).device
    prefix = _prefix_ids(tokenizer)
    eos = getattr(tokenizer, "eos_token_id", None)
    pad_id = next((int(v) for v in (getattr(tokenizer, "pad_token_id", None), eos,
                                    prefix[0] if prefix else None) if v is not None), 0)

    seqs: list[list[int]] = []  # model inputs: (prefix + context + continuation)[:-1]
    conts: list[list[int]] = []
    owner: list[tuple[int, int]] = []
    truncated = np.zeros(len(items), dtype=bool)
    for i, (prompt, choices) in enumerate(zip(items["prompt"], items["choices"])):
        for j, choice in enumerate(choices):
            ctx, cont = encode_pair(tokenizer, str(prompt), " " + str(choice))
            ctx = prefix + ctx
            if not ctx:
                if eos is None:
                    raise InvalidParameterError(
                        f"item {i}: empty context and the tokenizer has neither BOS nor EOS "
                        "to condition the first choice token on; give a non-empty prompt")
                ctx = [int(eos)]
            if not cont:
                raise InvalidParameterError(
                    f"item {i}, choice {j} ({choice!r}) encodes to no tokens")
            full = ctx + cont
            excess = len(full) - 1 - max_length
            if excess > 0:
                # Drop the earliest context tokens after the BOS prefix; at least one context
                # token (the BOS itself when there is one) must remain to predict the first
                # continuation token.
                if excess > len(ctx) - 1:
                    raise InvalidParameterError(
                        f"item {i}, choice {j}: the continuation ({len(cont)} tokens) does not "
                        f"fit in max_length={max_length}; raise max_length")
                keep = len(prefix)
                full = full[:keep] + full[keep + excess:]
                truncated[i] = True
            seqs.append(full[:-1])
            conts.append(cont)
            owner.append((i, j))

    sums = np.zeros(len(seqs))
    was_training = model.training
    model.eval()
    try:
        # Longest first, so each batch pads to a similar width.
        order = sorted(range(len(seqs)), key=lambda k: (-len(seqs[k]), k))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                sums[idx] = _score_batch(model, [seqs[k] for k in idx], [conts[k] for k in idx],
                                         pad_id=pad_id, device=device)
    finally:
        model.train(was_training)

    out = items.copy()
    logliks: list[list[float]] = [[] for _ in range(len(items))]
    ntoks: list[list[int]] = [[] for _ in range(len(items))]
    for k, (i, _j) in enumerate(owner):
        logliks[i].append(float(sums[k]))
        ntoks[i].append(len(conts[k]))
    pred, pred_norm = [], []
    for i, choices in enumerate(items["choices"]):
        ll = np.asarray(logliks[i])
        nbytes = np.array([max(1, len(str(c).encode("utf-8"))) for c in choices], dtype=float)
        pred.append(int(np.argmax(ll)))
        pred_norm.append(int(np.argmax(ll / nbytes)))
    answer = items["answer"].astype(int).to_numpy()
    out["loglik"] = logliks
    out["n_tokens"] = ntoks
    out["pred"] = pred
    out["pred_norm"] = pred_norm
    out["correct"] = np.asarray(pred) == answer
    out["correct_norm"] = np.asarray(pred_norm) == answer
    out["truncated"] = truncated
    return out


def _score_batch(model: Any, seqs: list[list[int]], conts: list[list[int]], *, pad_id: int,
                 device: Any) -> np.ndarray:
    """Sum of continuation log-probs per sequence; the LM head runs on those positions only."""
    padded = pad_batch(seqs, pad_id=pad_id, padding_side="right", device=device)
    hidden = _body(model)(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"],
                          position_ids=padded["position_ids"], use_cache=False).last_hidden_state
    rows, cols, tgts = [], [], []
    for r, (s, cont) in enumerate(zip(seqs, conts)):
        # Input position p predicts token p + 1 of prefix+context+continuation; the last
        # len(cont) predictions are the continuation tokens.
        first = len(s) - len(cont)
        rows += [r] * len(cont)
        cols += range(first, len(s))
        tgts += cont
    h = hidden[torch.tensor(rows, device=device), torch.tensor(cols, device=device)]
    logits = _head_transform(model)(model.get_output_embeddings()(h).float())
    tgt = torch.tensor(tgts, device=device)
    lp = logits.gather(1, tgt.unsqueeze(1)).squeeze(1) - torch.logsumexp(logits, dim=-1)
    sums = torch.zeros(len(seqs), dtype=torch.float64, device=device)
    sums.index_add_(0, torch.tensor(rows, device=device), lp.double())
    return sums.cpu().numpy()


def benchmark_scores(scored: pd.DataFrame, *,
                     macro_benchmarks: Sequence[str] = MACRO_BENCHMARKS) -> pd.DataFrame:
    """Accuracy per (benchmark, task) and per benchmark.

    Parameters
    ----------
    scored : DataFrame
        Output of :func:`score_choices` with ``benchmark`` and ``task`` columns.
    macro_benchmarks : sequence of str
        Benchmarks whose ``task="all"`` row is the unweighted mean of the per-task rows (default
        BIG-bench Hard ``"bbh"`` and ``"bigbench"``); every other benchmark (e.g. ``"mmlu"``) gets
        the mean over all its items.

    Returns
    -------
    DataFrame
        Columns ``benchmark``, ``task``, ``n`` (items), ``accuracy``, ``acc_norm`` and ``chance``
        (mean of 1 / number of choices), all fractions in [0, 1], plus ``aggregation``
        (``"items"``, ``"tasks"`` for the macro ``all`` rows, ``"task"`` for per-task rows).
    """
    missing = [c for c in ("benchmark", "task", "correct", "correct_norm", "choices")
               if c not in scored.columns]
    if missing:
        raise DataValidationError([f"missing column(s) {missing}; pass score_choices() output "
                                   "with benchmark and task columns"], source="scored")
    frame = scored.assign(_chance=[1.0 / len(c) for c in scored["choices"]],
                          _acc=scored["correct"].astype(float),
                          _accn=scored["correct_norm"].astype(float))
    per_task = (frame.groupby(["benchmark", "task"], sort=True)
                .agg(n=("_acc", "size"), accuracy=("_acc", "mean"), acc_norm=("_accn", "mean"),
                     chance=("_chance", "mean")).reset_index())
    per_task["aggregation"] = "task"
    macro = {b.lower() for b in macro_benchmarks}
    rows = []
    for bench, group in per_task.groupby("benchmark", sort=True):
        if str(bench).lower() in macro:
            vals = group[["accuracy", "acc_norm", "chance"]].mean()
            how = "tasks"
        else:
            items = frame[frame["benchmark"] == bench]
            vals = items[["_acc", "_accn", "_chance"]].mean()
            vals.index = ["accuracy", "acc_norm", "chance"]
            how = "items"
        rows.append({"benchmark": bench, "task": "all", "n": int(group["n"].sum()),
                     "accuracy": float(vals["accuracy"]), "acc_norm": float(vals["acc_norm"]),
                     "chance": float(vals["chance"]), "aggregation": how})
    out = pd.concat([per_task, pd.DataFrame(rows)], ignore_index=True)
    return out.sort_values(["benchmark", "task"], kind="mergesort").reset_index(drop=True)
