"""Training: learning, shuffled labels, resume, NaN handling, regression method."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _train_helpers import regression_rows, synthetic_pairs

import rmpredict.train._trainer as trainer_mod
from rmpredict.exceptions import TrainingError
from rmpredict.train import TrainConfig, read_checkpoint, train_reward_model

SUBSETS = ["alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-python", "math-prm"]


def _cfg(base, out, **kw):
    base_kw = dict(base_model=str(base), output_dir=str(out), learning_rate=3e-3,
                   global_batch_size=32, per_device_batch_size=16, warmup_steps=2,
                   eval_every=4, save_every=4, max_length=64, seed=7)
    base_kw.update(kw)
    return TrainConfig(**base_kw)


def test_learns_signal_and_not_shuffled_labels(llama_dir, tmp_path):
    ev = synthetic_pairs(128, seed=2, subsets=SUBSETS)
    res = train_reward_model(_cfg(llama_dir, tmp_path / "a", num_epochs=2),
                             train_data=synthetic_pairs(256, seed=1), eval_data=ev)
    rec = res.record
    assert rec["chosen_checkpoint"]["val_accuracy"] >= 0.95
    assert rec["sections"]["score"] >= 0.95
    # No test data: half of the eval pairs (per subset) were held out for the final score.
    assert rec["selection_biased"] is False and rec["data"]["scored_on"] == "eval_data_holdout"
    split = rec["data"]["holdout"]
    assert split["n_selection"] == rec["data"]["eval"]["n_used"] == 128 - split["n_test"]
    assert abs(split["n_test"] - 64) <= len(SUBSETS)  # half of every subset, rounded
    assert sum(s["n"] for s in rec["subsets"].values()) == split["n_test"]
    # sdpa: auto packing is off (dense block mask); padded batches are length-bucketed.
    assert rec["packing"] is False and 0.0 < rec["padding_share"] < 0.5
    assert rec["real_tokens_per_s"] > 0 and rec["steps"] == 16
    assert (res.model_dir / "rm_meta.json").is_file()
    assert res.record_path.is_file()
    noise = train_reward_model(_cfg(llama_dir, tmp_path / "b", num_epochs=2),
                               train_data=synthetic_pairs(256, seed=1, shuffle_labels=True),
                               eval_data=ev)
    # The final (not the luckiest) checkpoint is near chance on held-out pairs.
    assert 0.3 <= noise.history[-1]["val_accuracy"] <= 0.7


def _final_weights(out):
    return read_checkpoint(out / "checkpoint-last").model


def test_resume_gives_same_weights_and_bucketed_matches_packed(llama_dir, tmp_path):
    tr, ev = synthetic_pairs(96, seed=4), synthetic_pairs(16, seed=5)
    kw = dict(global_batch_size=16, per_device_batch_size=8, eval_every=3, save_every=2,
              holdout_fraction=0)  # (the final score is not the point here)
    on = dict(kw, packing="on")
    full = train_reward_model(_cfg(llama_dir, tmp_path / "full", **on), train_data=tr,
                              eval_data=ev)
    part = _cfg(llama_dir, tmp_path / "part", max_steps=3, **on)
    train_reward_model(part, train_data=tr, eval_data=ev)
    assert read_checkpoint(tmp_path / "part" / "checkpoint-last").trainer_state["step"] == 3
    resumed = train_reward_model(part.replace(max_steps=None, resume_from="auto"),
                                 train_data=tr, eval_data=ev)
    a, b = _final_weights(tmp_path / "full"), _final_weights(tmp_path / "part")
    assert resumed.record["steps"] == full.record["steps"] == 6
    assert all(torch.equal(a[k], b[k]) for k in a)  # bit for bit
    # The padded, length-bucketed path computes the same update up to float rounding.
    padded = train_reward_model(_cfg(llama_dir, tmp_path / "pad", packing="off", **kw),
                                train_data=tr, eval_data=ev)
    c = _final_weights(tmp_path / "pad")
    assert full.record["packing"] is True and padded.record["packing"] is False
    assert full.record["padding_share"] == 0.0 < padded.record["padding_share"]
    assert max(float((a[k] - c[k]).abs().max()) for k in a) < 1e-4


def test_nan_loss_stops_and_keeps_last_good_state(llama_dir, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = trainer_mod._bt_loss

    def flaky(r, margin, center):
        calls["n"] += 1
        loss = real(r, margin, center)
        return loss * float("nan") if calls["n"] > 4 else loss  # step 3 (2 micro-batches/step)

    monkeypatch.setattr(trainer_mod, "_bt_loss", flaky)
    out = tmp_path / "nan"
    with pytest.raises(TrainingError, match="step 3.*last good state \\(step 2\\)"):
        train_reward_model(_cfg(llama_dir, out, global_batch_size=16, per_device_batch_size=8,
                                save_every=10, holdout_fraction=0),
                           train_data=synthetic_pairs(96, seed=4), eval_data=synthetic_pairs(
                               8, seed=5))
    state = read_checkpoint(out / "checkpoint-last")
    assert state.trainer_state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state.model.values())


def test_regression_method_with_merge_vector(llama_dir, tmp_path):
    cfg = _cfg(llama_dir, tmp_path / "reg", method="regression",
               attributes=["helpfulness", "verbosity"], num_epochs=2, merge_grid_step=0.1)
    res = train_reward_model(cfg, train_data=regression_rows(192, 1),
                             eval_data=synthetic_pairs(64, seed=6, subsets=SUBSETS))
    ck = res.record["chosen_checkpoint"]
    w = ck["merge_vector"]
    assert len(w) == 2 and w[0] >= 0 >= w[1] and abs(sum(map(abs, w)) - 1) < 1e-9
    assert ck["val_accuracy"] >= 0.9
    assert res.record["sections"]["score"] >= 0.9


def test_group_by_length_order_is_a_seeded_permutation_with_less_padding(rng):
    from rmpredict.train._trainer import _Plan

    # 300 pairs: a shared prompt plus a response each, as in preference data.
    prompt = rng.integers(20, 400, size=300)
    lengths = np.stack([prompt + rng.integers(5, 300, size=300),
                        prompt + rng.integers(5, 300, size=300)], axis=1).ravel()
    cfg = TrainConfig(global_batch_size=8, per_device_batch_size=8, seed=3,
                      group_by_length=True)
    plan = _Plan(300, cfg, lengths, 2, 0, 1)
    again = _Plan(300, cfg, lengths, 2, 0, 1)
    for epoch in (0, 1):
        order = plan.epoch_order(epoch)
        assert sorted(order.tolist()) == list(range(300))  # every pair once
        assert np.array_equal(order, again.epoch_order(epoch))  # resumable: (seed, epoch) only
    random = _Plan(300, cfg.replace(group_by_length=False), lengths, 2, 0, 1)
    per_seq = lengths.reshape(-1, 2)

    def padding(p):
        pad = real = 0
        for step in range(p.steps_per_epoch):
            b = per_seq[p.global_batch(step)]
            pad += b.size * b.max() - b.sum()
            real += b.sum()
        return pad / (pad + real)

    assert padding(plan) < 0.5 * padding(random)


def test_bt_loss_margin_and_centering_match_formula():
    r = torch.tensor([[1.0], [0.5], [-0.2], [0.3]])  # (chosen, rejected) x 2 pairs
    m = torch.tensor([0.1, 0.0])
    got = trainer_mod._bt_loss(r, m, 0.01)
    chosen, rejected = np.array([1.0, -0.2]), np.array([0.5, 0.3])
    want = np.sum(np.log1p(np.exp(-(chosen - rejected - [0.1, 0.0])))
                  + 0.01 * (chosen + rejected) ** 2)
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_lr_sweep_keeps_best_run_and_margin_column(llama_dir, tmp_path):
    tr = synthetic_pairs(32, seed=1).assign(margin=0.5)
    cfg = _cfg(llama_dir, tmp_path / "sweep", lr_sweep=True, learning_rates=[1e-6, 3e-3],
               global_batch_size=16, per_device_batch_size=16, margin_column="margin")
    res = train_reward_model(cfg, train_data=tr, eval_data=synthetic_pairs(32, seed=2))
    sweep = res.record["lr_sweep"]
    assert [s["learning_rate"] for s in sweep] == [1e-6, 3e-3]
    best = max(sweep, key=lambda s: s["val_accuracy"])
    assert res.record["config"]["learning_rate"] == best["learning_rate"]
    assert (tmp_path / "sweep" / "record.json").is_file()
    assert res.record["config"]["margin_column"] == "margin"
