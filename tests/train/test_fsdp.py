"""The FSDP path: two CPU processes (gloo) train under FSDP2 as one process would.

accelerate selects FSDP only on accelerators, so the worker forces its state to FSDP2 on CPU
(see ``_fsdp_worker``); the trainer's FSDP code (sharded evaluation with gathering, gathered
checkpoints, best-checkpoint reload, resume) then runs as under ``accelerate launch --use_fsdp``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from _train_helpers import synthetic_pairs, write_jsonl

from rmpredict.train import read_checkpoint
from rmpredict.train._sharded import full_state_dicts, hf_state_dict, shard_indices

WORKER = Path(__file__).with_name("_fsdp_worker.py")
DDP_WORKER = Path(__file__).with_name("_ddp_worker.py")


@pytest.mark.parametrize("n,world", [(15, 2), (16, 2), (1, 2), (7, 3), (5, 1)])
def test_shard_indices_cover_every_item_once_with_equal_counts(n, world):
    shares = [shard_indices(n, r, world) for r in range(world)]
    assert len({len(s) for s in shares}) == 1  # equal batch counts: FSDP forwards are collective
    flat = [i for s in shares for i in s]
    assert flat[:n] == list(range(n))  # gathered in rank order = input order
    assert set(flat[n:]) <= {n - 1}  # only padding repeats


def test_hf_state_dict_and_unsharded_full_state_dicts(llama_dir):
    from rmpredict.train import load_reward_model

    lm = load_reward_model(llama_dir)
    opt = torch.optim.AdamW(lm.model.parameters(), lr=1e-3)
    lm.model(**{"input_ids": torch.tensor([[1, 5, 6]]), "attention_mask": None,
                "position_ids": torch.tensor([[0, 1, 2]]), "last_index": torch.tensor([2]),
                "row_index": torch.tensor([0])}).sum().backward()
    opt.step()
    model_sd, optim_sd = full_state_dicts(lm.model, opt)
    # Without sharding the gathered dicts are the plain ones (keyed by name for the optimizer).
    plain = lm.model.state_dict()
    assert set(model_sd) == set(plain)
    assert all(torch.equal(model_sd[k], plain[k]) for k in plain)
    assert set(optim_sd["state"]) == {n for n, p in lm.model.named_parameters()}
    hf = hf_state_dict(model_sd)
    assert set(hf) == set(lm.model.hf.state_dict())


def _run(cmd, env):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_two_process_fsdp_matches_single_process_and_resumes(llama_dir, tmp_path):
    train = write_jsonl(synthetic_pairs(64, seed=1), tmp_path / "train.jsonl")
    # Odd count (padding in the sharded evaluation) and shuffled labels (accuracy not saturated).
    evals = write_jsonl(synthetic_pairs(15, seed=2, shuffle_labels=True), tmp_path / "eval.jsonl")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch"
    fsdp_out, one_out = tmp_path / "fsdp", tmp_path / "one"
    launch = [torchrun, "--standalone", "--nproc_per_node", "2", str(WORKER), str(llama_dir),
              train, evals, str(fsdp_out)]
    # Interrupted after 2 of 4 steps, then resumed from checkpoint-last.
    _run(launch + ["2"], env)
    first = read_checkpoint(fsdp_out / "checkpoint-last")
    assert first.trainer_state["step"] == 2 and first.distributed_type == "FSDP"
    _run(launch + ["4", "auto"], env)
    _run([sys.executable, str(DDP_WORKER), str(llama_dir), train, evals, str(one_out)], env)

    r0, r1 = (torch.load(fsdp_out / f"fsdp-rank{r}.pt", weights_only=True) for r in (0, 1))
    assert r0["n_sharded"] > 0 and r1["n_sharded"] > 0  # the parameters really were sharded
    assert r0["record"]["hardware"]["distributed_type"] == "FSDP"
    assert r0["record"]["hardware"]["world_size"] == 2
    assert r0["record"]["history"] == r1["record"]["history"]  # ranks agree on evaluation
    fsdp_ckpt = read_checkpoint(fsdp_out / "checkpoint-last")
    one_ckpt = read_checkpoint(one_out / "checkpoint-last")
    assert fsdp_ckpt.trainer_state["step"] == one_ckpt.trainer_state["step"] == 4
    # Full (gathered) weights equal single-process training on the same batches, up to rounding.
    assert set(fsdp_ckpt.model) == set(one_ckpt.model)
    diff = max(float((fsdp_ckpt.model[k] - one_ckpt.model[k]).abs().max())
               for k in one_ckpt.model)
    assert diff < 1e-4
    # Evaluation (sharded, gathered) gives the same accuracies and the same chosen step.
    rec = json.loads((fsdp_out / "record.json").read_text())
    one = json.loads((one_out / "record.json").read_text())
    assert [h["val_accuracy"] for h in rec["history"]] == \
        [h["val_accuracy"] for h in one["history"]]
    np.testing.assert_allclose([h["loss"] for h in rec["history"]],
                               [h["loss"] for h in one["history"]], atol=1e-4)
    assert rec["chosen_checkpoint"]["step"] == one["chosen_checkpoint"]["step"]
    assert rec["subsets"] == one["subsets"]  # the chosen checkpoint's final score
    # The saved model directory holds full weights equal to the single-process one's.
    from safetensors.torch import load_file

    a = load_file(str(fsdp_out / "model" / "model.safetensors"))
    b = load_file(str(one_out / "model" / "model.safetensors"))
    assert set(a) == set(b)
    assert max(float((a[k] - b[k]).abs().max()) for k in b) < 1e-4
    # The scored model in memory holds the chosen checkpoint's weights, reloaded from disk when
    # the chosen step is not the last one (as here: the data make the checks below meaningful).
    if rec["chosen_checkpoint"]["step"] != rec["steps"]:
        assert all(torch.equal(r0["final"]["hf." + k], a[k]) for k in a)
        moved = max(float((r0["final"]["hf." + k] - fsdp_ckpt.model["hf." + k]).abs().max())
                    for k in a)
        assert moved > 0  # ... which differ from the last step's


def test_resuming_across_fsdp_and_plain_runs_is_refused(llama_dir, tmp_path):
    from rmpredict.exceptions import InvalidParameterError
    from rmpredict.train import TrainConfig, train_reward_model

    pairs = synthetic_pairs(16, seed=1)
    cfg = TrainConfig(base_model=str(llama_dir), output_dir=str(tmp_path), global_batch_size=8,
                      per_device_batch_size=8, max_steps=1, save_every=1, eval_every=1,
                      max_length=64, seed=3, holdout_fraction=0)
    train_reward_model(cfg, train_data=pairs, eval_data=pairs)
    state = tmp_path / "checkpoint-last" / "state.json"
    payload = json.loads(state.read_text())
    assert payload["distributed_type"] == "NO"
    payload["distributed_type"] = "FSDP"
    state.write_text(json.dumps(payload))
    with pytest.raises(InvalidParameterError, match="by an FSDP run and this run is non-FSDP"):
        train_reward_model(cfg.replace(resume_from="auto", max_steps=2), train_data=pairs,
                           eval_data=pairs)
