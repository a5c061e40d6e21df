"""Helpers shared by the datadist tests: tiny local tokenizers, models and corpora."""

from __future__ import annotations

import json

SENTENCES = [
    "the cat sat on the mat and the dog sat on the log",
    "a quick brown fox jumps over the lazy dog",
    "def add(a, b): return a + b",
    "import numpy as np; x = np.zeros(3)",
    "whales swim in the deep blue sea far from the shore",
    "the answer is A because the question asks for the smallest value",
]


def make_tokenizer(texts, *, vocab_size: int = 300, bos: bool = True):
    """A byte-level BPE tokenizer trained on ``texts``, wrapped for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    kwargs = {"pad_token": "<pad>", "eos_token": "</s>"}
    if bos:
        kwargs["bos_token"] = "<s>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kwargs)


def make_model(vocab_size: int, *, seed: int = 0, hidden: int = 32, layers: int = 2):
    """A random-init LlamaForCausalLM from a local config (float32, eval mode)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=False,
                      attn_implementation="eager")
    return LlamaForCausalLM(cfg).eval()


def write_corpus(path, records, *, raw: bytes | None = None):
    """Write records as JSON Lines (or raw bytes) and return the path."""
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
