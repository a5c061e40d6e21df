"""Golden trajectory: a seeded tiny run reproduces stored per-step losses.

The values were produced by the trainer before its refactor into a class (same data, model and
seed), so a change that alters training (data order, loss scaling, optimizer, scheduler) shows
up here even when every other test still passes.
"""

from __future__ import annotations

import numpy as np
import pytest
from _train_helpers import regression_rows, synthetic_pairs

import rmpredict.train._trainer as trainer_mod
from rmpredict.train import TrainConfig, TrainerCallback, train_reward_model

# First 8 optimizer-step losses (sum over the global batch / its size) of the runs below.
GOLDEN = {
    "bradley_terry": [0.6929090619087219, 0.6884380280971527, 0.6776591837406158,
                      0.6320938467979431, 0.5039535313844681, 0.5097833871841431,
                      0.6631807684898376, 0.5289141833782196],
    "regression": [5.465700626373291, 5.3292118310928345, 3.912745714187622,
                   3.1977782249450684, 4.179895639419556, 3.1432689428329468,
                   2.4411474466323853, 2.1759297847747803],
}
# Validation accuracy at steps 4 and 8 of the same runs.
GOLDEN_VAL = {"bradley_terry": [1.0, 1.0], "regression": [0.6875, 0.9375]}
STEPS, BATCH = 8, 16


class _Losses(TrainerCallback):
    def __init__(self):
        self.losses: list[tuple[int, float]] = []

    def on_step_end(self, trainer, step, loss):
        self.losses.append((step, loss))


@pytest.mark.parametrize("method", ["bradley_terry", "regression"])
def test_first_losses_match_the_stored_trajectory(method, llama_dir, tmp_path, monkeypatch):
    micro: list[float] = []
    for name in ("_bt_loss", "_mse_loss"):
        real = getattr(trainer_mod, name)

        def recording(*args, _real=real):
            loss = _real(*args)
            micro.append(float(loss.detach()))
            return loss

        monkeypatch.setattr(trainer_mod, name, recording)
    kw = dict(base_model=str(llama_dir), output_dir=str(tmp_path), learning_rate=3e-3,
              global_batch_size=BATCH, per_device_batch_size=8, warmup_steps=2, eval_every=4,
              save_every=0, max_length=64, seed=7, max_steps=STEPS,
              holdout_fraction=0)  # (16 eval pairs: too few to split, and not scored here)
    if method == "bradley_terry":
        cfg, train = TrainConfig(packing="off", **kw), synthetic_pairs(128, seed=11)
    else:
        cfg = TrainConfig(method="regression", attributes=["helpfulness", "verbosity"],
                          merge_grid_step=0.25, **kw)
        train = regression_rows(128, 12)
    hooked = _Losses()
    res = train_reward_model(cfg, train_data=train, eval_data=synthetic_pairs(16, seed=13),
                             callbacks=[hooked])
    # Two micro-batches of 8 per step; each loss is a sum over its pairs (or rows).
    steps = [(micro[2 * i] + micro[2 * i + 1]) / BATCH for i in range(STEPS)]
    np.testing.assert_allclose(steps, GOLDEN[method], rtol=1e-5)
    # The step losses the trainer reports to its callbacks are the same numbers.
    assert [step for step, _ in hooked.losses] == list(range(1, STEPS + 1))
    np.testing.assert_allclose([loss for _, loss in hooked.losses], GOLDEN[method], rtol=1e-5)
    assert [h["val_accuracy"] for h in res.history] == GOLDEN_VAL[method]
