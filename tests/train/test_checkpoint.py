"""Resumable checkpoints: no pickle is ever loaded, and a checkpoint resumes only its own run."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch
from _train_helpers import synthetic_pairs

from rmpredict.exceptions import InvalidParameterError, ModelMismatchError
from rmpredict.train import TrainConfig, read_checkpoint, train_reward_model
from rmpredict.train._checkpoint import (
    STATE_JSON,
    STATE_TENSORS,
    Checkpoint,
    decode_tree,
    encode_tree,
    run_hash,
    write_checkpoint,
)


class _Payload:
    """Unpickling this writes a marker file: a stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_pickle(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"model": _Payload(marker)}))
    return path


def test_the_stand_in_payload_really_runs_when_unpickled(tmp_path):
    # Guards the tests below: they would pass vacuously if the payload did nothing.
    marker = tmp_path / "ran"
    pickle.loads(_evil_pickle(tmp_path / "x.pt", marker).read_bytes())["model"].close()
    assert marker.exists()


def test_tree_encoding_round_trips_state_dict_structures():
    tree = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0], "fused": None}],
            "best": -math.inf, "history": [{"step": 2, "loss": 0.5}], "name": "x"}
    tensors: dict[str, torch.Tensor] = {}
    encoded = encode_tree(tree, tensors, "root")
    json.dumps(encoded, allow_nan=False)  # strict JSON: no Infinity, no tuples, string keys
    back = decode_tree(json.loads(json.dumps(encoded)), tensors)
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(back["state"]) == [0] and back["best"] == -math.inf
    assert torch.equal(back["state"][0]["exp_avg"], torch.ones(2))
    assert back["history"] == tree["history"] and back["name"] == "x"


def test_tied_weights_are_stored_once_and_relinked(tmp_path):
    shared = torch.arange(6.0).reshape(2, 3)
    ckpt = Checkpoint(model={"embed.weight": shared, "head.weight": shared,
                             "bias": torch.zeros(3)},
                      optimizer={}, scheduler={}, rng={"torch": torch.get_rng_state()},
                      trainer_state={"step": 1}, config={}, run_hash="h", data_identity={},
                      distributed_type="NO", path=tmp_path)
    write_checkpoint(tmp_path / "ck", ckpt)
    back = read_checkpoint(tmp_path / "ck")
    assert back.model["embed.weight"] is back.model["head.weight"]
    assert torch.equal(back.model["head.weight"], shared)
    assert torch.equal(back.rng["torch"], ckpt.rng["torch"])


def test_pickle_checkpoints_are_refused_unopened(tmp_path):
    marker = tmp_path / "ran"
    legacy = _evil_pickle(tmp_path / "old" / "state.pt", marker)
    for target in (legacy, legacy.parent, _evil_pickle(tmp_path / "evil.bin", marker)):
        with pytest.raises(ModelMismatchError, match="never loaded"):
            read_checkpoint(target)
    # A pickle disguised as the tensor file of a well-formed header: not safetensors.
    disguised = tmp_path / "disguised"
    _evil_pickle(disguised / STATE_TENSORS, marker)
    (disguised / STATE_JSON).write_text(json.dumps({"format": 1, "config": {}, "run_hash": ""}))
    with pytest.raises(ModelMismatchError, match="cannot be read"):
        read_checkpoint(disguised)
    assert not marker.exists()
    with pytest.raises(InvalidParameterError, match="no checkpoint"):
        read_checkpoint(tmp_path / "nothing")


def _cfg(llama_dir, out, **kw):
    base = dict(base_model=str(llama_dir), output_dir=str(out), learning_rate=3e-3,
                global_batch_size=8, per_device_batch_size=8, warmup_steps=1, eval_every=1,
                save_every=1, max_length=64, seed=3, max_steps=1, holdout_fraction=0)
    return TrainConfig(**{**base, **kw})


def test_auto_resume_over_a_legacy_pickle_is_refused_not_executed(llama_dir, tmp_path):
    marker = tmp_path / "ran"
    _evil_pickle(tmp_path / "run" / "checkpoint-last" / "state.pt", marker)
    pairs = synthetic_pairs(16, seed=1)
    with pytest.raises(ModelMismatchError, match="unpickling can run arbitrary code"):
        train_reward_model(_cfg(llama_dir, tmp_path / "run", resume_from="auto"),
                           train_data=pairs, eval_data=pairs)
    assert not marker.exists()


def test_resuming_another_run_is_refused_with_one_line(llama_dir, tmp_path, capsys):
    from rmpredict.cli import main

    pairs = synthetic_pairs(16, seed=1)
    cfg = _cfg(llama_dir, tmp_path / "run")
    train_reward_model(cfg, train_data=pairs, eval_data=pairs)
    ckpt = read_checkpoint(tmp_path / "run" / "checkpoint-last")
    assert ckpt.trainer_state["step"] == 1
    resume = cfg.replace(resume_from="auto", max_steps=2)
    with pytest.raises(ModelMismatchError, match="learning_rate differ"):
        train_reward_model(resume.replace(learning_rate=1e-3), train_data=pairs, eval_data=pairs)
    with pytest.raises(ModelMismatchError, match="setting.*train data differ"):
        train_reward_model(resume, train_data=synthetic_pairs(16, seed=2), eval_data=pairs)
    # An edited hash (or settings edited to match) is refused too.
    header = tmp_path / "run" / "checkpoint-last" / STATE_JSON
    meta = json.loads(header.read_text())
    assert meta["run_hash"] == run_hash(cfg.to_dict(), ckpt.data_identity)
    header.write_text(json.dumps({**meta, "run_hash": "0" * 16}))
    with pytest.raises(ModelMismatchError, match="run hash does not match"):
        train_reward_model(resume, train_data=pairs, eval_data=pairs)
    header.write_text(json.dumps(meta))
    # Through the CLI: exit 2 and a single error line, before any model is loaded.
    train = tmp_path / "train.jsonl"
    pairs.to_json(train, orient="records", lines=True)
    args = ["train-rm", "--base-model", str(llama_dir), "--train-data", str(train),
            "--eval-data", str(train), "--output", str(tmp_path / "run"),
            "--global-batch-size", "8", "--per-device-batch-size", "8", "--max-length", "64",
            "--seed", "3", "--holdout-fraction", "0", "--resume-from", "auto"]
    capsys.readouterr()
    assert main(args + ["--learning-rate", "0.001"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rmpredict train-rm: error: cannot resume")
