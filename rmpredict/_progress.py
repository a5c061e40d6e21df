"""When to show progress bars: on a terminal, quiet otherwise."""

from __future__ import annotations

import sys

__all__ = ["progress_enabled"]


def progress_enabled(progress: bool | None = None) -> bool:
    """``progress`` if given, else whether stderr is a terminal (long runs stay quiet in logs)."""
    return sys.stderr.isatty() if progress is None else bool(progress)
