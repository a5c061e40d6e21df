"""Entry point and conventions shared by every subcommand.

Each command module defines ``register(subparsers)``, which adds its subcommand(s) and sets
``func`` (a callable ``args -> int``) with ``set_defaults``. Command modules import only
argparse-level code at module import; the library work is imported inside ``func``.

Conventions: an input error is one line on stderr (``rmpredict CMD: error: ...``) and exit
code 2, never a traceback; outputs are written atomically; machine-readable outputs carry the
rmpredict version.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from rmpredict._version import __version__
from rmpredict.exceptions import DataValidationError, RMPredictError, RMPredictWarning

# Modules that register subcommands, in --help order.
COMMAND_MODULES: list[str] = [
    "rmpredict.cli._data",
    "rmpredict.cli._validate",
    "rmpredict.cli._fit",
    "rmpredict.cli._evaluate",
    "rmpredict.cli._rank",
    "rmpredict.cli._release",
    "rmpredict.cli._train",
    "rmpredict.cli._datadist",
    "rmpredict.cli._study",
]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rmpredict",
        description="Predict which base LLM makes the best reward model, with uncertainty.",
    )
    parser.add_argument("--version", action="version", version=f"rmpredict {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rmpredict`` command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    prog = f"rmpredict {args.command}"

    def _show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, RMPredictWarning):
            print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            print(f"{prog}: {category.__name__}: {message}", file=sys.stderr)

    old = warnings.showwarning
    warnings.showwarning = _show
    try:
        return int(args.func(args) or 0)
    except DataValidationError as exc:
        if getattr(args, "full_report", False):
            print(f"{prog}: error: {exc.report()}", file=sys.stderr)
        else:
            print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except (RMPredictError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing partial was written", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = old

