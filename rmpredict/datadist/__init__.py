"""Estimated data-distribution features: per-domain presence scores and model distances.

A model's *presence score* for a document is its mean token log-probability (nats/token) over
the document's first N tokens (default 2048). Averaged per domain of a probe corpus these give
``datadist_<domain>`` features for the predictor; the distributions give Jensen-Shannon
distances between models. Scoring needs the ``train`` extra (torch, transformers); summaries
and distances need only pandas.

Examples
--------
>>> from rmpredict.datadist import read_corpus, probe_corpus_path
>>> corpus = read_corpus(probe_corpus_path())
>>> corpus.domains
['books', 'code', 'definitions', 'exam', 'technical']
"""

from __future__ import annotations

from rmpredict.datadist._corpus import Corpus, domain_key, probe_corpus_path, read_corpus
from rmpredict.datadist._distance import (
    distance_matrices,
    distance_matrix,
    js_distance,
    shared_bins,
)
from rmpredict.datadist._run import load_model, model_fingerprint, read_scores, score_corpus
from rmpredict.datadist._score import ScoreConfig, score_texts, score_token_ids
from rmpredict.datadist._summary import (
    DEFAULT_BINS,
    DEFAULT_DIFF_BINS,
    QUANTILES,
    features_table,
    normalize_scores,
    score_histogram,
    summarize_scores,
)

__all__ = [
    "Corpus",
    "read_corpus",
    "probe_corpus_path",
    "domain_key",
    "ScoreConfig",
    "score_texts",
    "score_token_ids",
    "score_corpus",
    "load_model",
    "model_fingerprint",
    "read_scores",
    "QUANTILES",
    "DEFAULT_BINS",
    "DEFAULT_DIFF_BINS",
    "normalize_scores",
    "summarize_scores",
    "score_histogram",
    "features_table",
    "js_distance",
    "shared_bins",
    "distance_matrix",
    "distance_matrices",
    "plot_distance_heatmap",
]


def __getattr__(name: str):
    if name == "plot_distance_heatmap":  # thin re-export; the plot lives in rmpredict.plots
        from rmpredict.plots import plot_distance_heatmap

        return plot_distance_heatmap
    raise AttributeError(f"module 'rmpredict.datadist' has no attribute {name!r}")
