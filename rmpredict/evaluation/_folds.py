"""Leave-one-group-out folds: the one place that splits a results table for evaluation.

A :class:`GroupFold` holds a fold's training rows, held-out rows and the candidates built from
them (held-out targets removed). Predictors are fitted on ``train`` only — the hierarchical
model learns its vocabularies, feature scaling and stacking weights from those rows — so no
choice made in a fold sees its held-out group. Used by :func:`leave_one_publisher_out`, the
offline study and any user table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rmpredict.datasets import TARGETS
from rmpredict.exceptions import DataValidationError

__all__ = ["GroupFold", "group_folds"]


@dataclass(frozen=True)
class GroupFold:
    """One fold: ``train`` rows, held-out ``test`` rows and their ``candidates``."""

    fold: int
    group: str
    held_out: np.ndarray  # boolean mask over the full table's rows
    train: pd.DataFrame
    test: pd.DataFrame

    @property
    def candidates(self) -> pd.DataFrame:
        """One row per held-out model with its features, without the targets."""
        return (self.test.drop(columns=[c for c in TARGETS if c in self.test.columns])
                .drop_duplicates("model").reset_index(drop=True))


def group_folds(frame: pd.DataFrame, column: str = "publisher") -> Iterator[GroupFold]:
    """Yield one :class:`GroupFold` per distinct value of ``column`` (sorted).

    Raises
    ------
    DataValidationError
        ``column`` is missing or empty for some rows, or has fewer than two groups.
    """
    if column not in frame.columns:
        raise DataValidationError(
            [f"column '{column}' is missing; leave-one-{column}-out needs the {column} of "
             f"every model — add a '{column}' column"])
    missing = frame[column].isna()
    if missing.any():
        models = frame.loc[missing, "model"].unique().tolist()[:5]
        raise DataValidationError(
            [f"column '{column}' is empty for model(s) {models}; fill in the {column} of each "
             "model"])
    groups = sorted(frame[column].astype(str).unique())
    if len(groups) < 2:
        raise DataValidationError(
            [f"column '{column}' has {len(groups)} distinct value(s); leave-one-{column}-out "
             f"needs at least 2 {column}s"])
    values = frame[column].astype(str).to_numpy()
    for fold, group in enumerate(groups):
        held = values == group
        yield GroupFold(fold, group, held, frame[~held].reset_index(drop=True),
                        frame[held].reset_index(drop=True))
