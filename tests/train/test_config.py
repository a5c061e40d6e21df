"""TrainConfig: one source of truth for Python, YAML and CLI flags."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from rmpredict.exceptions import InvalidParameterError
from rmpredict.train import STUDY_LEARNING_RATES, TrainConfig, load_config, study_preset
from rmpredict.train._config import add_config_arguments, config_from_args


def test_study_preset_is_the_recipe():
    bt, reg = study_preset("bradley_terry"), study_preset("regression")
    assert (bt.num_epochs, reg.num_epochs) == (1, 2)
    for cfg in (bt, reg):
        assert (cfg.global_batch_size, cfg.warmup_steps, cfg.eval_every) == (64, 20, 20)
        assert cfg.keep_best
    assert reg.attributes == ["helpfulness", "correctness", "coherence", "complexity",
                              "verbosity"]
    assert sorted(STUDY_LEARNING_RATES) == pytest.approx(
        sorted(m * 10.0 ** e for m in (1, 3, 5, 7, 9) for e in (-6, -7)))


def test_every_field_has_help_and_a_flag():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    flags = {a.dest for a in parser._actions}
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata.get("help"), f.name
        assert f.name in flags


def test_yaml_then_flags(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("preset: regression\nlearning_rate: 3.0e-6\nmerge_signs: [1, 1, 1, 1, -1]\n")
    cfg = load_config(path)
    assert cfg.num_epochs == 2 and cfg.learning_rate == 3e-6 and cfg.merge_signs[-1] == -1
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_config_arguments(parser)
    args = parser.parse_args(["--config", str(path), "--learning-rate", "1e-6",
                              "--max-grad-norm", "none", "--keep-best", "false"])
    cfg = config_from_args(args)
    assert cfg.learning_rate == 1e-6 and cfg.max_grad_norm is None and cfg.keep_best is False
    assert cfg.num_epochs == 2  # from the preset in the file
    path.write_text("learning_rte: 1\n")
    with pytest.raises(InvalidParameterError, match="learning_rte"):
        load_config(path)


def test_bad_values():
    with pytest.raises(InvalidParameterError, match="method"):
        TrainConfig(method="dpo")
    with pytest.raises(InvalidParameterError, match="global_batch_size"):
        TrainConfig(global_batch_size=0)
    with pytest.raises(InvalidParameterError, match="merge_signs"):
        TrainConfig(method="regression", attributes=["a", "b"], merge_signs=[1])
