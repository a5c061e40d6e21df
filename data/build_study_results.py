"""Bundle a finished offline-study run as the second study in data/ (``study/results/``).

    python data/build_study_results.py --work runs/study-cpu

Copies the run's results table, its ground-truth records and the evaluation outputs, renders
the report tables (``REPORT_TABLES.md``, included by docs/study.md) from those copies only, and
writes ``MANIFEST.json`` with the sha256 of every file. Trained weights and converted base models
are not bundled (size; the Gemma terms).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "study" / "results"
EVAL_FILES = ("metrics.csv", "predictions.csv", "presence.csv", "report.json")


def build(work: Path, out: Path = OUT) -> dict:
    from rmpredict._provenance import sha256_file
    from rmpredict.study._report import render_study_tables

    missing = [p for p in [work / "results.csv", work / "records", work / "study.json",
                           *(work / "evaluation" / f for f in EVAL_FILES)] if not p.exists()]
    if missing:
        sys.exit("missing in the run: " + ", ".join(map(str, missing))
                 + " (run every stage, then 'rmpredict study evaluate')")
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "records").mkdir(parents=True)
    (tmp / "evaluation").mkdir()
    shutil.copy2(work / "results.csv", tmp / "results.csv")
    shutil.copy2(work / "study.json", tmp / "study.json")
    for rec in sorted((work / "records").glob("*.json")):
        shutil.copy2(rec, tmp / "records" / rec.name)
    for name in EVAL_FILES:
        shutil.copy2(work / "evaluation" / name, tmp / "evaluation" / name)
    (tmp / "REPORT_TABLES.md").write_text(render_study_tables(tmp), encoding="utf-8")
    files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    manifest = {"source_run": str(work), "files": files}
    (tmp / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, type=Path, help="a finished study work directory")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    manifest = build(args.work, args.out)
    sys.stdout.write(f"bundled {len(manifest['files'])} files into {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
