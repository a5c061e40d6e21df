"""Reward-model training and RewardBench-style scoring (the ``train`` extra).

Torch, transformers and accelerate load on first use of the objects that need them; the
configuration, section scoring and results-table helpers import without them.

Examples
--------
>>> from rmpredict.train import study_preset
>>> cfg = study_preset("regression", base_model="Qwen/Qwen2.5-0.5B")
>>> cfg.num_epochs, cfg.global_batch_size, cfg.warmup_steps
(2, 64, 20)
"""

from __future__ import annotations

from rmpredict._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "TrainConfig": "rmpredict.train._config",
    "study_preset": "rmpredict.train._config",
    "load_config": "rmpredict.train._config",
    "STUDY_LEARNING_RATES": "rmpredict.train._config",
    "SUBSET_MAPPING": "rmpredict.train._sections",
    "EXAMPLE_COUNTS": "rmpredict.train._sections",
    "section_scores": "rmpredict.train._sections",
    "subset_accuracy": "rmpredict.train._sections",
    "load_section_map": "rmpredict.train._sections",
    "search_merge_vector": "rmpredict.train._merge",
    "merge_grid": "rmpredict.train._merge",
    "add_record": "rmpredict.train._record",
    "read_record": "rmpredict.train._record",
    "record_to_row": "rmpredict.train._record",
    "refuse_selection_biased": "rmpredict.train._record",
    "prepare_run_data": "rmpredict.train._rundata",
    "RunData": "rmpredict.train._rundata",
    "split_eval_pairs": "rmpredict.train._rundata",
    "SelectionBiasWarning": "rmpredict.train._rundata",
    # need torch + transformers:
    "load_reward_model": "rmpredict.train._model",
    "RewardModel": "rmpredict.train._model",
    "score_reward_model": "rmpredict.train._score",
    "ScoreResult": "rmpredict.train._score",
    "train_reward_model": "rmpredict.train._trainer",
    "TrainResult": "rmpredict.train._trainer",
    "RewardTrainer": "rmpredict.train._trainer",
    "TrainerCallback": "rmpredict.train._trainer",
    "TrainerState": "rmpredict.train._trainer",
    "read_checkpoint": "rmpredict.train._checkpoint",
    "Checkpoint": "rmpredict.train._checkpoint",
}

__all__ = sorted(_LAZY)

_TORCH_MODULES = {"rmpredict.train._model", "rmpredict.train._score", "rmpredict.train._trainer",
                  "rmpredict.train._checkpoint"}


__getattr__ = lazy_getattr("rmpredict.train", _LAZY, _TORCH_MODULES, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
