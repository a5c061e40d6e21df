"""The self-pretrained ladder: tokenizer, mixture sampling, reproducibility, saved models."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rmpredict.exceptions import DataValidationError, InvalidParameterError  # noqa: E402
from rmpredict.study._ladder import (  # noqa: E402
    DEFAULT_LADDER,
    PRETRAIN_DOMAINS,
    TINY_LADDER,
    LadderSpec,
    pretrain_ladder_model,
    train_tokenizer,
)

_VOCAB = {
    "books": "whale captain sea ship voyage harpoon deck storm sailor ocean",
    "code": "def return import class self print lambda yield None True",
    "definitions": "noun verb meaning sense synonym plural adjective usage term entry",
    "exam": "question answer choice correct true false option select best which",
    "technical": "kernel buffer packet protocol socket driver register cache thread port",
}


def _corpus(docs_per_domain: int = 4, words: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for domain in PRETRAIN_DOMAINS:
        vocab = _VOCAB[domain].split()
        for k in range(docs_per_domain):
            text = " ".join(rng.choice(vocab, size=words))
            rows.append({"id": f"{domain}-{k:02d}", "domain": domain, "text": text})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def corpus():
    return _corpus()


@pytest.fixture(scope="module")
def tokenizer(corpus):
    return train_tokenizer(corpus["text"], vocab_size=300)


@pytest.fixture(scope="module")
def tiny_run(corpus, tokenizer, tmp_path_factory):
    out = tmp_path_factory.mktemp("ladder") / "tiny"
    summary = pretrain_ladder_model(TINY_LADDER[0], corpus, tokenizer, out, progress=False)
    return out, summary


def test_tokenizer_is_deterministic_and_has_specials(corpus, tokenizer):
    again = train_tokenizer(list(corpus["text"]), vocab_size=300)
    assert again.backend_tokenizer.to_str() == tokenizer.backend_tokenizer.to_str()
    assert tokenizer.get_vocab() == again.get_vocab()
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        assert getattr(tokenizer, name) is not None
    assert len({tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id}) == 3
    ids = tokenizer("whale captain")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == "whale captain"
    with pytest.raises(InvalidParameterError, match="vocab_size"):
        train_tokenizer(["a"], vocab_size=10)


@pytest.mark.parametrize(("mixture", "message"), [
    ({"books": 0.5, "code": 0.4}, "sum to 0.9"),
    ({"books": 0.5, "poetry": 0.5}, r"unknown domain\(s\) \['poetry'\]"),
    ({"books": 1.2, "code": -0.2}, r"mixture\['code'\] must be a finite non-negative"),
    ({}, "non-empty dict"),
])
def test_mixture_validation(mixture, message):
    with pytest.raises(InvalidParameterError, match=message):
        LadderSpec(name="bad", hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                   mixture=mixture, tokens=4096)


def test_spec_validation():
    with pytest.raises(InvalidParameterError, match="not divisible by num_heads"):
        LadderSpec(name="x", hidden_size=30, num_layers=1, num_heads=4, intermediate_size=32,
                   mixture={"books": 1.0})
    with pytest.raises(InvalidParameterError, match="less than one step"):
        LadderSpec(name="x", hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
                   mixture={"books": 1.0}, tokens=100)


def test_default_ladder_shape():
    assert len(DEFAULT_LADDER) == 6
    assert len({s.name for s in DEFAULT_LADDER}) == 6
    mixtures = {json.dumps(s.mixture, sort_keys=True) for s in DEFAULT_LADDER}
    assert len(mixtures) == 2
    assert all(2_000_000 <= s.tokens <= 4_000_000 for s in DEFAULT_LADDER)


def test_summary_and_tokens_follow_mixture(tiny_run):
    from scipy.stats import chisquare

    out, summary = tiny_run
    spec = TINY_LADDER[0]
    on_disk = json.loads((out / "ladder.json").read_text())
    assert on_disk["held_out_loss"] == summary["held_out_loss"]
    assert summary["steps"] == spec.tokens // (spec.seq_len * spec.batch_size)
    counts = summary["tokens_per_domain"]
    assert sum(counts.values()) == summary["steps"] * spec.seq_len * spec.batch_size
    domains = sorted(counts)
    seqs = np.array([counts[d] // spec.seq_len for d in domains])
    expected = np.array([spec.mixture[d] for d in domains]) * seqs.sum()
    assert chisquare(seqs, expected).pvalue > 1e-3
    # the model learnt something: train loss well below uniform guessing over the vocabulary
    assert summary["final_train_loss"] < math.log(summary["vocab_size"]) - 1.0
    assert summary["n_params"] > summary["n_params_non_embedding"] > 0
    assert set(summary["held_out_loss"]) == set(spec.mixture)
    # nothing left behind by the atomic save
    assert [p.name for p in out.parent.iterdir()] == ["tiny"]


def _stream(corpus, tokenizer, domain):
    docs = corpus[corpus["domain"] == domain].sort_values("id")
    ids = []
    for text in docs["text"]:
        ids += [tokenizer.bos_token_id] + tokenizer(text, add_special_tokens=False)[
            "input_ids"] + [tokenizer.eos_token_id]
    return ids


def test_held_out_loss_recomputed_from_saved_model(tiny_run, corpus, tokenizer):
    from transformers import AutoModelForCausalLM

    out, summary = tiny_run
    spec = TINY_LADDER[0]
    model = AutoModelForCausalLM.from_pretrained(out).eval()
    assert model.config.tie_word_embeddings
    n_hold = summary["held_out_tokens_per_domain"]
    for domain, loss in summary["held_out_loss"].items():
        stream = _stream(corpus, tokenizer, domain)
        assert summary["stream_tokens_per_domain"][domain] == len(stream) - n_hold
        seqs = torch.tensor(stream[-n_hold:]).reshape(-1, spec.seq_len)
        with torch.no_grad():
            logp = model(seqs).logits.double().log_softmax(-1)
        ref = -logp[:, :-1].gather(-1, seqs[:, 1:, None]).mean().item()
        assert loss == pytest.approx(ref, rel=1e-4)


def test_saved_model_loads_as_reward_model(tiny_run):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out, _ = tiny_run
    tok = AutoTokenizer.from_pretrained(out)
    clf = AutoModelForSequenceClassification.from_pretrained(out, num_labels=1).eval()
    batch = tok(["whale captain sea", "def return"], return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = clf(**batch).logits
    assert logits.shape == (2, 1) and torch.isfinite(logits).all()
    assert tok.bos_token == "<s>" and tok.pad_token == "<pad>"


def test_reproducible(tiny_run, corpus, tokenizer, tmp_path):
    from safetensors.torch import load_file

    out, summary = tiny_run
    again = pretrain_ladder_model(TINY_LADDER[0], corpus, tokenizer, tmp_path / "again",
                                  progress=False)
    for key in ("final_train_loss", "last_step_loss", "held_out_loss", "tokens_per_domain"):
        assert again[key] == summary[key]
    a = load_file(out / "model.safetensors")
    b = load_file(tmp_path / "again" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    other = pretrain_ladder_model(dataclasses.replace(TINY_LADDER[0], seed=1), corpus, tokenizer,
                                  tmp_path / "other", progress=False)
    assert other["final_train_loss"] != summary["final_train_loss"]


def test_output_dir_and_corpus_errors(corpus, tokenizer, tmp_path):
    spec = TINY_LADDER[0]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="not empty; pass overwrite=True"):
        pretrain_ladder_model(spec, corpus, tokenizer, busy, progress=False)
    assert (busy / "keep.txt").exists()
    with pytest.raises(DataValidationError, match=r"domain\(s\) \['books'\]"):
        pretrain_ladder_model(spec, corpus[corpus["domain"] != "books"], tokenizer,
                              tmp_path / "a", progress=False)
    with pytest.raises(DataValidationError, match="fewer than held-out"):
        pretrain_ladder_model(spec, _corpus(docs_per_domain=1, words=20), tokenizer,
                              tmp_path / "b", progress=False)
    with pytest.raises(DataValidationError, match="missing column"):
        pretrain_ladder_model(spec, corpus.drop(columns="id"), tokenizer, tmp_path / "c",
                              progress=False)


def test_overwrite_replaces_folder(corpus, tokenizer, tmp_path):
    small = dataclasses.replace(TINY_LADDER[0], tokens=TINY_LADDER[0].seq_len * 8 * 4)
    target = tmp_path / "rung"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    pretrain_ladder_model(small, corpus, tokenizer, target, overwrite=True, progress=False)
    assert not (target / "stale.txt").exists()
    assert (target / "ladder.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rung"]


@pytest.mark.slow
def test_tiny_rung_on_bundled_corpus(tmp_path):
    sources = pytest.importorskip("rmpredict.study._sources")
    corpus = sources.load_pretrain_corpus()
    tok = train_tokenizer(corpus.sort_values("id")["text"], vocab_size=1024)
    summary = pretrain_ladder_model(TINY_LADDER[0], corpus, tok, tmp_path / "tiny",
                                    progress=False)
    assert summary["final_train_loss"] < math.log(len(tok))
    assert all(math.isfinite(v) for v in summary["held_out_loss"].values())
