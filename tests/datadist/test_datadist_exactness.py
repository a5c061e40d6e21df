"""Presence scores equal a direct, unbatched transformers computation (float32, 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest

from rmpredict.datadist import ScoreConfig, score_texts
from rmpredict.datadist._score import make_batches, tokenize_documents

torch = pytest.importorskip("torch", reason="needs the train extra: pip install 'rmpredict[train]'")

MAX_TOKENS = 24


def _texts(n: int = 9) -> list[str]:
    rng = np.random.default_rng(7)
    words = "the cat sat on mat dog log fox jumps over lazy def add return import whales".split()
    # 2 to 40 words: some documents are far shorter, some far longer than MAX_TOKENS tokens.
    return [" ".join(rng.choice(words, size=int(k))) for k in np.linspace(2, 40, n).astype(int)]


def _direct(model, tokenizer, text: str, max_tokens: int) -> float:
    """Independent reference: one document, no padding, full logits, log_softmax."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
    ids = [tokenizer.bos_token_id, *ids]
    x = torch.tensor([ids])
    with torch.no_grad():
        logits = model(input_ids=x).logits[0].double()
    lp = torch.log_softmax(logits[:-1], dim=-1).gather(1, x[0, 1:, None]).squeeze(1)
    return float(lp.mean())


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_tokens", [60, 10_000])
def test_scores_match_direct_computation(tiny_model, tiny_tokenizer, padding_side,
                                         batch_tokens):
    texts = _texts()
    cfg = ScoreConfig(max_tokens=MAX_TOKENS, batch_tokens=batch_tokens,
                      padding_side=padding_side, head_chunk=7)
    got = score_texts(tiny_model, tiny_tokenizer, texts, config=cfg)
    want = np.array([_direct(tiny_model, tiny_tokenizer, t, MAX_TOKENS) for t in texts])
    assert got["truncated"].any() and not got["truncated"].all()  # both kinds are covered
    np.testing.assert_allclose(got["mean_logprob"].to_numpy(), want, rtol=0, atol=1e-5)
    # BOS is prepended, so every kept document token is predicted.
    assert (got["n_predicted"] == got["n_tokens"]).all()
    assert got["n_tokens"].max() == MAX_TOKENS


def test_padding_sides_agree_with_multi_document_batches(tiny_model, tiny_tokenizer):
    texts = _texts(12)
    ids, _, _ = tokenize_documents(tiny_tokenizer, texts, max_tokens=MAX_TOKENS)
    batches = make_batches([len(s) for s in ids], batch_tokens=80)
    assert max(len(b) for b in batches) > 1  # padding actually happens
    right = score_texts(tiny_model, tiny_tokenizer, texts,
                        config=ScoreConfig(max_tokens=MAX_TOKENS, batch_tokens=80))
    left = score_texts(tiny_model, tiny_tokenizer, texts,
                       config=ScoreConfig(max_tokens=MAX_TOKENS, batch_tokens=80,
                                          padding_side="left"))
    np.testing.assert_allclose(left["mean_logprob"], right["mean_logprob"], atol=1e-5, rtol=0)


def test_make_batches_respects_budget_and_sorts():
    lengths = [5, 50, 20, 20, 3, 49]
    batches = make_batches(lengths, batch_tokens=100)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for b in batches:
        assert max(lengths[i] for i in b) * len(b) <= 100 or len(b) == 1
        assert [lengths[i] for i in b] == sorted((lengths[i] for i in b), reverse=True)
    assert batches[0] == [1, 5]  # 50 and 49 fill a 100-token budget


def test_no_bos_tokenizer_skips_first_token(tiny_model):
    from _datadist_helpers import SENTENCES, make_tokenizer

    tok = make_tokenizer(SENTENCES * 3, bos=False)
    got = score_texts(tiny_model, tok, ["the cat sat on the mat"],
                      config=ScoreConfig(max_tokens=MAX_TOKENS))
    assert int(got["n_predicted"][0]) == int(got["n_tokens"][0]) - 1


def test_bf16_close_to_float32(tiny_model, tiny_tokenizer):
    """bf16 path vs float32 on the same weights; the difference is reported, and small."""
    import copy

    texts = _texts()
    cfg = ScoreConfig(max_tokens=MAX_TOKENS, batch_tokens=200)
    f32 = score_texts(tiny_model, tiny_tokenizer, texts, config=cfg)["mean_logprob"].to_numpy()
    bf16_model = copy.deepcopy(tiny_model).to(torch.bfloat16)
    bf16 = score_texts(bf16_model, tiny_tokenizer, texts, config=cfg)["mean_logprob"].to_numpy()
    diff = np.abs(bf16 - f32)
    print(f"bf16 vs float32: max |diff| = {diff.max():.2e}, mean = {diff.mean():.2e} nats/token "
          f"(mean |score| {np.abs(f32).mean():.2f})")
    assert diff.max() < 0.05  # bf16 has ~3 significant digits; scores are ~5.6 nats
    assert diff.max() > 0  # it really ran in bf16
