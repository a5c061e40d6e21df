"""A ladder of tiny self-pretrained language models with known pre-training mixtures.

Each rung is a small Llama (tied embeddings, RoPE) pre-trained from scratch on CPU on the
study's pre-training corpus, with the domain of every training sequence drawn from a known
mixture. The rungs therefore have *known* data distributions, which is what the calibration study
needs to check the presence-score predictor against ground truth.

Data pipeline (all seeded): each domain's documents, sorted by ``id``, are tokenised as
``<s> text </s>`` and concatenated into one token stream. The last ``held_out_sequences x
seq_len`` tokens of every stream are held out (never trained on) and give the per-domain
held-out loss. Each training sequence picks its domain ~ Categorical(mixture) and a uniform
random offset in that domain's training part, with ``numpy.random.default_rng(seed)``; the
model initialisation uses ``torch.manual_seed(seed)``. On the same machine and thread count the
same spec, corpus and seed give the same weights.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rmpredict._io import write_json_atomic
from rmpredict._provenance import hash_frame, library_versions
from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["LadderSpec", "PRETRAIN_DOMAINS", "DEFAULT_LADDER", "TINY_LADDER",
           "train_tokenizer", "pretrain_ladder_model"]

#: Domains of the study's pre-training corpus (the probe corpus domains).
PRETRAIN_DOMAINS = ("books", "code", "definitions", "exam", "technical")

SPECIAL_TOKENS = {"pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>",
                  "unk_token": "<unk>"}


@dataclass(frozen=True)
class LadderSpec:
    """One rung of the ladder: model shape, pre-training mixture and budget.

    Parameters
    ----------
    name : str
        Identifier (used as the output folder name by callers).
    hidden_size, num_layers, num_heads, intermediate_size : int
        Llama shape; ``hidden_size`` must be divisible by ``num_heads``.
    mixture : dict of str to float
        Probability of each domain per training sequence; non-negative, sums to 1, domains
        from :data:`PRETRAIN_DOMAINS`.
    tokens : int
        Training tokens (sequences x ``seq_len``); steps = tokens // (seq_len x batch_size).
    seq_len : int, default=128
        Tokens per training sequence.
    batch_size : int, default=16
        Sequences per optimiser step.
    learning_rate : float, default=3e-3
        Peak AdamW learning rate; linear warm-up over 5% of the steps (at least 1), then cosine
        decay to 10% of the peak.
    seed : int, default=0
        Seeds the initialisation and the sequence draws.
    """

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    mixture: dict[str, float] = field(default_factory=dict)
    tokens: int = 1_000_000
    seq_len: int = 128
    batch_size: int = 16
    learning_rate: float = 3e-3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "tokens",
                     "seq_len", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"LadderSpec {self.name!r}: {name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise InvalidParameterError(
                f"LadderSpec {self.name!r}: hidden_size={self.hidden_size} is not divisible by "
                f"num_heads={self.num_heads}")
        if not (isinstance(self.learning_rate, int | float) and self.learning_rate > 0):
            raise InvalidParameterError(
                f"LadderSpec {self.name!r}: learning_rate must be > 0, got {self.learning_rate!r}")
        if self.tokens < self.seq_len * self.batch_size:
            raise InvalidParameterError(
                f"LadderSpec {self.name!r}: tokens={self.tokens} is less than one step "
                f"(seq_len x batch_size = {self.seq_len * self.batch_size}); raise tokens")
        _validate_mixture(self.mixture, self.name)

    @property
    def steps(self) -> int:
        """Optimiser steps: ``tokens // (seq_len * batch_size)``."""
        return self.tokens // (self.seq_len * self.batch_size)


