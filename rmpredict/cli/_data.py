"""``rmpredict data list|show|verify``: the bundled reference tables."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list, show or verify the bundled reference tables",
                       description="List, show or verify the bundled reference tables.")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True,
                            parser_class=type(p))
    dsub.add_parser("list", help="list the bundled tables").set_defaults(func=_list)
    show = dsub.add_parser("show", help="print a bundled table (or the joined reference)")
    show.add_argument("table", help="table name from `rmpredict data list`, or 'reference'")
    show.add_argument("--head", type=int, default=None, metavar="N", help="first N rows only")
    show.add_argument("--output", default=None, metavar="FILE",
                      help="write the table to FILE (.csv, .parquet, .jsonl) instead of stdout")
    show.set_defaults(func=_show)
    dsub.add_parser("verify", help="check the tables against MANIFEST.json").set_defaults(
        func=_verify)


def _list(args: argparse.Namespace) -> int:
    from rmpredict.datasets import list_tables

    tables = list_tables()
    print(tables.to_string(index=False))
    print("\nplus 'reference': rm_results joined with model metadata and leaderboard scores")
    return 0


def provenance_sidecar(path: str) -> str:
    """The provenance file written next to an output table: ``FILE.provenance.json``."""
    return f"{path}.provenance.json"


def _show(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable, write_json_atomic, write_table_atomic
    from rmpredict._provenance import provenance, sha256_file
    from rmpredict.datasets import data_dir, list_tables, load_reference, load_table
    from rmpredict.exceptions import InvalidParameterError

    listing = list_tables()
    tables = dict(zip(listing["table"], listing["file"]))
    if args.table != "reference" and args.table not in tables:
        raise InvalidParameterError(
            f"unknown table {args.table!r}; use one of {', '.join(tables)} or 'reference' "
            "(see `rmpredict data list`)")
    if args.head is not None and args.head < 0:
        raise InvalidParameterError(f"--head must be >= 0, got {args.head}")
    if args.output:
        sidecar = provenance_sidecar(args.output)
        check_writable(args.output, "--output")
        check_writable(sidecar, "--output (its provenance file)")
    frame = load_reference() if args.table == "reference" else load_table(args.table)
    if args.head is not None:
        frame = frame.head(args.head)
    if args.output:
        # A plain table (any CSV reader reads it as is); provenance goes to a sidecar JSON.
        write_table_atomic(args.output, frame)
        files = [tables[args.table]] if args.table in tables else \
            [tables[t] for t in ("rm_results", "models", "leaderboard_v2", "leaderboard_v1")]
        write_json_atomic(sidecar, provenance(
            command=f"rmpredict data show {args.table}" + (
                f" --head {args.head}" if args.head is not None else ""),
            table=args.table, rows=len(frame), output=str(args.output),
            source_files={f: sha256_file(data_dir() / f) for f in files}))
        print(f"wrote {len(frame)} rows to {args.output} (provenance: {sidecar})",
              file=sys.stderr)
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 30,
                               "display.max_rows", 200):
            print(frame.to_string(index=False))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from rmpredict.datasets import verify_data

    for fname, digest in verify_data().items():
        print(f"ok  {fname:28s} sha256 {digest}")
    return 0
