"""Released fitted models: load by name, verify, cite, and build your own.

Examples
--------
>>> from rmpredict.release import list_releases
>>> [r.full_name for r in list_releases()][:1]  # doctest: +SKIP
['rmpredict-rewardbench-v1@2026.11']
"""

from __future__ import annotations

import os

from rmpredict.release._build import build_release, render_card
from rmpredict.release._cite import STUDY_BIBTEX, cite, release_bibtex
from rmpredict.release._registry import (
    Release,
    bundled_registry_dir,
    find_release,
    read_registry,
    verify_release,
)

__all__ = [
    "STUDY_BIBTEX",
    "Release",
    "build_release",
    "bundled_registry_dir",
    "cite",
    "find_release",
    "list_releases",
    "load_release",
    "read_registry",
    "release_bibtex",
    "render_card",
    "verify_release",
]


def list_releases(registry_dir: str | os.PathLike[str] | None = None) -> list[Release]:
    """Releases of a registry (the bundled one by default), oldest first."""
    return read_registry(registry_dir)


def load_release(name: str | None = None, *,
                 registry_dir: str | os.PathLike[str] | None = None):
    """Load a released model after checking its sha256 (newest release when ``name`` is None).

    Raises
    ------
    ReleaseIntegrityError
        The file is missing, modified or truncated (the message says how to restore it).
    """
    from rmpredict.models import HierarchicalRMPredictor

    release = find_release(name, registry_dir)
    verify_release(release)
    model = HierarchicalRMPredictor.load(release.path)
    model.release_ = release
    return model
