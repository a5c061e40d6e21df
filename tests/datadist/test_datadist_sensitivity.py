"""Known-membership check: fine-tuning on one probe domain raises that domain's presence.

A tiny random-init Llama with a byte-level BPE tokenizer trained on the probe corpus is copied
and fine-tuned briefly on one domain (``code``) or another (``books``). Presence scores are
measured on held-out documents of every domain. The relative presence of a domain is its score
minus the mean score of the other domains; its change from the base model must be clearly
positive for the domain trained on and clearly smaller for the model trained on the other
domain.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _datadist_helpers import make_model, make_tokenizer

from rmpredict.datadist import ScoreConfig, read_corpus, score_texts

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'rmpredict[train]'")

MARGIN = 0.2  # nats/token; see the measured values printed by the test


def _fine_tune(model, tokenizer, texts, *, steps: int, seq: int, batch: int, seed: int):
    torch.manual_seed(seed)
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    stream = torch.tensor([tok for doc in ids for tok in [tokenizer.bos_token_id, *doc]])
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - seq, (batch,), generator=gen)
        x = torch.stack([stream[s:s + seq] for s in starts])
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _relative_gain(run, base):
    """Change from the base model of (domain score - mean of the other domains' scores)."""
    def rel(s):
        return {d: s[d] - np.mean([v for k, v in s.items() if k != d]) for d in s}
    r, b = rel(run), rel(base)
    return {d: r[d] - b[d] for d in r}


def _experiment(*, n_train: int, n_eval: int, steps: int, max_tokens: int, seq: int = 128):
    docs = read_corpus("probe").documents
    by = {d: g.reset_index(drop=True) for d, g in docs.groupby("domain")}
    train = {d: g["text"].iloc[:n_train].tolist() for d, g in by.items()}
    evals = {d: g["text"].iloc[-n_eval:].tolist() for d, g in by.items()}
    tok = make_tokenizer([t for ts in train.values() for t in ts[:10]], vocab_size=400)
    base = make_model(len(tok), seed=1, hidden=64, layers=2)
    cfg = ScoreConfig(max_tokens=max_tokens, batch_tokens=4096)

    def presence(model):
        return {d: float(score_texts(model, tok, ts, config=cfg)["mean_logprob"].mean())
                for d, ts in evals.items()}

    base_s = presence(base)
    gains = {}
    for domain in ("code", "books"):
        tuned = _fine_tune(copy.deepcopy(base), tok, train[domain], steps=steps, seq=seq,
                           batch=8, seed=2)
        gains[domain] = _relative_gain(presence(tuned), base_s)
    return gains


def _check(gains):
    print({k: {d: round(v, 3) for d, v in g.items()} for k, g in gains.items()})
    assert gains["code"]["code"] > MARGIN
    assert gains["books"]["books"] > MARGIN
    # The opposite pattern for the model tuned on the other domain.
    assert gains["books"]["code"] < gains["code"]["code"] - MARGIN
    assert gains["code"]["books"] < gains["books"]["books"] - MARGIN


def test_presence_rises_for_the_fine_tuned_domain_small():
    _check(_experiment(n_train=20, n_eval=10, steps=30, max_tokens=128))


@pytest.mark.slow
def test_presence_rises_for_the_fine_tuned_domain_larger():
    _check(_experiment(n_train=100, n_eval=40, steps=200, max_tokens=512))
