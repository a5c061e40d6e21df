"""Worker for test_distributed: trains under torchrun and dumps each rank's final weights."""

from __future__ import annotations

import os
import sys

import pandas as pd
import torch

torch.set_num_threads(1)


def main(base: str, train: str, evals: str, out: str) -> None:
    from rmpredict.train import TrainConfig, train_reward_model

    cfg = TrainConfig(base_model=base, output_dir=out, learning_rate=3e-3, global_batch_size=16,
                      per_device_batch_size=4, warmup_steps=1, eval_every=2, save_every=2,
                      max_length=64, seed=5, holdout_fraction=0)
    res = train_reward_model(cfg, train_data=pd.read_json(train, lines=True),
                             eval_data=pd.read_json(evals, lines=True))
    rank = int(os.environ.get("RANK", "0"))
    weights = {k: v.detach().cpu() for k, v in res.final.model.state_dict().items()}
    torch.save({"world": res.record["hardware"]["world_size"], "record": res.record,
                "model": weights}, os.path.join(out, f"rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:5])
