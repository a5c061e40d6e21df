"""``rmpredict validate FILE``: check a candidates or results table."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate", help="check a candidates or results table (exit 0 if valid, 2 otherwise)",
        description="Check a table (CSV, Parquet or JSON Lines). Exit 0 when valid; exit 2 "
                    "with the full list of problems otherwise.")
    p.add_argument("file", help="table to check")
    p.add_argument("--kind", choices=["auto", "candidates", "results"], default="auto",
                   help="table kind; auto = results if it has a method column (default: auto)")
    p.add_argument("--no-fill", action="store_true",
                   help="do not fill missing values from the bundled leaderboard tables")
    p.set_defaults(func=_run, full_report=True)


def _run(args: argparse.Namespace) -> int:
    from rmpredict._io import read_table
    from rmpredict.datasets import canonical_column, validate_table
    from rmpredict.exceptions import DataValidationError, InvalidParameterError

    try:
        frame = read_table(args.file)
    except DataValidationError as exc:
        # A file that cannot be read at all (missing, unknown suffix, unparsable) is one
        # problem with the FILE argument: report it on one line, not as a table report.
        raise InvalidParameterError(exc.problems[0]) from None
    kind = args.kind
    if kind == "auto":
        kind = "results" if any(canonical_column(c) == "method" for c in frame.columns) \
            else "candidates"
    table = validate_table(frame, kind, source=args.file, fill_from_reference=not args.no_fill)
    print(f"{args.file}: valid {kind} table, {len(table.frame)} row(s)")
    if len(table.filled):
        print(f"filled {len(table.filled)} value(s) from the bundled tables:")
        print(table.filled.to_string(index=False))
    return 0
