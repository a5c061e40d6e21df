"""Design matrices: benchmark scores, log size and log tokens in one documented layout."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rmpredict.datasets import V2_BENCHMARKS, is_datadist_column

__all__ = ["BASELINE_FEATURES", "baseline_matrix", "datadist_columns"]

BASELINE_FEATURES: tuple[str, ...] = (*V2_BENCHMARKS, "log_params", "log_tokens")
"""Features of the baselines: six leaderboard-v2 scores (fractions), natural log of
parameters (billions) and natural log of pre-training tokens (trillions) — the feature set of
the measured anchors in ``shared/reference/anchors-measured.md``."""


def baseline_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Baseline design matrix (missing inputs stay NaN; imputation is the predictor's job)."""
    out = pd.DataFrame(index=frame.index)
    for col in V2_BENCHMARKS:
        out[col] = pd.to_numeric(frame[col], errors="coerce") if col in frame else np.nan
    params = pd.to_numeric(frame["params_b"], errors="coerce") if "params_b" in frame else np.nan
    tokens = (pd.to_numeric(frame["pretrain_tokens_t"], errors="coerce")
              if "pretrain_tokens_t" in frame else np.nan)
    out["log_params"] = np.log(params)
    out["log_tokens"] = np.log(tokens)
    return out[list(BASELINE_FEATURES)].astype(float)


def datadist_columns(frame: pd.DataFrame) -> list[str]:
    """Data-distribution feature columns (``datadist_<domain>``) present in ``frame``, sorted."""
    return sorted(c for c in frame.columns if is_datadist_column(c))
