"""Padding token sequences into one batch: shared by the RM trainer/scorer and presence scoring.

Needs torch (the ``train`` extra); imported only by those subpackages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pad_batch"]


def pad_batch(seqs: list[list[int]], *, pad_id: int, padding_side: str = "right",
              device: Any = "cpu") -> dict[str, Any]:
    """Pad sequences into one batch (one row each) with explicit positions and read-out index.

    Positions count real tokens only, so a left-padded sequence sees the same positions as an
    unpadded one (the default ``arange`` would shift them by the padding length); that is what
    makes scores independent of padding side and batch size.

    Returns
    -------
    dict
        ``input_ids``, ``attention_mask``, ``position_ids`` (``(n, width)`` long tensors),
        ``last_index`` (position of each row's last real token) and ``row_index``.
    """
    import torch

    n = len(seqs)
    width = max(len(s) for s in seqs)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, s in enumerate(seqs):
        if padding_side == "right":
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        else:
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, width - len(s):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    last = (mask * torch.arange(width)).argmax(-1)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device),
            "position_ids": positions.to(device), "last_index": last.to(device),
            "row_index": torch.arange(n, device=device)}
