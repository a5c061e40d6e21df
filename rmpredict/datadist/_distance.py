"""Jensen-Shannon distances between models' presence-score distributions.

For two models the scores of one domain (or of all documents, ``"all"``) are binned on shared
edges and the distance is

    JSD(P, Q) = sqrt( (KL(P || M) + KL(Q || M)) / 2 ),  M = (P + Q) / 2,

with base-2 logarithms, so it lies in [0, 1] (0: same histogram, 1: disjoint supports). It
equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rmpredict.datadist._summary import ScoresLike, _prepared, histogram_counts, model_name
from rmpredict.exceptions import InvalidParameterError

__all__ = ["js_distance", "shared_bins", "distance_matrix", "distance_matrices"]


def js_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two histograms.

    ``p`` and ``q`` are non-negative counts or probabilities on the same bins; each is
    normalised to sum to one.
    """
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.shape != q.shape or p.ndim != 1:
        raise InvalidParameterError(f"p and q must be 1-d of equal length, got {p.shape} and "
                                    f"{q.shape}")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise InvalidParameterError("p and q must be non-negative with a positive sum")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0  # 0 * log 0 = 0; m > 0 wherever a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    js = (kl(p) + kl(q)) / 2
    return float(np.sqrt(max(js, 0.0)))  # rounding can give -1e-17


def shared_bins(values: Sequence[np.ndarray], *, n_bins: int = 40) -> np.ndarray:
    """Equal-width edges spanning the pooled range of every model's scores."""
    if n_bins < 1:
        raise InvalidParameterError(f"n_bins must be >= 1, got {n_bins}")
    pooled = np.concatenate([np.asarray(v, float) for v in values])
    lo, hi = float(pooled.min()), float(pooled.max())
    if hi <= lo:  # all scores equal: one bin of width 1 around them
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, n_bins + 1)


def _named(scores: Sequence[ScoresLike] | Mapping[str, ScoresLike],
           reference: ScoresLike | None) -> dict[str, pd.DataFrame]:
    items = (list(scores.items()) if isinstance(scores, Mapping)
             else [(None, s) for s in scores])
    out: dict[str, pd.DataFrame] = {}
    for name, s in items:
        frame = _prepared(s, reference)
        key = name or model_name(frame)
        if key in out:
            raise InvalidParameterError(f"model {key!r} given twice; pass each model once")
        out[key] = frame
    if len(out) < 2:
        raise InvalidParameterError("a distance matrix needs score tables of at least 2 models")
    return out


def distance_matrix(scores: Sequence[ScoresLike] | Mapping[str, ScoresLike], *,
                    domain: str = "all", bins: int | Sequence[float] = 40,
                    reference: ScoresLike | None = None) -> pd.DataFrame:
    """Model x model Jensen-Shannon distances for one domain (``"all"`` = every document).

    Parameters
    ----------
    scores : sequence of score tables/paths, or mapping model name -> table/path
    domain : str
        Domain to compare, or ``"all"``.
    bins : int or sequence of float
        Number of equal-width bins over the pooled range of all models (shared by every
        pair), or explicit edges (values outside go to the end bins).
    reference : table or path, optional
        Compare reference-normalised scores instead of raw ones.

    Returns
    -------
    pandas.DataFrame
        Symmetric, zero diagonal, index and columns = model names.
    """
    frames = _named(scores, reference)
    values = {}
    for name, f in frames.items():
        v = f["mean_logprob"].to_numpy() if domain == "all" else \
            f.loc[f["domain"] == domain, "mean_logprob"].to_numpy()
        if len(v) == 0:
            known = sorted(f["domain"].unique())
            raise InvalidParameterError(f"model {name!r} has no scores in domain {domain!r}; "
                                        f"known domains: {', '.join(known)}, or 'all'")
        values[name] = v
    edges = (shared_bins(list(values.values()), n_bins=bins) if np.isscalar(bins)
             else np.asarray(bins, float))
    hists = {k: histogram_counts(v, edges) for k, v in values.items()}
    names = list(values)
    mat = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            mat[i, j] = mat[j, i] = js_distance(hists[a], hists[names[j]])
    out = pd.DataFrame(mat, index=pd.Index(names, name="model"), columns=names)
    out.attrs.update({"domain": domain, "bin_edges": edges.tolist(),
                      "metric": "Jensen-Shannon distance, base 2"})
    return out


def distance_matrices(scores: Sequence[ScoresLike] | Mapping[str, ScoresLike], *,
                      bins: int | Sequence[float] = 40, reference: ScoresLike | None = None
                      ) -> dict[str, pd.DataFrame]:
    """:func:`distance_matrix` for every domain shared by all models, plus ``"all"``."""
    frames = _named(scores, reference)
    common = sorted(set.intersection(*(set(f["domain"]) for f in frames.values())))
    return {d: distance_matrix(frames, domain=d, bins=bins) for d in [*common, "all"]}