def _validate_mixture(mixture: Any, name: str) -> None:
    where = f"LadderSpec {name!r}: mixture"
    if not isinstance(mixture, dict) or not mixture:
        raise InvalidParameterError(f"{where} must be a non-empty dict domain -> weight, got "
                                    f"{mixture!r}")
    unknown = sorted(set(mixture) - set(PRETRAIN_DOMAINS))
    if unknown:
        raise InvalidParameterError(
            f"{where} has unknown domain(s) {unknown}; use domains from {list(PRETRAIN_DOMAINS)}")
    for domain, weight in mixture.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) \
                or not math.isfinite(weight) or weight < 0:
            raise InvalidParameterError(
                f"{where}[{domain!r}] must be a finite non-negative weight, got {weight!r}")
    total = float(sum(mixture.values()))
    if abs(total - 1.0) > 1e-6:
        raise InvalidParameterError(
            f"{where} weights sum to {total:.6g}, not 1; divide each weight by {total:.6g}")


def _mix(**weights: float) -> dict[str, float]:
    return dict(weights)


PROSE = _mix(books=0.45, definitions=0.30, technical=0.15, code=0.05, exam=0.05)
CODE_EXAM = _mix(code=0.45, exam=0.30, technical=0.15, books=0.05, definitions=0.05)

# Sizes and budget from step times measured on the 2-core study machine (batch 16 x 128
# tokens, vocabulary 4096, torch with 2 threads): 0.08 s (h64-l2), 0.19 s (h128-l4) and 0.44 s
# (h256-l4) per step. At a common budget of 2.4M tokens (1171 steps) the largest rung, h128-l4,
# pre-trains in about 3.6 minutes; h256-l4 would need ~8.5 minutes. Head size 32 throughout.
_TOKENS = 2_400_000
_SIZES = (("h64-l2", 64, 2, 2, 256),
          ("h96-l3", 96, 3, 3, 384),
          ("h128-l4", 128, 4, 4, 512))

#: The real CPU run: 3 sizes x 2 mixtures ("prose", "code-exam").
DEFAULT_LADDER: list[LadderSpec] = [
    LadderSpec(name=f"{size}-{mix_name}", hidden_size=h, num_layers=n_layers, num_heads=heads,
               intermediate_size=inter, mixture=dict(mix), tokens=_TOKENS, seed=seed)
    for mix_name, mix, seed in (("prose", PROSE, 1), ("code-exam", CODE_EXAM, 2))
    for size, h, n_layers, heads, inter in _SIZES
]

