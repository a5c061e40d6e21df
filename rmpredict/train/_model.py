"""Reward models: loading (directory, hub id, GGUF), pad token policy and the reward read-out.

The reward of a sequence is the head applied to the hidden state of its **last non-padding
token**, located from the attention mask or the packed segment lengths, never from
``pad_token_id`` (which breaks when pad == eos). Position ids are computed from the mask, so left
and right padding give the same scores; packed rows restart positions at every segment.
"""

from __future__ import annotations

import inspect
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rmpredict._padding import pad_batch  # noqa: F401 - re-exported for callers
from rmpredict.exceptions import InvalidParameterError, MissingDependencyError

__all__ = ["RewardModel", "LoadedModel", "load_reward_model", "pad_batch", "pack_batch",
           "DEDICATED_PAD_TOKEN"]

DEDICATED_PAD_TOKEN = "<|rm_pad|>"
_PACKABLE_ATTENTION = ("sdpa", "eager", "flex_attention", "flash_attention_2",
                       "flash_attention_3")
_SPARSE_ATTENTION = ("flex_attention", "flash_attention_2", "flash_attention_3")


def _is_encoder(config: Any) -> bool:
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    return config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and not getattr(
        config, "is_decoder", False)


class RewardModel(nn.Module):
    """A Hugging Face sequence-classification model read out at the last real token.

    Parameters
    ----------
    hf_model : transformers.PreTrainedModel
        An ``AutoModelForSequenceClassification`` model (``num_labels`` = 1 for Bradley-Terry,
        the number of attributes for regression).
    """

    def __init__(self, hf_model: nn.Module):
        super().__init__()
        self.hf = hf_model
        self.is_encoder = _is_encoder(hf_model.config)
        head = getattr(hf_model, "score", None)
        # Decoders: run the body and apply the head ourselves at the last real token. Encoders
        # (BERT-style) pool their first token ([CLS]) inside the model, which is already
        # padding-invariant once position ids are explicit.
        self._split = (not self.is_encoder) and isinstance(head, nn.Module)
        params = inspect.signature(hf_model.forward).parameters
        self._takes_positions = "position_ids" in params

    @property
    def config(self) -> Any:
        return self.hf.config

    @property
    def _no_split_modules(self) -> list[str] | None:
        # accelerate's FSDP transformer-based auto-wrap looks this up on the wrapped module to
        # shard the model layer by layer (e.g. LlamaDecoderLayer) rather than as one unit.
        return getattr(self.hf, "_no_split_modules", None)

    def supports_packing(self) -> bool:
        """Whether padding-free packing (position-id segments) gives exact per-segment results."""
        attn = getattr(self.hf.config, "_attn_implementation", None)
        return self._split and attn in _PACKABLE_ATTENTION

    def packing_pays(self) -> bool:
        """Whether packing is also cheap: varlen (flash) or block-sparse (flex) attention.

        With sdpa/eager a packed row attends through a dense block-diagonal mask, so attention
        costs grow with the square of the *packed* length; padded, length-bucketed batches are
        then usually faster (measured on CPU in benchmarks/bench_train_throughput.py).
        """
        attn = getattr(self.hf.config, "_attn_implementation", None)
        return self.supports_packing() and attn in _SPARSE_ATTENTION

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                position_ids: torch.Tensor, last_index: torch.Tensor,
                row_index: torch.Tensor) -> torch.Tensor:
        """Rewards, shape ``(n_sequences, num_labels)``.

        ``hidden[row_index[k], last_index[k]]`` is read out for sequence ``k``.
        """
        if self._split:
            out = self.hf.base_model(input_ids=input_ids, attention_mask=attention_mask,
                                     position_ids=position_ids, use_cache=False)
            hidden = out.last_hidden_state[row_index, last_index]
            return self.hf.score(hidden).float()
        positions = {"position_ids": position_ids} if self._takes_positions else {}
        return self.hf(input_ids=input_ids, attention_mask=attention_mask,
                       **positions).logits.float()


def pack_batch(seqs: list[list[int]], *, device: torch.device | str = "cpu"
               ) -> dict[str, Any]:
    """Pack sequences into a single row without padding; positions restart at each segment.

    With ``attention_mask=None``, transformers derives a block-diagonal (per-segment causal)
    mask from the position-id resets (sdpa/eager) or uses varlen kernels (flash attention).
    """
    ids = torch.tensor([token for seq in seqs for token in seq], dtype=torch.long)[None]
    positions = torch.tensor([position for seq in seqs for position in range(len(seq))],
                             dtype=torch.long)[None]
    ends = torch.tensor([len(seq) for seq in seqs]).cumsum(0) - 1
    return {"input_ids": ids.to(device), "attention_mask": None,
            "position_ids": positions.to(device), "last_index": ends.to(device),
            "row_index": torch.zeros(len(seqs), dtype=torch.long, device=device)}


