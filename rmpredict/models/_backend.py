"""Lazy imports of the heavy Bayesian stack, with install hints and quiet import warnings."""

from __future__ import annotations

import warnings
from types import ModuleType

from rmpredict.exceptions import MissingDependencyError

__all__ = ["import_arviz", "import_pymc", "import_nutpie"]


def import_arviz() -> ModuleType:
    """Import ArviZ without its import-time refactor announcement (not actionable here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*ArviZ is undergoing",
                                category=FutureWarning)
        import arviz

    return arviz


def import_pymc() -> ModuleType:
    import_arviz()
    import pymc

    return pymc


def import_nutpie() -> ModuleType:
    try:
        import nutpie
    except ImportError as exc:  # pragma: no cover - nutpie is a core dependency
        raise MissingDependencyError(
            "sampler='nutpie' needs nutpie: pip install nutpie (or pass sampler='pymc')") from exc
    return nutpie
