"""The distributed (DDP, gloo) path: two CPU processes train the same model as one process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from _train_helpers import synthetic_pairs, write_jsonl

from rmpredict.train import read_checkpoint

WORKER = Path(__file__).with_name("_ddp_worker.py")


def test_two_process_gloo_matches_single_process(llama_dir, tmp_path):
    train = write_jsonl(synthetic_pairs(64, seed=1), tmp_path / "train.jsonl")
    evals = write_jsonl(synthetic_pairs(16, seed=2), tmp_path / "eval.jsonl")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun ships with torch"
    ddp_out, one_out = tmp_path / "ddp", tmp_path / "one"
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", str(WORKER), str(llama_dir), train,
         evals, str(ddp_out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = subprocess.run([sys.executable, str(WORKER), str(llama_dir), train, evals,
                           str(one_out)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(ddp_out / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    single = torch.load(one_out / "rank0.pt", weights_only=True)
    assert r0["world"] == r1["world"] == 2 and single["world"] == 1
    # Both ranks hold identical weights (DDP all-reduces the gradients) ...
    assert all(torch.equal(r0["model"][k], r1["model"][k]) for k in r0["model"])
    # ... and they equal single-process training on the same global batches, up to rounding.
    diff = max(float((r0["model"][k] - single["model"][k]).abs().max()) for k in r0["model"])
    assert diff < 1e-4
    saved = read_checkpoint(ddp_out / "checkpoint-last").model
    moved = max(float((r0["model"][k] - saved[k]).abs().max()) for k in r0["model"])
    assert moved == 0.0  # the saved checkpoint is the rank-0 state
    assert (ddp_out / "record.json").is_file()
