"""rmpredict: predict which base LLM makes the best reward model, and how sure that answer is.

Heavy dependencies (PyMC, PyTensor, torch, transformers) load on first use of the objects that
need them, so ``import rmpredict`` stays light.

Examples
--------
>>> import rmpredict as rmp
>>> ref = rmp.load_reference()
>>> ref[["model", "method", "score"]].shape
(66, 3)
"""

from __future__ import annotations

import importlib
from typing import Any

from rmpredict._version import __version__

# Public name -> module that defines it. Resolved lazily by __getattr__ (PEP 562).
_LAZY: dict[str, str] = {
    "load_reference": "rmpredict.datasets",
    "load_public_results": "rmpredict.datasets",
    "load_leaderboard": "rmpredict.datasets",
    "load_table": "rmpredict.datasets",
    "list_tables": "rmpredict.datasets",
    "read_candidates": "rmpredict.datasets",
    "read_results": "rmpredict.datasets",
    "validate_table": "rmpredict.datasets",
    "HierarchicalRMPredictor": "rmpredict.models",
    "PredictionResult": "rmpredict.models",
    "MeanBaseline": "rmpredict.models",
    "BestSingleBenchmark": "rmpredict.models",
    "ElasticNetBaseline": "rmpredict.models",
    "RidgeBaseline": "rmpredict.models",
    "OLSBaseline": "rmpredict.models",
    "leave_one_publisher_out": "rmpredict.evaluation",
    "rank_candidates": "rmpredict.decisions",
    "suggest_next": "rmpredict.decisions",
    "load_release": "rmpredict.release",
    "list_releases": "rmpredict.release",
    "features_table": "rmpredict.datadist",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rmpredict' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
