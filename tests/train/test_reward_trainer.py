"""RewardTrainer's named steps, each on its own, and the order of its callbacks."""

from __future__ import annotations

import math

import pytest
from _train_helpers import synthetic_pairs

from rmpredict.exceptions import TrainingError
from rmpredict.train import RewardTrainer, TrainConfig, TrainerCallback, read_checkpoint

SUBSETS = ["alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-python"]


class _Log(TrainerCallback):
    def __init__(self):
        self.events: list[tuple] = []

    def on_train_begin(self, trainer):
        self.events.append(("begin", trainer.state.step))

    def on_step_end(self, trainer, step, loss):
        self.events.append(("step", step))

    def on_evaluate(self, trainer, entry):
        self.events.append(("evaluate", entry["step"]))

    def on_save(self, trainer, path):
        self.events.append(("save", read_checkpoint(path).trainer_state["step"]))

    def on_train_end(self, trainer, result):
        self.events.append(("end", result.record["steps"]))


def _trainer(llama_dir, out, callbacks=(), **kw):
    cfg = TrainConfig(**{**dict(
        base_model=str(llama_dir), output_dir=str(out), learning_rate=3e-3, global_batch_size=8,
        per_device_batch_size=4, warmup_steps=1, eval_every=2, save_every=3, max_length=64,
        seed=5, max_steps=4), **kw})
    return RewardTrainer(cfg, train_data=synthetic_pairs(32, seed=1),
                         eval_data=synthetic_pairs(32, seed=2, subsets=SUBSETS),
                         callbacks=callbacks)


def test_each_step_on_its_own(llama_dir, tmp_path):
    trainer = _trainer(llama_dir, tmp_path)
    assert trainer.data.scored_on == "eval_data_holdout" and len(trainer.data.selection) == 16
    trainer.setup()
    assert trainer.stop_step == 4 and trainer.state.step == 0
    loss = trainer.train_step()
    assert math.isfinite(loss) and trainer.state.step == 1 and trainer.state.real_tokens > 0
    accuracy, merge = trainer.evaluate()
    assert 0.0 <= accuracy <= 1.0 and merge is None
    assert trainer.state.history == []  # evaluate() only measures
    entry = trainer.evaluate_and_select()
    assert entry["step"] == 1 and entry["loss"] == loss and entry["val_accuracy"] == accuracy
    assert trainer.state.best_step == 1 and (trainer.model_dir / "rm_meta.json").is_file()
    saved = read_checkpoint(trainer.save_checkpoint())
    assert saved.trainer_state["step"] == 1 and saved.trainer_state["history"] == [entry]
    scored = trainer.score()
    assert set(scored.per_subset["subset"]) == set(SUBSETS)  # the held-out pairs
    record = trainer.build_record(scored)
    assert record["steps"] == 1 and record["chosen_checkpoint"]["step"] == 1
    assert record["selection_biased"] is False


def test_callbacks_see_every_step_evaluation_and_save(llama_dir, tmp_path):
    log = _Log()
    result = _trainer(llama_dir, tmp_path, callbacks=[log]).train()
    assert log.events == [("begin", 0), ("step", 1), ("step", 2), ("evaluate", 2), ("step", 3),
                          ("save", 3), ("step", 4), ("evaluate", 4), ("save", 4), ("end", 4)]
    assert [h["step"] for h in result.history] == [2, 4]


def test_a_failing_step_saves_the_last_good_state(llama_dir, tmp_path, monkeypatch):
    import rmpredict.train._trainer as trainer_mod

    trainer = _trainer(llama_dir, tmp_path)
    trainer.setup()
    trainer.train_step()
    monkeypatch.setattr(trainer_mod, "_bt_loss", lambda rewards, *_: rewards.sum() * math.nan)
    with pytest.raises(TrainingError, match="step 2"):
        trainer.train_step()
    assert trainer.state.step == 1
    assert read_checkpoint(trainer.checkpoint_dir).trainer_state["step"] == 1
