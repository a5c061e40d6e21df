"""Build rmpredict's bundled reference tables from the read-only sources in ../shared/data.

Run from the repository root::

    python data/build.py [--source ../shared/data]

Every conversion is explicit: accuracies and benchmark scores are stored as fractions in [0, 1]
(RewardBench results and leaderboard v1 are given in percent in the sources and are divided by
100 here; leaderboard v2 and ObsScaling are already fractions). Model ids are matched exactly
(case-sensitive Hugging Face ids, no normalisation). Duplicate leaderboard rows of one model
(one model evaluated at two precisions) are resolved by one rule: keep the row with the
preferred precision bfloat16 > float16 > float32 > 8bit > 4bit > GPTQ > other; remaining ties
keep the most recent evaluation date (v1 only), then the first row in source order.

The public RM results (``public_rm_results.csv``, RewardBench v1 and 2, already fractions in the
source) are built by ``build_public.py`` with the same exact-id join, and every failed join of a
base model is written to ``public_rm_joins.csv``.

Writes the tables, then ``MANIFEST.json`` with the sha256 of every source and output file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so `import build_public` works when imported from elsewhere
    sys.path.insert(0, str(HERE))

import build_public  # noqa: E402

BUILD_VERSION = "1"

PRECISION_RANK = {"bfloat16": 0, "float16": 1, "float32": 2, "8bit": 3, "4bit": 4, "GPTQ": 5}

RB_CATEGORIES = ["chat", "chat_hard", "safety", "reasoning"]

V2_COLUMNS = {
    "IFEval": "ifeval",
    "BBH": "bbh",
    "MATH Level 5": "math_lvl5",
    "GPQA": "gpqa",
    "MUSR": "musr",
    "MMLU-PRO": "mmlu_pro",
}
V1_COLUMNS = {
    "ARC": "arc",
    "HellaSwag": "hellaswag",
    "MMLU": "mmlu",
    "TruthfulQA": "truthfulqa",
    "Winogrande": "winogrande",
    "GSM8K": "gsm8k",
}

SOURCES = {
    "rewardbench_2505_10775.csv": "Ahrabian et al., EMNLP 2025 (arXiv:2505.10775), Tables 1, 4, 5",
    "models_2505_10775.csv": "Ahrabian et al., EMNLP 2025 (arXiv:2505.10775), Tables 1, 3",
    "open_llm_leaderboard_v2.csv": "github.com/evaleval/every_eval_ever @ d9be34d60cb3820833034e33a437ba4b9e4d472f (MIT)",
    "open_llm_leaderboard_v1.csv": "github.com/felipemaiapolo/sloth data/open-llm-leaderboard_old.csv @ 6dc6bb3efeefc7c1db01d60cba1f4b73e5d260d1 (MIT)",
    "obsscaling_base_models.csv": "github.com/ryoungj/ObsScaling eval_results/ @ 4d6e1e43fd2635d04654aa77d1df9d5266ea0382 (Apache-2.0)",
    "obsscaling_base_models_leaderboard_v2.csv": "github.com/ryoungj/ObsScaling eval_results/ @ 4d6e1e43fd2635d04654aa77d1df9d5266ea0382 (Apache-2.0)",
    build_public.SOURCE: build_public.ORIGIN,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dedupe(frame: pd.DataFrame, id_col: str, date_col: str | None = None) -> pd.DataFrame:
    """Keep one row per model id by the documented precision rule."""
    f = frame.copy()
    f["_order"] = np.arange(len(f))
    f["_prank"] = f["precision"].map(PRECISION_RANK).fillna(len(PRECISION_RANK))
    keys = [id_col, "_prank"]
    asc = [True, True]
    if date_col is not None:
        f["_date"] = pd.to_datetime(f[date_col], errors="coerce", utc=True)
        keys.append("_date")
        asc.append(False)
    keys.append("_order")
    asc.append(True)
    f = f.sort_values(keys, ascending=asc, kind="mergesort", na_position="last")
    f = f.drop_duplicates(id_col, keep="first").sort_values("_order", kind="mergesort")
    return f.drop(columns=[c for c in f.columns if c.startswith("_")]).reset_index(drop=True)


def build_rm_results(src: Path) -> pd.DataFrame:
    rb = pd.read_csv(src / "rewardbench_2505_10775.csv")
    cols = RB_CATEGORIES + ["score"]
    # Explicit unit conversion: the paper reports percent; rmpredict stores fractions.
    for c in cols:
        rb[c] = (rb[c].astype(float) / 100.0).round(6)
    gap = (rb[RB_CATEGORIES].mean(axis=1) - rb["score"]).abs().max()
    if gap > 0.0006:
        raise SystemExit(f"score differs from the category mean by {gap:.4f} > 0.0006")
    return rb[["model", "publisher", "method", "rm_train_data", "post_training", *cols, "source"]]


def build_models(src: Path, results: pd.DataFrame) -> pd.DataFrame:
    m = pd.read_csv(src / "models_2505_10775.csv")
    m["in_rm_results"] = m["model"].isin(set(results["model"]))

    def count(v: object) -> float:
        if pd.isna(v):
            return np.nan
        s = str(v).strip()
        mult = {"k": 1e3, "M": 1e6}.get(s[-1], 1.0)
        return float(s[:-1]) * mult if mult != 1.0 else float(s)

    m["downloads_feb2025"] = m["downloads_feb2025"].map(count)
    return m[["model", "publisher", "family", "post_training", "release", "params_b",
              "pretrain_tokens_t", "downloads_feb2025", "likes_feb2025", "in_rm_results", "source"]]


def build_leaderboard_v2(src: Path) -> pd.DataFrame:
    v2 = pd.read_csv(src / "open_llm_leaderboard_v2.csv")
    v2 = _dedupe(v2, "model_id")
    v2 = v2.rename(columns={"model_id": "model", "params_billions": "params_b", **V2_COLUMNS})
    # Already raw accuracies in [0, 1] in the source: no conversion.
    return v2[["model", "precision", "architecture", "params_b", *V2_COLUMNS.values()]]


def build_leaderboard_v1(src: Path) -> pd.DataFrame:
    v1 = pd.read_csv(src / "open_llm_leaderboard_v1.csv")
    v1 = v1.rename(columns={"Model": "model", "#Params (B)": "params_b", "Precision": "precision",
                            "Architecture": "architecture", "Type": "type", **V1_COLUMNS})
    v1 = _dedupe(v1, "model", date_col="date")
    # Explicit unit conversion: leaderboard v1 is in percent; rmpredict stores fractions.
    for c in V1_COLUMNS.values():
        v1[c] = (v1[c].astype(float) / 100.0).round(6)
    v1["params_b"] = pd.to_numeric(v1["params_b"], errors="coerce").where(lambda s: s > 0)
    return v1[["model", "precision", "architecture", "type", "params_b", *V1_COLUMNS.values()]]


def build_obsscaling(src: Path) -> pd.DataFrame:
    base = pd.read_csv(src / "obsscaling_base_models.csv")
    base = base.rename(columns={
        "Model": "model", "Model Family": "family", "Model Size (B)": "params_b",
        "Pretraining Data Size (T)": "pretrain_tokens_t", "FLOPs (1E21)": "flops_1e21",
        "MMLU": "mmlu", "ARC-C": "arc", "HellaSwag": "hellaswag", "Winograd": "winogrande",
        "TruthfulQA": "truthfulqa", "GSM8K": "gsm8k", "XWinograd": "xwinograd",
        "HumanEval": "humaneval"})
    v2 = pd.read_csv(src / "obsscaling_base_models_leaderboard_v2.csv").rename(columns={
        "Model": "model", "leaderboard_bbh": "bbh", "leaderboard_gpqa": "gpqa",
        "leaderboard_ifeval": "ifeval", "leaderboard_math_hard": "math_lvl5",
        "leaderboard_mmlu_pro": "mmlu_pro", "leaderboard_musr": "musr"})
    # Both ObsScaling tables are already fractions in [0, 1].
    return base.merge(v2, on="model", how="left", validate="one_to_one")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=HERE.parent.parent / "shared" / "data",
                        help="folder with the source CSV files (default: ../shared/data)")
    parser.add_argument("--output", type=Path, default=HERE, help="output folder (default: data/)")
    args = parser.parse_args(argv)
    src: Path = args.source
    if not src.is_dir():
        print(f"build.py: error: --source {str(src)!r} is not a folder", file=sys.stderr)
        return 2
    out: Path = args.output
    results = build_rm_results(src)
    models = build_models(src, results)
    v2 = build_leaderboard_v2(src)
    v1 = build_leaderboard_v1(src)
    # Public RM results: fractions in the source (checked, not rescaled); base models joined to
    # the tables above by exact id (build_public.py says how, and records every failed join).
    public, joins = build_public.build_public_results(src, v2, v1, models)
    tables = {
        "rm_results.csv": results,
        "models.csv": models,
        "leaderboard_v2.csv.gz": v2,
        "leaderboard_v1.csv.gz": v1,
        "obsscaling_base_models.csv": build_obsscaling(src),
        "public_rm_results.csv": public,
        "public_rm_joins.csv": joins,
    }
    manifest = {"build_version": BUILD_VERSION, "unit": "fraction in [0, 1]", "sources": {},
                "files": {}}
    for name, desc in SOURCES.items():
        manifest["sources"][name] = {"sha256": _sha256(src / name), "origin": desc}
    for name, frame in tables.items():
        path = out / name
        # mtime=0 makes the gzip bytes (and so the checksum) reproducible.
        comp = {"method": "gzip", "mtime": 0} if name.endswith(".gz") else None
        frame.to_csv(path, index=False, compression=comp, float_format="%.6g")
        manifest["files"][name] = {"sha256": _sha256(path), "rows": int(len(frame)),
                                   "columns": list(map(str, frame.columns))}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for name, meta in manifest["files"].items():
        print(f"{name:32s} {meta['rows']:6d} rows  sha256 {meta['sha256'][:12]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
