"""Per-domain summaries of presence scores and the predictor's feature table.

All values are in nats per token (mean log-probability; higher = the model finds the domain
more familiar). With a reference model, each document's score is replaced by its difference
to the reference's score on the same document (matched by ``id``), which removes document
difficulty that every model shares (the study normalised against Crystal trained on SlimPajama).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rmpredict.datadist._corpus import domain_key
from rmpredict.datadist._run import read_scores
from rmpredict.datasets import DATADIST_PREFIX
from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = ["QUANTILES", "DEFAULT_BINS", "DEFAULT_DIFF_BINS", "normalize_scores",
           "summarize_scores", "score_histogram", "features_table", "model_name"]

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.50, 0.75, 0.95)
DEFAULT_BINS = np.linspace(-16.0, 0.0, 65)
"""Fixed histogram edges for raw scores: 0.25 nats/token wide from -16 to 0."""
DEFAULT_DIFF_BINS = np.linspace(-8.0, 8.0, 65)
"""Fixed histogram edges for reference-normalised scores (differences, nats/token)."""

ScoresLike = pd.DataFrame | str | os.PathLike


def _as_frame(scores: ScoresLike) -> pd.DataFrame:
    return scores if isinstance(scores, pd.DataFrame) else read_scores(scores)


def model_name(scores: pd.DataFrame) -> str:
    """The model a score table belongs to (provenance ``model_id``, else the file stem)."""
    prov = scores.attrs.get("rmpredict", {})
    name = prov.get("model_id") or prov.get("model")
    if not name and scores.attrs.get("source"):
        name = Path(scores.attrs["source"]).stem
    return str(name or "model")


def normalize_scores(scores: ScoresLike, reference: ScoresLike) -> pd.DataFrame:
    """Per-document score minus the reference model's score on the same document.

    Raises
    ------
    DataValidationError
        If documents of ``scores`` are missing from ``reference`` or their domains differ
        (score both models on the same corpus).
    """
    s, r = _as_frame(scores), _as_frame(reference)
    s_ok = s.dropna(subset=["mean_logprob"])
    ref = r.dropna(subset=["mean_logprob"]).set_index("id")
    missing = s_ok.loc[~s_ok["id"].isin(ref.index), "id"]
    if len(missing):
        raise DataValidationError(
            [f"{len(missing)} document id(s) have no reference score (e.g. "
             f"{', '.join(map(repr, missing.head(3)))}); score the reference model on the same "
             "corpus"], source="reference")
    bad_dom = s_ok["domain"].to_numpy() != ref.loc[s_ok["id"], "domain"].to_numpy()
    if bad_dom.any():
        raise DataValidationError(
            [f"{int(bad_dom.sum())} document(s) have a different domain in the reference (e.g. "
             f"id {s_ok['id'].to_numpy()[bad_dom][0]!r}); use the same corpus"],
            source="reference")
    out = s_ok.copy()
    out["mean_logprob"] = (s_ok["mean_logprob"].to_numpy()
                           - ref.loc[s_ok["id"], "mean_logprob"].to_numpy())
    out.attrs = dict(s.attrs)
    out.attrs["normalized_by"] = model_name(r)
    return out


def _prepared(scores: ScoresLike, reference: ScoresLike | None) -> pd.DataFrame:
    frame = _as_frame(scores)
    if reference is not None:
        return normalize_scores(frame, reference)
    return frame.dropna(subset=["mean_logprob"])


def summarize_scores(scores: ScoresLike, *, reference: ScoresLike | None = None
                     ) -> pd.DataFrame:
    """Per-domain count, mean, standard deviation and quantiles of presence scores.

    Returns
    -------
    pandas.DataFrame
        One row per domain (sorted) plus ``"all"``: domain, n, mean, std, q05, q25, q50, q75,
        q95 (nats/token; score differences if ``reference`` is given). Quantiles use numpy's
        default (linear) interpolation.
    """
    frame = _prepared(scores, reference)
    groups = [(d, g["mean_logprob"].to_numpy()) for d, g in frame.groupby("domain", sort=True)]
    groups.append(("all", frame["mean_logprob"].to_numpy()))
    rows = []
    for domain, v in groups:
        row = {"domain": domain, "n": len(v), "mean": float(np.mean(v)),
               "std": float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")}
        for q, value in zip(QUANTILES, np.quantile(v, QUANTILES)):
            row[f"q{round(q * 100):02d}"] = float(value)
        rows.append(row)
    return pd.DataFrame(rows)


def score_histogram(scores: ScoresLike, *, bins: Sequence[float] | None = None,
                    reference: ScoresLike | None = None) -> pd.DataFrame:
    """Histogram of presence scores per domain (and ``"all"``) on fixed bins.

    Values outside the edges are counted in the first or last bin, so every document is
    counted once and tables from different models are directly comparable.

    Returns
    -------
    pandas.DataFrame
        domain, bin_left, bin_right, count, fraction.
    """
    edges = np.asarray(bins if bins is not None else
                       (DEFAULT_DIFF_BINS if reference is not None else DEFAULT_BINS), float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise InvalidParameterError("bins must be at least two strictly increasing edges")
    frame = _prepared(scores, reference)
    parts = [(d, g["mean_logprob"].to_numpy()) for d, g in frame.groupby("domain", sort=True)]
    parts.append(("all", frame["mean_logprob"].to_numpy()))
    rows = []
    for domain, v in parts:
        counts = histogram_counts(v, edges)
        total = max(counts.sum(), 1)
        rows.append(pd.DataFrame({"domain": domain, "bin_left": edges[:-1],
                                  "bin_right": edges[1:], "count": counts,
                                  "fraction": counts / total}))
    return pd.concat(rows, ignore_index=True)


def histogram_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts on ``edges`` with out-of-range values put in the end bins."""
    clipped = np.clip(np.asarray(values, float), edges[0], edges[-1])
    return np.histogram(clipped, bins=edges)[0]


