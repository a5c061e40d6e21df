"""Scoring pairs with a reward model, RewardBench style (``rmpredict score-rm``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from rmpredict.exceptions import InvalidParameterError
from rmpredict.train._data import Encoder, check_pairs, data_fingerprint, load_rows, pair_items
from rmpredict.train._model import LoadedModel, RewardModel, load_reward_model, pad_batch
from rmpredict.train._sections import pair_correct, section_scores, subset_accuracy

__all__ = ["score_sequences", "score_reward_model", "ScoreResult", "RM_META_FILE"]

RM_META_FILE = "rm_meta.json"
"""Written next to a trained model: method, attributes, merge vector, read-out policy."""


@torch.no_grad()
def score_sequences(model: RewardModel, seqs: list[list[int]], *, pad_id: int,
                    batch_size: int = 16, padding_side: str = "right",
                    device: torch.device | str = "cpu", autocast: Any = None,
                    sort_by_length: bool = True) -> np.ndarray:
    """Reward of each sequence, shape ``(n, num_labels)``, in the input order.

    Sequences are grouped by length (less padding) when ``sort_by_length``; the result does not
    depend on the grouping because every read-out uses explicit positions and masks.
    """
    if model.is_encoder:
        # BERT-style heads pool the first position ([CLS]), so encoders are always right-padded.
        padding_side = "right"
    was_training = model.training
    model.eval()
    order = np.argsort([len(seq) for seq in seqs], kind="stable") if sort_by_length \
        else np.arange(len(seqs))
    by_position: list[np.ndarray] = [None] * len(seqs)  # type: ignore[list-item]
    try:
        for start in range(0, len(seqs), batch_size):
            positions = order[start:start + batch_size]
            batch = pad_batch([seqs[i] for i in positions], pad_id=pad_id,
                              padding_side=padding_side, device=device)
            if autocast is not None:
                with autocast():
                    rewards = model(**batch)
            else:
                rewards = model(**batch)
            rewards = rewards.float().cpu().numpy()
            for row, position in enumerate(positions):
                by_position[position] = rewards[row]
    finally:
        model.train(was_training)
    return np.stack(by_position) if by_position else np.zeros((0, 1))


@dataclass
class ScoreResult:
    """Scores of a reward model on pairs.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per scored pair: ``subset, chosen_score, rejected_score, correct``.
    per_subset : pandas.DataFrame
        ``subset, n, accuracy``.
    sections : dict
        Section -> accuracy (fraction) or ``None``; see
        :func:`rmpredict.train.section_scores`.
    info : dict
        Model, data, truncation, template and read-out details.
    """

    pairs: pd.DataFrame
    per_subset: pd.DataFrame
    sections: dict[str, float | None]
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"sections": self.sections,
                "subsets": {row.subset: {"n": int(row.n), "accuracy": float(row.accuracy)}
                            for row in self.per_subset.itertuples()},
                "n_pairs": int(len(self.pairs)), **self.info}


def _read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    meta_file = Path(path) / RM_META_FILE
    return json.loads(meta_file.read_text()) if meta_file.is_file() else {}


def pair_scores(rewards: np.ndarray, merge_vector: np.ndarray | None) -> np.ndarray:
    """Scalar score per sequence: the single output, or the merge of attribute outputs."""
    if rewards.shape[1] == 1:
        return rewards[:, 0]
    if merge_vector is None:
        raise InvalidParameterError(
            f"the model has {rewards.shape[1]} outputs (a regression RM); give a merge vector "
            f"(--merge-weights w1,w2,...) or use a model directory with {RM_META_FILE}")
    return rewards @ np.asarray(merge_vector, dtype=float)


def score_reward_model(
    model: str | os.PathLike[str] | LoadedModel,
    eval_data: Any,
    *,
    batch_size: int = 16,
    padding_side: str = "right",
    section_map: Mapping[str, Any] | None = None,
    merge_vector: list[float] | None = None,
    max_length: int | None = None,
    truncation: str = "left",
    chat_template: str = "auto",
    attn_implementation: str | None = "sdpa",
    device: str | None = None,
) -> ScoreResult:
    """Score any sequence-classification reward model on preference pairs.

    Parameters
    ----------
    model : str, path or LoadedModel
        Model directory, hub id or ``.gguf`` file (or an already loaded model).
    eval_data : path, DataFrame or datasets.Dataset
        Pairs with ``prompt, chosen, rejected`` and optionally ``subset`` (default ``"all"``).
    batch_size : int, default=16
        Sequences per forward pass; scores do not depend on it.
    padding_side : {"right", "left"}, default="right"
        Scores do not depend on it either (explicit positions and read-out index).
    section_map : mapping, optional
        Custom ``{section: [subsets]}``; default RewardBench v1.
    merge_vector : list of float, optional
        For multi-output (regression) models; default from the model's ``rm_meta.json``.
    max_length : int, optional
        Token limit per sequence (default: the model's ``max_position_embeddings``, else 2048).

    Returns
    -------
    ScoreResult
    """
    if padding_side not in ("left", "right"):
        raise InvalidParameterError(
            f"The 'padding_side' parameter must be 'left' or 'right'. Got {padding_side!r}.")
    if isinstance(model, LoadedModel):
        loaded, meta = model, {}
    else:
        meta = _read_meta(model) if Path(model).is_dir() else {}
        loaded = load_reward_model(model, num_labels=None,
                                   attn_implementation=attn_implementation)
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    loaded.model.to(target)
    frame, source = load_rows(eval_data, what="eval data")
    pairs = check_pairs(frame, source=source)
    if "subset" not in pairs.columns:
        pairs["subset"] = "all"
    model_config = loaded.model.config
    limit = max_length or getattr(model_config, "max_position_embeddings", None) or 2048
    encoder = Encoder(loaded.tokenizer, is_encoder=loaded.model.is_encoder,
                      max_length=int(limit), truncation=truncation, chat_template=chat_template)
    items, pretokenised = pair_items(pairs)
    tokens = encoder.encode_many(items, group=2, pretokenised=pretokenised)
    rewards = score_sequences(loaded.model, tokens.sequences,
                              pad_id=loaded.tokenizer.pad_token_id, batch_size=batch_size,
                              padding_side=padding_side, device=target)
    merge = merge_vector if merge_vector is not None else meta.get("merge_vector")
    scores = pair_scores(rewards, None if merge is None else np.asarray(merge, dtype=float))
    kept = pairs.iloc[tokens.kept].reset_index(drop=True)
    scored = pd.DataFrame({"subset": kept["subset"].astype(str), "chosen_score": scores[0::2],
                           "rejected_score": scores[1::2]})
    scored["correct"] = pair_correct(scored["chosen_score"], scored["rejected_score"])
    per_subset = subset_accuracy(scored["correct"], scored["subset"])
    sections = section_scores(per_subset, section_map=section_map)
    info = {"model": loaded.info, "data": data_fingerprint(frame, source),
            "truncation": tokens.truncation, "chat_template": encoder.template_info,
            "readout": "last non-padding token (from the attention mask)",
            "tie_policy": "a tie counts as incorrect (chosen must score strictly higher)",
            "merge_vector": None if merge is None else list(map(float, merge)),
            "section_map": "rewardbench-v1" if section_map is None else "custom"}
    return ScoreResult(scored, per_subset, sections, info)