@dataclass
class LoadedModel:
    """A reward model, its tokenizer and what was decided while loading (for the record)."""

    model: RewardModel
    tokenizer: Any
    info: dict[str, Any] = field(default_factory=dict)


def _require_train() -> None:
    try:
        import transformers  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            'training needs the train extra: pip install "rmpredict[train]"') from exc


def load_gguf_causal_lm(path: Path) -> tuple[Any, Any]:
    """A GGUF file as a dequantised float causal LM that can be saved, and its tokenizer.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model, so the weights are moved to
    a fresh model built from the config (``quantization_config`` removed).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    causal = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
    config = causal.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config)
    fresh.load_state_dict(causal.state_dict())
    return fresh, tokenizer


def _load_gguf(path: Path, **load_kw: Any) -> tuple[Any, Any, str]:
    """GGUF -> dequantised float model -> re-saved -> sequence classification (only the head
    is new)."""
    from transformers import AutoModelForSequenceClassification

    from rmpredict._provenance import sha256_file

    fresh, tokenizer = load_gguf_causal_lm(path)
    with tempfile.TemporaryDirectory() as tmp:
        fresh.save_pretrained(tmp)
        model = AutoModelForSequenceClassification.from_pretrained(tmp, **load_kw)
    return model, tokenizer, sha256_file(path)


def load_reward_model(
    name_or_path: str | os.PathLike[str],
    *,
    num_labels: int | None = 1,
    revision: str | None = None,
    gguf_file: str | None = None,
    attn_implementation: str | None = "sdpa",
    torch_dtype: torch.dtype | None = None,
    seed: int = 0,
) -> LoadedModel:
    """Load a base model (or a trained reward model) for reward modelling.

    Parameters
    ----------
    name_or_path : str or path
        Local directory, Hugging Face hub id, or a local ``.gguf`` file.
    num_labels : int or None, default=1
        Outputs of the head (1 for Bradley-Terry; attributes for regression). ``None`` keeps
        the model's own (for scoring trained reward models).
    revision : str, optional
        Hub revision, recorded.
    gguf_file : str, optional
        GGUF file inside the directory ``name_or_path``.
    attn_implementation : str, optional
        ``"sdpa"``, ``"eager"`` or ``"flash_attention_2"``; recorded.
    seed : int, default=0
        Seeds the initialisation of a new head (and of a new pad embedding).

    Notes
    -----
    Pad token: when the tokenizer has none, a dedicated ``<|rm_pad|>`` token is added and the
    embeddings are resized, instead of reusing EOS. Rewards never depend on the pad id (the
    read-out position comes from the attention mask), so an existing pad == eos is kept but
    recorded.
    """
    _require_train()
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    path = Path(name_or_path)
    load_kw: dict[str, Any] = {}
    if attn_implementation:
        load_kw["attn_implementation"] = attn_implementation
    if torch_dtype is not None:
        load_kw["dtype"] = torch_dtype
    if num_labels is not None:
        # A new head of another width (e.g. regression attributes) replaces the saved one.
        load_kw.update(num_labels=num_labels, ignore_mismatched_sizes=True)
    info: dict[str, Any] = {"name_or_path": str(name_or_path), "revision": revision}
    if gguf_file or path.suffix.lower() == ".gguf":
        gguf_path = path / gguf_file if gguf_file else path
        if not gguf_path.is_file():
            raise InvalidParameterError(
                f"GGUF file not found: {str(gguf_path)!r}; check the path")
        model, tokenizer, digest = _load_gguf(gguf_path, **load_kw)
        info.update(source="gguf", file_sha256=digest)
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(name_or_path), revision=revision)
            model = AutoModelForSequenceClassification.from_pretrained(
                str(name_or_path), revision=revision, **load_kw)
        except OSError as exc:
            raise InvalidParameterError(
                f"cannot load model {str(name_or_path)!r}: {str(exc).splitlines()[0]}; give a "
                "local directory, a .gguf file or a hub id (with network access)") from exc
        info["source"] = "local" if path.exists() else "hub"
        commit = getattr(model.config, "_commit_hash", None)
        if commit:
            info["commit"] = commit
    pad = {"pad_token": tokenizer.pad_token, "added": False,
           "pad_equals_eos": tokenizer.pad_token is not None
           and tokenizer.pad_token == tokenizer.eos_token}
    if tokenizer.pad_token is None:
        tokenizer.add_special_tokens({"pad_token": DEDICATED_PAD_TOKEN})
        model.resize_token_embeddings(len(tokenizer))
        pad.update(pad_token=DEDICATED_PAD_TOKEN, added=True)
    model.config.pad_token_id = tokenizer.pad_token_id
    info["pad"] = pad
    info["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
    info["architecture"] = type(model).__name__
    info["is_encoder"] = _is_encoder(model.config)
    info["n_params"] = int(sum(param.numel() for param in model.parameters()))
    return LoadedModel(RewardModel(model), tokenizer, info)
