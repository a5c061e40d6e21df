"""Worker for test_fsdp: trains under torchrun with FSDP2 forced on CPU (gloo).

accelerate only selects FSDP on accelerators (on CPU it falls back to MULTI_CPU/DDP), but
torch's FSDP2 (``fully_shard``) runs on CPU with gloo. This worker therefore swaps in an
Accelerator that switches its (shared) state to FSDP right after start-up, exactly what
``accelerate launch --use_fsdp --fsdp_version 2`` sets up on GPUs, so the trainer's FSDP path
runs unchanged. Test-only: the library never does this.
"""

from __future__ import annotations

import os
import sys

import pandas as pd
import torch

torch.set_num_threads(1)


def _force_fsdp() -> None:
    import accelerate
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin

    base = accelerate.Accelerator

    class FSDPOnCPU(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs):
            plugin = FullyShardedDataParallelPlugin(
                fsdp_version=2, reshard_after_forward=True, state_dict_type="FULL_STATE_DICT",
                auto_wrap_policy="transformer_based_wrap")
            super().__init__(*args, fsdp_plugin=plugin, **kwargs)
            self.state.distributed_type = DistributedType.FSDP
            self.state.fsdp_plugin = plugin

    accelerate.Accelerator = FSDPOnCPU


def main(base: str, train: str, evals: str, out: str, max_steps: str = "4",
         resume: str = "") -> None:
    _force_fsdp()
    from rmpredict.train import TrainConfig, train_reward_model

    cfg = TrainConfig(base_model=base, output_dir=out, learning_rate=3e-3, global_batch_size=16,
                      per_device_batch_size=4, warmup_steps=1, eval_every=2, save_every=2,
                      max_length=64, seed=5, holdout_fraction=0, max_steps=int(max_steps),
                      resume_from=resume or None)
    res = train_reward_model(cfg, train_data=pd.read_json(train, lines=True),
                             eval_data=pd.read_json(evals, lines=True))
    rank = int(os.environ.get("RANK", "0"))
    from rmpredict.train._sharded import full_state_dicts

    # Collective: the in-memory model's full weights (rank 0 receives them).
    final = full_state_dicts(res.final.model)[0]
    torch.save({"record": res.record, "final": final,
                "n_sharded": sum(type(p).__name__ == "DTensor"
                                 for p in res.final.model.parameters())},
               os.path.join(out, f"fsdp-rank{rank}.pt"))


if __name__ == "__main__":
    main(*sys.argv[1:])