#: A rung small enough for tests (seconds on CPU).
TINY_LADDER: list[LadderSpec] = [
    LadderSpec(name=f"tiny-{mix_name}", hidden_size=16, num_layers=1, num_heads=2,
               intermediate_size=32, mixture=dict(mix), tokens=20_480, seq_len=32,
               batch_size=8, seed=seed)
    for mix_name, mix, seed in (("prose", PROSE, 0), ("code-exam", CODE_EXAM, 1))
]


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 4096,
                    min_frequency: int = 2) -> Any:
    """Train a byte-level BPE tokenizer (deterministic: same texts -> same vocabulary).

    Parameters
    ----------
    texts : iterable of str
        Training texts (order matters only through ties; pass them in a fixed order).
    vocab_size : int, default=4096
        Including the 256 byte symbols and the 4 special tokens.
    min_frequency : int, default=2
        Pairs seen fewer times are not merged.

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        With ``<pad>``, ``<s>`` (BOS), ``</s>`` (EOS) and ``<unk>``; ``add_special_tokens=True``
        prepends ``<s>`` like Llama tokenizers. Save it with ``save_pretrained``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 300:
        raise InvalidParameterError(f"vocab_size must be an integer >= 300, got {vocab_size!r}")
    specials = [SPECIAL_TOKENS[k] for k in ("pad_token", "bos_token", "eos_token", "unk_token")]
    tok = Tokenizer(models.BPE(unk_token=SPECIAL_TOKENS["unk_token"]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    texts = [str(t) for t in texts]
    if not texts:
        raise InvalidParameterError("texts is empty; pass the pre-training documents")
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    bos = SPECIAL_TOKENS["bos_token"]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
        special_tokens=[(bos, tok.token_to_id(bos))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, **SPECIAL_TOKENS)


def _domain_streams(spec: LadderSpec, corpus: pd.DataFrame, tokenizer: Any
                    ) -> dict[str, np.ndarray]:
    missing = [c for c in ("id", "domain", "text") if c not in corpus.columns]
    if missing:
        raise DataValidationError([f"missing column(s) {missing}; the corpus needs id, domain, "
                                   "text"], source="corpus")
    present = set(corpus["domain"])
    absent = sorted(d for d, w in spec.mixture.items() if w > 0 and d not in present)
    if absent:
        raise DataValidationError(
            [f"mixture of {spec.name!r} puts weight on domain(s) {absent} that the corpus does "
             f"not have (corpus domains: {sorted(present)})"], source="corpus")
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    streams = {}
    for domain in sorted(d for d, w in spec.mixture.items() if w > 0):
        docs = corpus[corpus["domain"] == domain].sort_values("id", kind="mergesort")
        ids: list[int] = []
        for text in docs["text"]:
            ids += [bos] + list(tokenizer(str(text), add_special_tokens=False)["input_ids"]) \
                + [eos]
        streams[domain] = np.asarray(ids, dtype=np.int64)
    return streams


def _build_model(spec: LadderSpec, tokenizer: Any) -> Any:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size, num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads, num_key_value_heads=spec.num_heads,
        max_position_embeddings=max(spec.seq_len, 2048), tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, attn_implementation="sdpa")
    torch.manual_seed(spec.seed)
    return LlamaForCausalLM(cfg)


def _lr_factor(step: int, steps: int) -> float:
    """Linear warm-up over 5% of the steps, then cosine decay to 10% of the peak."""
    warmup = max(1, steps // 20)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))


def pretrain_ladder_model(spec: LadderSpec, corpus: pd.DataFrame, tokenizer: Any,
                          output_dir: str | os.PathLike[str], *, device: Any = None,
                          held_out_sequences: int = 4, overwrite: bool = False,
                          progress: bool | None = None) -> dict[str, Any]:
    """Pre-train one rung from scratch and save it (model, tokenizer, ``ladder.json``).

    Parameters
    ----------
    spec : LadderSpec
    corpus : DataFrame
        Columns ``id``, ``domain``, ``text`` (e.g. ``load_pretrain_corpus()``).
    tokenizer : transformers tokenizer
        With BOS, EOS and pad tokens (:func:`train_tokenizer`).
    output_dir : path
        Written atomically: built in a temporary sibling folder and renamed into place.
    device : torch device or str, optional
        Default CPU.
    held_out_sequences : int, default=4
        Sequences of ``seq_len`` tokens per domain, from the end of each domain stream,
        excluded from training and used for the held-out loss.
    overwrite : bool, default=False
        Replace an existing ``output_dir``; otherwise an existing non-empty one is an error.
    progress : bool, optional
        Print a line every 10% of the steps to stderr (default: when stderr is a terminal).

    Returns
    -------
    dict
        The summary also written to ``output_dir/ladder.json``: spec, steps, tokens per domain
        (actual counts), final train loss (mean of the last 5% of steps) and last-step loss,
        per-domain held-out loss (nats per token), ``n_params`` / ``n_params_non_embedding``,
        wall time (s), library versions, seed and corpus hash.

    Notes
    -----
    Uses torch's current thread count (recorded as ``torch_threads``); weights are reproducible
    for a fixed count. ``stream_tokens_per_domain`` over ``tokens_per_domain`` gives the epochs
    each domain was repeated.
    """
    from rmpredict._progress import progress_enabled

    if not isinstance(spec, LadderSpec):
        raise InvalidParameterError(f"spec must be a LadderSpec, got {type(spec).__name__}")
    if isinstance(held_out_sequences, bool) or not isinstance(held_out_sequences, int) \
            or held_out_sequences < 1:
        raise InvalidParameterError(
            f"held_out_sequences must be a positive integer, got {held_out_sequences!r}")
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        if getattr(tokenizer, name, None) is None:
            raise InvalidParameterError(
                f"tokenizer has no {name[:-3]}; use train_tokenizer() or set bos/eos/pad tokens")
    out = Path(output_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InvalidParameterError(
            f"output_dir {str(out)!r} exists and is not empty; pass overwrite=True or another "
            "folder")
    show = progress_enabled(progress)
    device = torch.device(device or "cpu")
    start_time = time.perf_counter()

    streams = _domain_streams(spec, corpus, tokenizer)
    n_hold = held_out_sequences * spec.seq_len
    train_part, held_out = {}, {}
    for domain, ids in streams.items():
        if len(ids) < n_hold + spec.seq_len:
            raise DataValidationError(
                [f"domain {domain!r} has {len(ids)} tokens, fewer than held-out "
                 f"({n_hold}) + one training sequence ({spec.seq_len}); add documents or lower "
                 "held_out_sequences"], source="corpus")
        train_part[domain] = ids[:-n_hold]
        held_out[domain] = ids[-n_hold:].reshape(held_out_sequences, spec.seq_len)

    domains = sorted(streams)
    probs = np.array([spec.mixture[d] for d in domains], dtype=float)
    probs /= probs.sum()
    rng = np.random.default_rng(spec.seed)
    model = _build_model(spec, tokenizer).to(device)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec.learning_rate, betas=(0.9, 0.95), eps=1e-8)
    steps = spec.steps
    tokens_seen = dict.fromkeys(domains, 0)
    losses: list[float] = []
    for step in range(steps):
        picks = rng.choice(len(domains), size=spec.batch_size, p=probs)
        batch = np.empty((spec.batch_size, spec.seq_len), dtype=np.int64)
        for r, d in enumerate(picks):
            stream = train_part[domains[d]]
            offset = int(rng.integers(0, len(stream) - spec.seq_len + 1))
            batch[r] = stream[offset:offset + spec.seq_len]
            tokens_seen[domains[d]] += spec.seq_len
        for group in opt.param_groups:
            group["lr"] = spec.learning_rate * _lr_factor(step, steps)
        ids = torch.from_numpy(batch).to(device)
        loss = model(input_ids=ids, labels=ids, use_cache=False).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if show and (step + 1) % max(1, steps // 10) == 0:
            sys.stderr.write(f"[{spec.name}] step {step + 1}/{steps} "
                             f"loss {losses[-1]:.4f}\n")

    model.eval()
    held_loss = {}
    with torch.inference_mode():
        for domain in domains:
            ids = torch.from_numpy(held_out[domain]).to(device)
            held_loss[domain] = float(model(input_ids=ids, labels=ids, use_cache=False).loss)
    n_params = sum(p.numel() for p in model.parameters())  # tied head counted once
    n_embed = model.get_input_embeddings().weight.numel()
    tail = max(1, steps // 20)
    summary = {
        "spec": asdict(spec),
        "steps": steps,
        "tokens_per_step": spec.seq_len * spec.batch_size,
        "tokens_seen": int(sum(tokens_seen.values())),
        "tokens_per_domain": {d: int(v) for d, v in tokens_seen.items()},
        "stream_tokens_per_domain": {d: int(len(v)) for d, v in train_part.items()},
        "final_train_loss": float(np.mean(losses[-tail:])),
        "last_step_loss": losses[-1],
        "held_out_loss": held_loss,
        "held_out_tokens_per_domain": n_hold,
        "n_params": int(n_params),
        "n_params_non_embedding": int(n_params - n_embed),
        "vocab_size": len(tokenizer),
        "wall_time_s": round(time.perf_counter() - start_time, 3),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "seed": spec.seed,
        "corpus_hash": hash_frame(corpus[["id", "domain", "text"]]),
        "versions": library_versions(("numpy", "pandas", "torch", "transformers", "tokenizers")),
    }
    _save_atomically(model, tokenizer, summary, out, overwrite=overwrite)
    return summary


def _save_atomically(model: Any, tokenizer: Any, summary: dict[str, Any], out: Path, *,
                     overwrite: bool) -> None:
    """Write into a temporary sibling folder, then rename it onto ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json_atomic(tmp / "ladder.json", summary)
        if out.exists():
            if not overwrite and any(out.iterdir()):
                raise InvalidParameterError(f"output_dir {str(out)!r} appeared during training")
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
