"""The data of one training run: loading, validation, the held-out split, fingerprints (no torch).

The validation pairs choose the checkpoint, the learning rate (``lr_sweep``) and the merge
vector, so accuracy measured on them afterwards is optimistic. The final RewardBench-style score
is therefore measured on ``test_data`` when given, else on a seeded split of the validation pairs
held out from every choice. When the pairs are too few to split, or the split is turned off,
the score is measured on the choosing pairs and the record says so (``selection_biased``), with
one :class:`SelectionBiasWarning` when that was not asked for.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import DataWarning
from rmpredict.train._config import TrainConfig
from rmpredict.train._data import check_pairs, check_regression_rows, data_fingerprint, load_rows

__all__ = ["SelectionBiasWarning", "MIN_HOLDOUT_PAIRS", "HOLDOUT_STREAM", "RunData",
           "split_eval_pairs", "prepare_run_data"]

MIN_HOLDOUT_PAIRS = 16
"""Fewest pairs on each side of a held-out split; with fewer, the score is selection-biased."""

HOLDOUT_STREAM = 0x5E1EC7
"""Second seed word of the split's generator, so it never shares a stream with the data order
(which uses ``[seed, epoch]``)."""


class SelectionBiasWarning(DataWarning):
    """The final score was measured on the pairs that chose the checkpoint (no held-out split).

    The record is marked ``selection_biased``; ``rmpredict results add`` refuses such records,
    and the calibration study never feeds them to the predictor.
    """


@dataclass
class RunData:
    """Checked data of a run, shared by every learning rate of a sweep.

    Attributes
    ----------
    train : pandas.DataFrame
        Checked training pairs (or regression rows).
    selection : pandas.DataFrame
        Validation pairs that choose the checkpoint, learning rate and merge vector.
    test : pandas.DataFrame or None
        Pairs of the final score; ``None`` means the score is measured on ``selection``.
    scored_on : str
        ``"test_data"``, ``"eval_data_holdout"`` or ``"eval_data"``.
    selection_biased : bool
        Whether the final score is measured on pairs that took part in a choice.
    train_fingerprint, eval_fingerprint : dict
        Source, sha256 or content hash and rows of the data as given.
    test_fingerprint : dict or None
        The same for the scored pairs (the held-out part, or ``test_data``).
    holdout : dict or None
        The split (seed, fraction, sizes, hash of the held-out ids), when one was made.
    """

    train: pd.DataFrame
    selection: pd.DataFrame
    test: pd.DataFrame | None
    scored_on: str
    selection_biased: bool
    train_fingerprint: dict[str, Any]
    eval_fingerprint: dict[str, Any]
    test_fingerprint: dict[str, Any] | None = None
    holdout: dict[str, Any] | None = None

    @property
    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the interrupted one: content hashes and sizes of
        the training and validation data (paths left out)."""
        def strip(fingerprint: dict[str, Any]) -> dict[str, Any]:
            return {key: value for key, value in fingerprint.items() if key != "source"}

        return {"train": strip(self.train_fingerprint), "eval": strip(self.eval_fingerprint)}


def split_eval_pairs(pairs: pd.DataFrame, *, fraction: float, seed: int,
                     min_pairs: int = MIN_HOLDOUT_PAIRS
                     ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]] | None:
    """Hold out a seeded share of validation pairs, stratified by ``subset``.

    Each subset with at least two pairs gives ``round(fraction * n)`` of them (at least one,
    at most ``n - 1``) to the held-out part, so every subset the score reports is also seen by
    the selection; a subset with one pair stays in the selection part.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Checked validation pairs.
    fraction : float
        Share held out, in (0, 1).
    seed : int
        The run's seed; the generator is ``numpy.random.default_rng([seed, HOLDOUT_STREAM])``.
    min_pairs : int, default=MIN_HOLDOUT_PAIRS
        Fewest pairs each part must have.

    Returns
    -------
    (selection, held_out, info) or None
        ``None`` when a part would have fewer than ``min_pairs`` pairs. ``info`` holds the
        seed, the fraction, both sizes and a hash of the held-out ids (the ``id`` column when
        there is one, else the row positions).
    """
    from rmpredict._provenance import hash_json

    rng = np.random.default_rng([seed, HOLDOUT_STREAM])
    strata = pairs["subset"].astype(str) if "subset" in pairs.columns else \
        pd.Series("all", index=pairs.index)
    held: list[int] = []
    for name in sorted(strata.unique()):
        rows = np.flatnonzero((strata == name).to_numpy())
        if len(rows) < 2:
            continue
        take = min(max(round(fraction * len(rows)), 1), len(rows) - 1)
        held.extend(rng.permutation(rows)[:take].tolist())
    held_mask = np.zeros(len(pairs), dtype=bool)
    held_mask[held] = True
    n_test = int(held_mask.sum())
    if n_test < min_pairs or len(pairs) - n_test < min_pairs:
        return None
    ids = pairs["id"].astype(str).to_numpy()[held_mask].tolist() if "id" in pairs.columns \
        else np.flatnonzero(held_mask).tolist()
    info = {"seed": int(seed), "generator": f"numpy default_rng([seed, {HOLDOUT_STREAM:#x}])",
            "fraction": float(fraction), "stratified_by": "subset" if "subset" in pairs.columns
            else None, "n_selection": int(len(pairs) - n_test), "n_test": n_test,
            "ids": "id column" if "id" in pairs.columns else "row positions",
            "test_ids_hash": hash_json(sorted(ids))}
    return (pairs.loc[~held_mask].reset_index(drop=True),
            pairs.loc[held_mask].reset_index(drop=True), info)


