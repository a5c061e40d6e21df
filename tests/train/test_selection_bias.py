"""The final score is never silently measured on the pairs that chose the checkpoint."""

from __future__ import annotations

import json
import warnings

import pytest
from _train_helpers import synthetic_pairs, write_jsonl

from rmpredict.exceptions import DataValidationError, InvalidParameterError, RMPredictWarning
from rmpredict.train import (
    SelectionBiasWarning,
    TrainConfig,
    add_record,
    prepare_run_data,
    split_eval_pairs,
    train_reward_model,
)

SUBSETS = ["alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-python"]


def _cfg(**kw):
    return TrainConfig(**{"global_batch_size": 8, "per_device_batch_size": 8, "seed": 4, **kw})


def test_split_is_seeded_stratified_and_disjoint():
    pairs = synthetic_pairs(61, seed=1, subsets=SUBSETS)
    pairs.loc[60, "subset"] = "singleton"
    selection, held, info = split_eval_pairs(pairs, fraction=0.5, seed=3)
    again = split_eval_pairs(pairs, fraction=0.5, seed=3)
    other = split_eval_pairs(pairs, fraction=0.5, seed=4)
    assert held.equals(again[1]) and info == again[2]
    assert info["test_ids_hash"] != other[2]["test_ids_hash"]
    key = ["prompt", "chosen", "rejected"]
    assert not set(map(tuple, held[key].to_numpy())) & set(map(tuple, selection[key].to_numpy()))
    assert len(selection) + len(held) == 61 == info["n_selection"] + info["n_test"]
    per_subset = held["subset"].value_counts()
    assert set(per_subset.index) == set(SUBSETS)  # every subset on both sides ...
    assert "singleton" in set(selection["subset"])  # ... a lone pair stays with the selection
    assert all(abs(per_subset[s] - 7.5) <= 1 for s in SUBSETS)
    assert info["seed"] == 3 and info["ids"] == "row positions"
    with_ids = pairs.assign(id=[f"p{i}" for i in range(61)])
    assert split_eval_pairs(with_ids, fraction=0.5, seed=3)[2]["ids"] == "id column"
    assert split_eval_pairs(pairs.iloc[:31], fraction=0.5, seed=3) is None  # < 16 per side


def test_small_eval_data_warn_once_and_mark_the_data(tmp_path):
    train, small = synthetic_pairs(16, seed=1), synthetic_pairs(20, seed=2, subsets=SUBSETS)
    with pytest.warns(SelectionBiasWarning) as caught:
        data = prepare_run_data(_cfg(), train_data=train, eval_data=small)
    assert len(caught) == 1 and issubclass(SelectionBiasWarning, RMPredictWarning)
    message = str(caught[0].message)
    assert "\n" not in message and "selection_biased" in message and "--test-data" in message
    assert data.selection_biased and data.scored_on == "eval_data" and data.test is None
    # Asked for explicitly: marked the same way, without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        asked = prepare_run_data(_cfg(holdout_fraction=0), train_data=train, eval_data=small)
        split = prepare_run_data(_cfg(), train_data=train,
                                 eval_data=synthetic_pairs(64, seed=2, subsets=SUBSETS))
        given = prepare_run_data(_cfg(), train_data=train, eval_data=small,
                                 test_data=synthetic_pairs(8, seed=9, subsets=SUBSETS))
    assert asked.selection_biased and asked.holdout is None
    assert not split.selection_biased and split.scored_on == "eval_data_holdout"
    assert len(split.selection) + len(split.test) == 64 and split.holdout["n_test"] == 32
    assert not given.selection_biased and given.scored_on == "test_data"
    # The eval file given again as test data is no held-out set.
    path = write_jsonl(small, tmp_path / "eval.jsonl")
    with pytest.warns(SelectionBiasWarning, match="test data are the eval data"):
        same = prepare_run_data(_cfg(), train_data=train, eval_data=path, test_data=path)
    assert same.selection_biased
    with pytest.raises(InvalidParameterError, match="holdout_fraction"):
        _cfg(holdout_fraction=1.0)


def test_biased_record_is_flagged_and_kept_out_of_results(llama_dir, tmp_path, capsys):
    from rmpredict.cli import main

    cfg = _cfg(base_model=str(llama_dir), output_dir=str(tmp_path / "sweep"), max_steps=2,
               eval_every=2, save_every=0, max_length=64, lr_sweep=True,
               learning_rates=[1e-3, 3e-3])
    with pytest.warns(SelectionBiasWarning) as caught:
        res = train_reward_model(cfg, train_data=synthetic_pairs(16, seed=1),
                                 eval_data=synthetic_pairs(20, seed=2, subsets=SUBSETS))
    assert len(caught) == 1  # once per call, not once per learning rate
    record = res.record
    assert record["selection_biased"] is True and record["data"]["scored_on"] == "eval_data"
    assert json.loads(res.record_path.read_text())["selection_biased"] is True
    table = tmp_path / "results.csv"
    with pytest.raises(DataValidationError, match="selection-biased"):
        add_record(record, table)
    capsys.readouterr()  # (training's progress bars)
    assert main(["results", "add", str(res.record_path), "--to", str(table)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "selection-biased" in err and "--test-data" in err
    assert not table.exists()
    # Records written before the flag existed say it through data.scored_on.
    legacy = {k: v for k, v in record.items() if k != "selection_biased"}
    with pytest.raises(DataValidationError, match="selection-biased"):
        add_record(legacy, table)


def test_study_collect_refuses_a_selection_biased_score(tmp_path):
    from rmpredict.study import study_config_preset
    from rmpredict.study._collect import collect, refuse_selection_biased_score
    from rmpredict.study._config import write_study_config

    config = study_config_preset("tiny")
    write_study_config(tmp_path, config)
    val = {"source": "DataFrame", "n_rows": 8, "content_hash": "aaaa"}
    training = {"selection_biased": True, "data": {"eval": val, "scored_on": "eval_data"}}
    suite = {"sections": {c: 0.5 for c in ("chat", "chat_hard", "safety", "reasoning")},
             "score": 0.5, "subsets": {}, "data": {"content_hash": "bbbb"}}
    # The study's usual case: the training record is biased, the suite score is not.
    refuse_selection_biased_score("m", suite, training)
    for bad in ({**suite, "data": dict(val)}, {**suite, "selection_biased": True}):
        with pytest.raises(InvalidParameterError, match="'m'.*selection-biased"):
            refuse_selection_biased_score("m", bad, training)
    key = config.models[0]
    for stage, content in (("bench", {"status": "done"}), ("presence", {}),
                           ("score", {**suite, "data": dict(val)})):
        (tmp_path / stage).mkdir(exist_ok=True)
        (tmp_path / stage / f"{key}.json").write_text(json.dumps(content))
    for folder, content in ((tmp_path / "bases" / key, {"model": key}),
                            (tmp_path / "rm" / key, training)):
        folder.mkdir(parents=True)
        name = "base.json" if folder.parent.name == "bases" else "record.json"
        (folder / name).write_text(json.dumps(content))
    with pytest.raises(InvalidParameterError, match="selection-biased.*study score --force"):
        collect(tmp_path, models=[key])
    assert not (tmp_path / "records").exists() and not (tmp_path / "results.csv").exists()
