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
import contextlib
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence

from rmpredict._version import __version__
from rmpredict.exceptions import (
    DataValidationError,
    FilledValuesWarning,
    RMPredictError,
    RMPredictWarning,
)

_LOG = logging.getLogger("rmpredict.cli")

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


_VERBOSE_HELP = "also log other libraries' warnings and details to stderr"


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    """``--verbose`` on ``parser`` and every subcommand below it (``rmpredict fit -v`` works)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if "--verbose" not in child._option_string_actions:
                    # SUPPRESS: a subcommand without the flag keeps the top-level value.
                    child.add_argument("-v", "--verbose", action="store_true",
                                       default=argparse.SUPPRESS, help=_VERBOSE_HELP)
                _add_verbose(child)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rmpredict",
        description="Predict which base LLM makes the best reward model, with uncertainty.",
    )
    parser.add_argument("--version", action="version", version=f"rmpredict {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    _add_verbose(parser)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    return text or type(exc).__name__


@contextlib.contextmanager
def _warnings_and_logging(prog: str, verbose: bool) -> Iterator[None]:
    """rmpredict's warnings as one stderr line each; other libraries' warnings to the log.

    Foreign warnings (e.g. ArviZ's FutureWarning about its refactor) are not rmpredict's
    message: they go to the ``rmpredict.cli`` logger at INFO level, which prints to stderr only
    with ``--verbose``. Values filled from the bundled tables are reported by the commands
    themselves, so their :class:`FilledValuesWarning` is not repeated.
    """
    handler = None
    logger = logging.getLogger("rmpredict")
    old_level = logger.level
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{prog}: log: %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    def _show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        if issubclass(category, RMPredictWarning):
            print(f"{prog}: warning: {message}", file=sys.stderr)
        else:
            _LOG.info("%s from %s:%s: %s", category.__name__, filename, lineno,
                      str(message).strip().replace("\n", " "))

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FilledValuesWarning)
        warnings.showwarning = _show
        try:
            yield
        finally:
            if handler is not None:
                logger.removeHandler(handler)
            logger.setLevel(old_level)


def _silence_broken_stdout() -> None:
    """After the reader of stdout went away (``| head``): send the rest to /dev/null.

    Python flushes stdout at exit; without this the flush raises BrokenPipeError again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (e.g. captured in a test)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``rmpredict`` command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    prog = f"rmpredict {args.command}"
    with _warnings_and_logging(prog, bool(getattr(args, "verbose", False))):
        try:
            code = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
            return code
        except BrokenPipeError:
            # `rmpredict predict ... | head -1`: the reader has what it wanted. No traceback;
            # 141 = 128 + SIGPIPE, what a shell reports for a process ended by a closed pipe.
            _silence_broken_stdout()
            return 141
        except DataValidationError as exc:
            if getattr(args, "full_report", False):
                print(f"{prog}: error: {exc.report()}", file=sys.stderr)
            else:
                print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except (RMPredictError, FileNotFoundError, IsADirectoryError, NotADirectoryError,
                PermissionError) as exc:
            print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{prog}: interrupted; nothing partial was written", file=sys.stderr)
            return 130
