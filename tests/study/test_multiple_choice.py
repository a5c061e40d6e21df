"""Multiple-choice log-likelihood scoring against direct transformers computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rmpredict.exceptions import DataValidationError, InvalidParameterError  # noqa: E402
from rmpredict.study._multiple_choice import (  # noqa: E402
    benchmark_scores,
    encode_pair,
    score_choices,
)

TEXTS = [
    "The following is a multiple choice question about astronomy. Which planet is largest?",
    "Answer: Jupiter is the largest planet in the solar system and Mars is red",
    "the cat sat on the mat and the dog sat on the log, hello world hello world",
    "def add(a, b): return a + b  # a small function that adds two numbers",
    "Question: what is two plus two? Answer: four. Question: what is one plus one? two",
]


def _tokenizer(*, bos: bool = True):
    """A byte-level BPE tokenizer trained here (independent of the ladder's trainer)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(TEXTS * 3, trainer=trainer)
    kw = {"pad_token": "<pad>", "eos_token": "</s>"}
    if bos:
        kw["bos_token"] = "<s>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, **kw)


def _model(vocab: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=512, tie_word_embeddings=False)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="module")
def tok():
    return _tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return _model(len(tok))


def _items():
    return pd.DataFrame({
        "benchmark": ["mmlu", "mmlu", "bbh"],
        "task": ["astronomy", "astronomy", "logic"],
        "prompt": ["Which planet is largest?\nAnswer:", "What is two plus two?\nAnswer:",
                   "Question: the cat sat on the"],
        "choices": [["Jupiter", "Mars", "the sun"], ["four", "two"],
                    ["mat", "log", "hello world hello", "dog"]],
        "answer": [0, 0, 1],
    })


def _direct_loglik(model, tok, prompt: str, choice: str, *, max_length: int | None = None):
    """Independent reference: full forward pass, log_softmax, sum over continuation tokens."""
    whole = tok(prompt + " " + choice, add_special_tokens=False)["input_ids"]
    n_ctx = len(tok(prompt, add_special_tokens=False)["input_ids"])
    ids = [tok.bos_token_id] + list(whole)
    start = 1 + n_ctx  # index of the first continuation token in ids
    if max_length is not None and len(ids) - 1 > max_length:
        drop = len(ids) - 1 - max_length
        ids = ids[:1] + ids[1 + drop:]
        start -= drop
    with torch.no_grad():
        logp = model(torch.tensor([ids])).logits.double().log_softmax(-1)[0]
    return sum(float(logp[t - 1, ids[t]]) for t in range(start, len(ids))), len(ids) - start


def test_loglik_matches_direct_forward_pass(model, tok):
    items = _items()
    out = score_choices(model, tok, items, batch_size=3)
    for i, row in items.iterrows():
        for j, choice in enumerate(row["choices"]):
            ref, n = _direct_loglik(model, tok, row["prompt"], choice)
            assert out["loglik"][i][j] == pytest.approx(ref, abs=1e-4)
            assert out["n_tokens"][i][j] == n
    # item columns kept, one row per item, nothing truncated
    assert list(out["benchmark"]) == list(items["benchmark"])
    assert not out["truncated"].any()


def test_independent_of_batch_size(model, tok):
    a = score_choices(model, tok, _items(), batch_size=2)
    b = score_choices(model, tok, _items(), batch_size=16)
    np.testing.assert_allclose(np.concatenate(a["loglik"].to_list()),
                               np.concatenate(b["loglik"].to_list()), atol=1e-5)


def test_restores_training_flag(model, tok):
    model.train()
    try:
        out1 = score_choices(model, tok, _items())
        assert model.training
        out2 = score_choices(model, tok, _items())
    finally:
        model.eval()
    assert out1["loglik"].to_list() == out2["loglik"].to_list()


def test_encode_pair_splits_whole_encoding(tok):
    ctx, cont = encode_pair(tok, "Answer: ", "Jupiter")
    # trailing whitespace moves to the continuation, as in lm-eval
    assert tok.decode(ctx) == "Answer:"
    assert tok.decode(cont) == " Jupiter"
    assert ctx + cont == tok("Answer: Jupiter", add_special_tokens=False)["input_ids"]


