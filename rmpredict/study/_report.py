"""Markdown tables of a finished study, rendered only from its files (so every number in the
report traces to a record or to the evaluation outputs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["render_study_tables"]

_CATS = ("chat", "chat_hard", "safety", "reasoning", "score")


def _f(v: object, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, float | np.floating):
        return f"{v:.{digits}f}"
    return str(v)


def _md(frame: pd.DataFrame, digits: int = 3) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_f(v, digits) for v in row) + " |")
    return "\n".join(lines)


def _count(n: float) -> str:
    """2400000 -> '2.4M', 2e12 -> '2T' (missing -> '–')."""
    if not np.isfinite(n):
        return "–"
    for scale, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def _score_se(record_path: Path) -> float:
    """Binomial standard error of a record's score (mean of four weighted sections)."""
    from rmpredict.study._sources import STUDY_SECTION_MAP

    subsets = json.loads(record_path.read_text(encoding="utf-8"))["subsets"]
    var = 0.0
    for weights in STUDY_SECTION_MAP.values():
        present = {k: w for k, w in weights.items() if k in subsets}
        total = sum(present.values())
        for k, w in present.items():
            p, n = subsets[k]["accuracy"], subsets[k]["n"]
            var += (w / total) ** 2 * p * (1 - p) / n
    return float(np.sqrt(var) / len(STUDY_SECTION_MAP))


def _short(model: str) -> str:
    return model.split("/", 1)[-1]


def render_study_tables(results_dir: str | Path) -> str:
    """Tables for docs/study.md from ``results.csv``, ``records/`` and ``evaluation/``.

    Sections: ground truth per model; transfer metrics per setting; per-model predictions of
    the main settings; presence scores against the ladder's known mixtures.
    """
    from rmpredict._io import read_table

    root = Path(results_dir)
    table = read_table(root / "results.csv")
    out = ["### Ground truth (one trained reward model per base)", ""]
    gt = pd.DataFrame({
        "model": table["model"].map(_short), "params": (1e9 * table["params_b"]).map(_count),
        "pre-training tokens": (1e12 * table["pretrain_tokens_t"]).map(_count),
        "MMLU": table["mmlu"], "BBH": table["bbh"],
        **{c: table[c] for c in _CATS}})
    gt["score SE"] = [_score_se(root / rec) for rec in table["record"]] \
        if "record" in table.columns else np.nan
    out += [_md(gt), "",
            "Accuracies are fractions; MMLU is accuracy and BBH length-normalised accuracy on "
            "the bundled items (chance 0.25 for both); \"–\" = does not apply "
            "(encoder). `score SE` is the binomial standard error of `score` from the held-out "
            "pairs actually scored (sections weighted as in the suite). Each row's record is "
            "`records/<key>.json`.", ""]
    ev = root / "evaluation"
    if (ev / "metrics.csv").exists():
        m = read_table(ev / "metrics.csv")
        cols = ["setting", "n_models", "mae_score", "coverage90_score", "spearman_score",
                "mean_interval_width90_score", "mae_categories", "coverage90_categories",
                "coverage50_categories"]
        out += ["### Predicting the study's models out of sample", "",
                _md(m[[c for c in cols if c in m.columns]], 2), "",
                "MAE and interval width in accuracy points; coverage = share of observed "
                "values inside the 90% (50%) intervals; Spearman over the study's models.", ""]
        p = read_table(ev / "predictions.csv")
        sc = p[p["target"] == "score"].copy()
        sc["model"] = sc["model"].map(_short)
        wide = sc.pivot_table(index="model", columns="setting", values="mean", sort=False)
        lo = sc.pivot_table(index="model", columns="setting", values="lower", sort=False)
        hi = sc.pivot_table(index="model", columns="setting", values="upper", sort=False)
        obs = sc.groupby("model", sort=False)["observed"].first()
        keep = [s for s in ("reference_only:new_method", "reference_only:as_bradley_terry",
                            "joint:leave_one_model_out") if s in wide.columns]
        rows = []
        for model in wide.index:
            row = {"model": model, "observed": obs[model]}
            for s in keep:
                row[s] = (f"{wide.loc[model, s]:.3f} [{lo.loc[model, s]:.3f}, "
                          f"{hi.loc[model, s]:.3f}]")
            rows.append(row)
        out += ["### Predicted score per model (mean [90% interval])", "",
                _md(pd.DataFrame(rows)), ""]
        rep = json.loads((ev / "report.json").read_text(encoding="utf-8"))
        if rep.get("presence_stats"):
            pres = read_table(ev / "presence.csv")
            pres = pres.assign(model=pres["model"].map(_short))
            cell = pres.pivot_table(index="model", columns="domain",
                                    values="presence_centred", sort=False)
            wts = pres.pivot_table(index="model", columns="domain", values="weight", sort=False)
            rows = []
            for model in cell.index:
                row = {"model": model}
                for d in cell.columns:
                    row[d] = f"{cell.loc[model, d]:+.3f} (w {wts.loc[model, d]:.2f})"
                rows.append(row)
            stats = rep["presence_stats"]
            out += ["### Presence scores against the ladder's known mixtures", "",
                    _md(pd.DataFrame(rows)), "",
                    "Double-centred presence (nats/token; within each size, minus the domain "
                    "mean, then minus the model mean) with the domain's weight in the "
                    "pre-training mixture.", "",
                    "| statistic | value |", "|---|---|"]
            out += [f"| {k} | {_f(v, 3)} |" for k, v in stats.items()]
            out.append("")
    return "\n".join(out)