def features_table(scores: Sequence[ScoresLike] | Mapping[str, ScoresLike], *,
                   reference: ScoresLike | None = None, quantiles: bool = False
                   ) -> pd.DataFrame:
    """One row per model with ``datadist_<domain>`` features for the predictor.

    Parameters
    ----------
    scores : sequence of score tables/paths, or mapping model name -> table/path
        Model names come from the mapping keys, else from each file's provenance.
    reference : table or path, optional
        Reference model; features are then mean per-document differences to it.
    quantiles : bool
        Also add ``datadist_<domain>_q50`` (median). The predictor treats every
        ``datadist_`` column as a feature, so leave this off unless you want that.

    Returns
    -------
    pandas.DataFrame
        ``model`` plus ``datadist_<domain>`` (mean presence, nats/token) per domain; ``.attrs``
        records whether and by which model the features were normalised.
    """
    items = (list(scores.items()) if isinstance(scores, Mapping)
             else [(None, s) for s in scores])
    if not items:
        raise InvalidParameterError("features_table needs at least one score table")
    ref = _as_frame(reference) if reference is not None else None
    rows = []
    for name, s in items:
        frame = _as_frame(s)
        summary = summarize_scores(frame, reference=ref)
        row: dict = {"model": name or model_name(frame)}
        for rec in summary.itertuples(index=False):
            if rec.domain == "all":
                continue
            key = f"{DATADIST_PREFIX}{domain_key(rec.domain)}"
            row[key] = rec.mean
            if quantiles:
                row[f"{key}_q50"] = rec.q50
        rows.append(row)
    table = pd.DataFrame(rows)
    if table["model"].duplicated().any():
        dup = table.loc[table["model"].duplicated(), "model"].iloc[0]
        raise DataValidationError([f"two score tables belong to model {dup!r}; pass each model "
                                   "once or name them explicitly"], source="scores")
    table.attrs["normalized_by"] = model_name(ref) if ref is not None else None
    table.attrs["unit"] = ("difference of mean log-probability to the reference, nats/token"
                           if ref is not None else "mean log-probability, nats/token")
    return table
