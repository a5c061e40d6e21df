"""Fixtures for the trainer tests: a word-level tokenizer and tiny random models built locally."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")



@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Tiny models on a shared 2-core machine: intra-op threads only oversubscribe the cores
    (measured: one 16-step run took 29 s with the default threads and 1.8 s with one)."""

WORDS = [f"w{i}" for i in range(60)] + ["good", "bad", "user", "assistant"]


def make_tokenizer(*, with_pad: bool = False, chat_template: str | None = None):
    """A whitespace word-level tokenizer (no download): [UNK] [BOS] [EOS] (+[PAD]) + WORDS."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[UNK]", "[BOS]", "[EOS]"] + (["[PAD]"] if with_pad else [])
    vocab = {t: i for i, t in enumerate(specials + WORDS)}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    tk.post_processor = processors.TemplateProcessing(
        single="[BOS] $A", pair="[BOS] $A $B", special_tokens=[("[BOS]", vocab["[BOS]"])])
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="[UNK]", bos_token="[BOS]",
                                  eos_token="[EOS]", pad_token="[PAD]" if with_pad else None)
    if chat_template:
        tok.chat_template = chat_template
    return tok


def make_llama_dir(path, *, with_pad: bool = False, seed: int = 0, chat_template=None):
    from transformers import LlamaConfig, LlamaForSequenceClassification

    tok = make_tokenizer(with_pad=with_pad, chat_template=chat_template)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, num_labels=1,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = LlamaForSequenceClassification(cfg)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def make_bert_dir(path, *, seed: int = 0):
    from transformers import BertConfig, BertForSequenceClassification

    tok = make_tokenizer(with_pad=True)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                     num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=256,
                     num_labels=1, pad_token_id=tok.pad_token_id,
                     hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(seed)
    BertForSequenceClassification(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def synthetic_pairs(n: int, *, seed: int, shuffle_labels: bool = False,
                    subsets=None) -> pd.DataFrame:
    """Pairs with a learnable, pair-specific signal.

    Chosen and rejected share a random filler body (w40..w59) and differ in one word at the same
    place: chosen has a random "good" word (w0..w19), rejected a random "bad" word (w20..w39).
    With ``shuffle_labels`` half the pairs are swapped at random, so nothing generalises and
    held-out accuracy stays near 0.5.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        prompt = " ".join(rng.choice(WORDS[40:60], size=rng.integers(2, 6)))
        body = list(rng.choice(WORDS[40:60], size=rng.integers(3, 9)))
        a, b = rng.integers(0, 20), rng.integers(20, 40)
        k = int(rng.integers(0, len(body) + 1))
        chosen = " ".join(body[:k] + [WORDS[a]] + body[k:])
        rejected = " ".join(body[:k] + [WORDS[b]] + body[k:])
        if shuffle_labels and rng.random() < 0.5:
            chosen, rejected = rejected, chosen
        row = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
        if subsets is not None:
            row["subset"] = subsets[i % len(subsets)]
        rows.append(row)
    return pd.DataFrame(rows)


def regression_rows(n: int, seed: int) -> pd.DataFrame:
    """Helpfulness 4 with a good word (w0..w19), 0 with a bad one; verbosity = length / 4."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        body = list(rng.choice(WORDS[40:60], size=rng.integers(2, 8)))
        good = rng.random() < 0.5
        word = WORDS[rng.integers(0, 20)] if good else WORDS[rng.integers(20, 40)]
        rows.append({"prompt": "w41 w42", "response": " ".join(body + [word]),
                     "helpfulness": 4.0 if good else 0.0, "verbosity": len(body) / 4})
    return pd.DataFrame(rows)


def write_jsonl(frame: pd.DataFrame, path) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        for rec in frame.to_dict(orient="records"):
            fh.write(json.dumps(rec) + "\n")
    return str(path)


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory):
    return make_llama_dir(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory):
    return make_bert_dir(tmp_path_factory.mktemp("tiny-bert"))
