"""Command-line interface: a thin shell over the library (``main(argv) -> int``)."""

from rmpredict.cli._main import main

__all__ = ["main"]
