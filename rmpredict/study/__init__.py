"""The offline calibration study: packaged small LMs and a self-pretrained ladder, end to end.

Stages (one ``rmpredict study`` command each): ``prepare`` the base models, measure ``bench``
(multiple-choice log-likelihood on MMLU and BIG-bench items), ``train`` Bradley-Terry reward models,
``score`` them on the RewardBench-like held-out suite, ``presence`` on the probe corpus, and
``collect`` the ground-truth records into a results table. Stages that run models need the
``train`` extra; data loaders need only pandas.
"""

from __future__ import annotations

from rmpredict._lazy import lazy_getattr

_LAZY: dict[str, str] = {
    "StudyConfig": "rmpredict.study._config",
    "study_config_preset": "rmpredict.study._config",
    "read_study_config": "rmpredict.study._config",
    "write_study_config": "rmpredict.study._config",
    "PRESETS": "rmpredict.study._config",
    "STUDY_METHOD": "rmpredict.study._config",
    "PackagedBase": "rmpredict.study._bases",
    "PACKAGED_BASES": "rmpredict.study._bases",
    "materialise_package_model": "rmpredict.study._bases",
    "prepare": "rmpredict.study._pipeline",
    "run_bench": "rmpredict.study._pipeline",
    "run_train": "rmpredict.study._pipeline",
    "run_score": "rmpredict.study._pipeline",
    "run_presence": "rmpredict.study._pipeline",
    "heldout_suite": "rmpredict.study._pipeline",
    "training_split": "rmpredict.study._pipeline",
    "collect": "rmpredict.study._collect",
    "STUDY_ID": "rmpredict.study._collect",
    "evaluate_study": "rmpredict.study._evaluate",
    "StudyReport": "rmpredict.study._evaluate",
    "presence_recovery": "rmpredict.study._evaluate",
    "load_study_results": "rmpredict.study._results",
    "load_study_record": "rmpredict.study._results",
    "verify_study_results": "rmpredict.study._results",
    "render_study_tables": "rmpredict.study._report",
    "STUDY_SECTION_MAP": "rmpredict.study._sources",
    "load_mc_items": "rmpredict.study._sources",
    "load_train_pairs": "rmpredict.study._sources",
    "load_heldout_pairs": "rmpredict.study._sources",
    "load_pretrain_corpus": "rmpredict.study._sources",
    "verify_study_sources": "rmpredict.study._sources",
    # need torch + transformers:
    "score_choices": "rmpredict.study._multiple_choice",
    "benchmark_scores": "rmpredict.study._multiple_choice",
    "LadderSpec": "rmpredict.study._ladder",
    "DEFAULT_LADDER": "rmpredict.study._ladder",
    "TINY_LADDER": "rmpredict.study._ladder",
    "train_tokenizer": "rmpredict.study._ladder",
    "pretrain_ladder_model": "rmpredict.study._ladder",
}

__all__ = sorted(_LAZY)

_TORCH_MODULES = {"rmpredict.study._multiple_choice", "rmpredict.study._ladder"}


__getattr__ = lazy_getattr("rmpredict.study", _LAZY, _TORCH_MODULES, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