def _same_data(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return any(a.get(key) is not None and a.get(key) == b.get(key)
               for key in ("sha256", "content_hash"))


def prepare_run_data(config: TrainConfig, *, train_data: Any = None, eval_data: Any = None,
                     test_data: Any = None) -> RunData:
    """Load and check the run's data and decide what the final score is measured on.

    Parameters
    ----------
    config : TrainConfig
    train_data, eval_data, test_data : DataFrame, datasets.Dataset or path, optional
        Override ``config.train_data`` / ``eval_data`` / ``test_data``.

    Returns
    -------
    RunData

    Warns
    -----
    SelectionBiasWarning
        Once, when no test data is given and the validation pairs are too few to hold out a
        split (or the test data are the validation data); not when ``holdout_fraction=0``
        asks for scoring on the validation pairs (the record is marked either way).
    """
    regression = config.method == "regression"
    train_frame, train_source = load_rows(
        train_data if train_data is not None else config.train_data, what="train data")
    eval_frame, eval_source = load_rows(
        eval_data if eval_data is not None else config.eval_data, what="eval data")
    if regression:
        train = check_regression_rows(train_frame, list(config.attributes), source=train_source)
    else:
        train = check_pairs(train_frame, source=train_source, margin_column=config.margin_column)
    selection = check_pairs(eval_frame, source=eval_source)
    eval_fingerprint = data_fingerprint(eval_frame, eval_source)
    data = RunData(train=train, selection=selection, test=None, scored_on="eval_data",
                   selection_biased=True, eval_fingerprint=eval_fingerprint,
                   train_fingerprint=data_fingerprint(train_frame, train_source))
    test = test_data if test_data is not None else (config.test_data or None)
    if test is not None:
        # Checked now, not after hours of training.
        test_frame, test_source = load_rows(test, what="test data")
        data.test = check_pairs(test_frame, source=test_source)
        data.test_fingerprint = data_fingerprint(test_frame, test_source)
        data.scored_on = "test_data"
        data.selection_biased = _same_data(data.test_fingerprint, eval_fingerprint)
        if data.selection_biased:
            _warn("the test data are the eval data, which choose the checkpoint, learning rate "
                  "and merge vector: the final score is optimistic; the record is marked "
                  "selection_biased; give held-out pairs as --test-data")
        return data
    if config.holdout_fraction == 0:
        return data  # asked for: marked in the record, no warning
    split = split_eval_pairs(selection, fraction=config.holdout_fraction, seed=config.seed)
    if split is None:
        _warn(f"no test data and only {len(selection)} eval pairs (a held-out split needs "
              f"{MIN_HOLDOUT_PAIRS} on each side): the final score is measured on the pairs "
              "that chose the checkpoint, learning rate and merge vector, so it is optimistic; "
              "the record is marked selection_biased; give --test-data or more eval pairs")
        return data
    data.selection, data.test, data.holdout = split
    data.scored_on, data.selection_biased = "eval_data_holdout", False
    data.test_fingerprint = data_fingerprint(data.test, f"{eval_source} (held-out split)")
    return data


def _warn(message: str) -> None:
    # stacklevel 3: the caller of prepare_run_data (train_reward_model or the user).
    warnings.warn(message, SelectionBiasWarning, stacklevel=3)
