"""Helpers for sharded (FSDP) training: gathered state dicts and scoring split over ranks.

Under FSDP every rank holds a shard of each parameter, so a forward pass is a collective (all
ranks must run it, with the same number of calls) and full weights exist only when gathered.
These helpers use torch's ``torch.distributed.checkpoint.state_dict`` API, which handles FSDP1
wrappers and FSDP2 (``fully_shard``) modules alike and, for unsharded modules, reduces to
``state_dict()`` / ``load_state_dict()``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from rmpredict.train._score import score_sequences

__all__ = ["HF_PREFIX", "hf_state_dict", "full_state_dicts", "load_full_state_dicts",
           "load_full_model_state", "sharded_scores", "shard_indices"]

HF_PREFIX = "hf."
"""Prefix of the Hugging Face model's keys inside :class:`RewardModel`'s state dict."""


def hf_state_dict(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The Hugging Face model's part of a RewardModel state dict (``hf.`` prefix removed)."""
    return {name[len(HF_PREFIX):]: tensor for name, tensor in state_dict.items()
            if name.startswith(HF_PREFIX)}


def full_state_dicts(model: torch.nn.Module, optimizer: Any = None
                     ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Gather the full model (and optimizer) state dicts onto rank 0, on CPU.

    A collective under FSDP: every rank must call it. Other ranks receive empty dicts (only
    rank 0 writes files, and gathering a copy on every rank would need the whole model's memory
    once per rank).

    Returns
    -------
    (model_state, optimizer_state)
        Model keys are the unwrapped module's names (no FSDP prefixes); the optimizer state is
        keyed by parameter name; ``optimizer_state`` is None without an optimizer.
    """
    from torch.distributed.checkpoint.state_dict import (
        StateDictOptions,
        get_model_state_dict,
        get_state_dict,
    )

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    if optimizer is None:
        return get_model_state_dict(model, options=options), None
    return get_state_dict(model, optimizer, options=options)


def load_full_state_dicts(model: torch.nn.Module, optimizer: Any, model_state: dict[str, Any],
                          optim_state: dict[str, Any]) -> None:
    """Load full (unsharded) model and optimizer state dicts into a sharded model (collective).

    Every rank passes the same full dicts; each keeps its own shard.
    """
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    set_state_dict(model, optimizer, model_state_dict=model_state, optim_state_dict=optim_state,
                   options=StateDictOptions(full_state_dict=True))


def load_full_model_state(model: torch.nn.Module, model_dir: str | Path, *,
                          rank0_only: bool) -> None:
    """Load a saved Hugging Face model directory's weights into a (sharded) RewardModel.

    A collective under FSDP. Only rank 0 reads the ``*.safetensors`` files; the weights are
    broadcast from it, so the other ranks never hold the whole model.

    Parameters
    ----------
    model : torch.nn.Module
        The FSDP-wrapped :class:`~rmpredict.train.RewardModel`.
    model_dir : path
        A directory written by ``save_pretrained`` (safetensors, possibly in several files).
    rank0_only : bool
        True on rank 0 (which reads the files), False elsewhere.
    """
    from safetensors.torch import load_file
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    full: dict[str, torch.Tensor] = {}
    if rank0_only:
        for shard_file in sorted(Path(model_dir).glob("*.safetensors")):
            full.update({HF_PREFIX + name: tensor
                         for name, tensor in load_file(str(shard_file)).items()})
    set_model_state_dict(model, full, options=StateDictOptions(
        full_state_dict=True, broadcast_from_rank0=True))


def shard_indices(n_items: int, rank: int, world: int) -> list[int]:
    """Rank ``rank``'s contiguous share of ``n_items``, padded to ``ceil(n_items / world)``.

    Every rank gets the same count (FSDP forwards are collectives: ranks must run the same
    number of batches); the padding repeats the last item and is dropped after gathering.
    """
    per_rank = -(-n_items // world) if n_items else 0
    return [min(i, n_items - 1) for i in range(rank * per_rank, (rank + 1) * per_rank)]


def sharded_scores(accelerator: Any, model: torch.nn.Module, seqs: list[list[int]], **kw: Any
                   ) -> np.ndarray:
    """Score ``seqs`` with each rank taking a share, gathered in input order on every rank.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
    model : torch.nn.Module
        The wrapped (sharded) reward model.
    seqs : list of list of int
        Token ids of the sequences.
    **kw
        Passed to :func:`rmpredict.train.score_sequences` (``pad_id``, ``batch_size`` …).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(seqs), num_labels)``.
    """
    n_seqs = len(seqs)
    share = shard_indices(n_seqs, accelerator.process_index, accelerator.num_processes)
    local = score_sequences(model, [seqs[i] for i in share], **kw)
    gathered = accelerator.gather(
        torch.from_numpy(np.ascontiguousarray(local)).to(accelerator.device))
    # Shares are contiguous and gathered in rank order, so the first rows are the input order.
    return gathered.cpu().numpy()[:n_seqs]
