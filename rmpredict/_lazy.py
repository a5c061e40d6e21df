"""Lazy attribute access for subpackages whose heavy parts need an optional extra."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(package: str, names: dict[str, str], heavy_modules: set[str],
                 namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``names[attr]`` on first use and caches it.

    When a module in ``heavy_modules`` fails to import because torch, transformers,
    accelerate or tokenizers is missing, the error says to install the ``train`` extra.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = names[name]
        try:
            value = getattr(importlib.import_module(module), name)
        except ImportError as exc:
            if module in heavy_modules and getattr(exc, "name", "") in (
                    "torch", "transformers", "accelerate", "tokenizers"):
                from rmpredict.exceptions import MissingDependencyError

                raise MissingDependencyError(
                    f"{package}.{name} needs {exc.name}: "
                    'pip install "rmpredict[train]"') from exc
            raise
        namespace[name] = value
        return value

    return __getattr__
