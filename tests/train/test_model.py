"""Reward read-out: pad token policy, packing exactness, batch- and padding-side invariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _train_helpers import make_bert_dir, make_tokenizer, synthetic_pairs, write_jsonl

from rmpredict.train._model import DEDICATED_PAD_TOKEN, load_reward_model, pack_batch, pad_batch
from rmpredict.train._score import score_reward_model

TEXTS = ["w1 w2 good w3", "w4 bad", "w5 w6 w7 w8 w9 w10 w11", "w1", "w3 w3 w3 good"]


def _direct_reward(hf, ids: list[int]) -> float:
    """Independent reference: unpadded single sequence through transformers, last position."""
    with torch.no_grad():
        h = hf.base_model(input_ids=torch.tensor([ids])).last_hidden_state[0, -1]
        return float(hf.score(h))


def test_dedicated_pad_token_added(llama_dir):
    lm = load_reward_model(llama_dir)
    assert lm.tokenizer.pad_token == DEDICATED_PAD_TOKEN
    assert lm.info["pad"] == {"pad_token": DEDICATED_PAD_TOKEN, "added": True,
                              "pad_equals_eos": False}
    assert lm.tokenizer.pad_token_id != lm.tokenizer.eos_token_id
    assert lm.model.hf.get_input_embeddings().num_embeddings == len(lm.tokenizer)


# flex attention compiles kernels: transformers passes torch's deprecated `_compile` flag to
# create_block_mask and torch's compile stack touches torch.jit.script_method; neither is ours.
_FLEX = pytest.param("flex_attention", marks=pytest.mark.filterwarnings(
    "ignore::DeprecationWarning"))


@pytest.mark.parametrize("attn", ["sdpa", "eager", _FLEX])
def test_packed_equals_padded_equals_direct(llama_dir, attn):
    lm = load_reward_model(llama_dir, attn_implementation=attn)
    assert lm.model.supports_packing()
    seqs = [lm.tokenizer(t)["input_ids"] for t in TEXTS]
    m = lm.model.eval()
    with torch.no_grad():
        right = m(**pad_batch(seqs, pad_id=lm.tokenizer.pad_token_id))[:, 0]
        left = m(**pad_batch(seqs, pad_id=lm.tokenizer.pad_token_id, padding_side="left"))[:, 0]
        packed = m(**pack_batch(seqs))[:, 0]
    direct = torch.tensor([_direct_reward(lm.model.hf, s) for s in seqs])
    torch.testing.assert_close(right, direct, atol=1e-6, rtol=0)
    torch.testing.assert_close(left, direct, atol=1e-6, rtol=0)
    torch.testing.assert_close(packed, direct, atol=1e-6, rtol=0)


def test_readout_ignores_pad_equal_to_eos(tmp_path):
    """With pad == eos, transformers' own pooling stops at the first EOS; ours does not."""
    from transformers import LlamaConfig, LlamaForSequenceClassification

    tok = make_tokenizer(with_pad=False)
    tok.pad_token = tok.eos_token
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=1, num_attention_heads=4, num_key_value_heads=2,
                      num_labels=1, pad_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    LlamaForSequenceClassification(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    lm = load_reward_model(tmp_path)
    assert lm.info["pad"]["pad_equals_eos"] and not lm.info["pad"]["added"]
    ids = lm.tokenizer("w1 [EOS] w2 w3")["input_ids"] + [tok.eos_token_id]
    with torch.no_grad():
        ours = float(lm.model.eval()(**pad_batch([ids], pad_id=tok.pad_token_id))[0, 0])
    assert ours == pytest.approx(_direct_reward(lm.model.hf, ids), abs=1e-6)


def _scores(model, data, bs, side):
    res = score_reward_model(model, data, batch_size=bs, padding_side=side)
    return res.pairs[["chosen_score", "rejected_score"]].to_numpy()


@pytest.mark.parametrize("kind", ["llama", "bert"])
def test_scores_batch_size_and_padding_side_invariant(llama_dir, tmp_path, kind):
    model = llama_dir if kind == "llama" else make_bert_dir(tmp_path / "bert")
    data = write_jsonl(synthetic_pairs(12, seed=3), tmp_path / "pairs.jsonl")
    ref = _scores(model, data, 1, "right")
    assert np.ptp(ref) > 0  # scores actually vary
    for bs, side in [(16, "right"), (1, "left"), (16, "left")]:
        np.testing.assert_allclose(_scores(model, data, bs, side), ref, atol=2e-6, rtol=0)