def _constant_head(model, bias: torch.Tensor):
    """Replace the LM head by one that ignores the input: logits = bias at every position."""
    head = torch.nn.Linear(model.config.hidden_size, len(bias), bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(bias)
    model.lm_head = head
    return model


def test_known_answer_and_acc_norm(tok):
    vocab = len(tok)
    # uniform next-token distribution: loglik = -n_tokens * log(V), exactly
    model = _constant_head(_model(vocab), torch.zeros(vocab))
    items = pd.DataFrame({"prompt": ["Question: pick one\nAnswer:"],
                          "choices": [["x", "hello world hello"]], "answer": [1]})
    out = score_choices(model, tok, items)
    n = np.asarray(out["n_tokens"][0])
    np.testing.assert_allclose(out["loglik"][0], -n * math.log(vocab), rtol=1e-6)
    nbytes = np.array([1, len("hello world hello")])
    assert n[0] < n[1] and n[0] / nbytes[0] > n[1] / nbytes[1]  # the case separates the rules
    assert out["pred"][0] == 0 and not out["correct"][0]
    assert out["pred_norm"][0] == 1 and out["correct_norm"][0]

    # a head that boosts the tokens of " four": that choice must win
    four = tok(" four", add_special_tokens=False)["input_ids"]
    bias = torch.zeros(vocab)
    bias[four] = 8.0
    model = _constant_head(_model(vocab), bias)
    items = pd.DataFrame({"prompt": ["What is two plus two?\nAnswer:"] * 2,
                          "choices": [["four", "two"], ["two", "four"]], "answer": [0, 1]})
    out = score_choices(model, tok, items)
    assert out["correct"].all() and out["correct_norm"].all()
    lse = float(torch.logsumexp(bias, 0))
    assert out["loglik"][0][0] == pytest.approx(sum(float(bias[t]) - lse for t in four))


def test_left_truncation(model, tok):
    prompt = " ".join(["the cat sat on the mat"] * 6) + "\nAnswer:"
    items = pd.DataFrame({"prompt": [prompt], "choices": [["dog", "hello world hello world"]],
                          "answer": [0]})
    full = score_choices(model, tok, items, max_length=1024)
    short = score_choices(model, tok, items, max_length=12)
    assert not full["truncated"][0] and short["truncated"][0]
    for j, choice in enumerate(items["choices"][0]):
        ref, _ = _direct_loglik(model, tok, prompt, choice, max_length=12)
        assert short["loglik"][0][j] == pytest.approx(ref, abs=1e-4)
    assert short["loglik"][0] != pytest.approx(full["loglik"][0])
    # the longest continuation needs max_length >= its token count (plus BOS as context)
    longest = max(full["n_tokens"][0])
    assert longest >= 3
    score_choices(model, tok, items, max_length=longest)
    with pytest.raises(InvalidParameterError, match=f"does not fit in max_length={longest - 1}"):
        score_choices(model, tok, items, max_length=longest - 1)


def test_encoders_and_classifiers_are_refused(tok):
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        LlamaConfig,
        LlamaForSequenceClassification,
    )

    bert = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32,
                                      num_hidden_layers=1, num_attention_heads=2))
    with pytest.raises(InvalidParameterError, match="encoder"):
        score_choices(bert, tok, _items())
    clf = LlamaForSequenceClassification(LlamaConfig(
        vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_labels=1))
    with pytest.raises(InvalidParameterError, match="no LM head"):
        score_choices(clf, tok, _items())


def test_item_validation(model, tok):
    with pytest.raises(DataValidationError, match="missing column"):
        score_choices(model, tok, _items().drop(columns="answer"))
    bad = _items()
    bad.loc[1, "answer"] = 5
    with pytest.raises(DataValidationError, match=r"row 1: answer must be an int in \[0, 1\]"):
        score_choices(model, tok, bad)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        score_choices(model, tok, _items(), batch_size=0)


def test_no_bos_tokenizer_scores_with_empty_context():
    tok = _tokenizer(bos=False)
    model = _model(len(tok))
    items = pd.DataFrame({"prompt": [""], "choices": [["four", "two"]], "answer": [0]})
    out = score_choices(model, tok, items)
    # empty context: EOS is the prefix, so every continuation token is scored
    ids = [tok.eos_token_id] + tok(" four", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logp = model(torch.tensor([ids])).logits.double().log_softmax(-1)[0]
    ref = sum(float(logp[t - 1, ids[t]]) for t in range(1, len(ids)))
    assert out["loglik"][0][0] == pytest.approx(ref, abs=1e-4)


def test_benchmark_scores_micro_and_macro():
    def rows(bench, task, correct, k):
        return [{"benchmark": bench, "task": task, "choices": ["a"] * k, "correct": c,
                 "correct_norm": not c} for c in correct]

    scored = pd.DataFrame(rows("mmlu", "a", [True], 4) + rows("mmlu", "b", [False] * 3, 4)
                          + rows("bbh", "x", [True], 2) + rows("bbh", "y", [False] * 3, 3))
    table = benchmark_scores(scored).set_index(["benchmark", "task"])
    assert table.loc[("mmlu", "a"), "accuracy"] == 1.0
    assert table.loc[("mmlu", "b"), "n"] == 3
    # mmlu: mean over items (1 of 4); bbh: unweighted mean over tasks ((1 + 0) / 2)
    assert table.loc[("mmlu", "all"), "accuracy"] == pytest.approx(0.25)
    assert table.loc[("mmlu", "all"), "acc_norm"] == pytest.approx(0.75)
    assert table.loc[("bbh", "all"), "accuracy"] == pytest.approx(0.5)
    assert table.loc[("bbh", "all"), "chance"] == pytest.approx((1 / 2 + 1 / 3) / 2)
    assert table.loc[("bbh", "all"), "n"] == 4
    assert table.loc[("mmlu", "all"), "aggregation"] == "items"
    assert table.loc[("bbh", "all"), "aggregation"] == "tasks"
    with pytest.raises(DataValidationError, match="benchmark"):
        benchmark_scores(scored.drop(columns="benchmark"))
