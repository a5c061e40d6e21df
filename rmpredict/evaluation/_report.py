"""Write an evaluation to a folder: metrics.json, report.md, predictions.csv and plots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rmpredict._io import atomic_path, write_json_atomic, write_table_atomic, write_text_atomic
from rmpredict.datasets import TARGETS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rmpredict.evaluation._cv import EvaluationResult

__all__ = ["write_report", "render_markdown"]


def _save_figure(fig: Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def _fmt(value: float, points: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{100 * value:.2f}" if points else f"{value:.2f}"


def _table(frame: pd.DataFrame, first: str) -> list[str]:
    head = (f"| {first} | MAE (points) | RMSE (points) | Spearman | coverage@5–10 | "
            "cover 50% | cover 90% | CRPS (points) | n |")
    lines = [head, "|" + "---|" * 9]
    for rec in frame.to_dict("records"):
        lines.append(
            f"| {rec[first]} | {_fmt(rec['mae'], True)} | {_fmt(rec['rmse'], True)} | "
            f"{_fmt(rec['spearman'])} | {_fmt(rec['coverage_at_k'])} | "
            f"{_fmt(rec['interval_coverage_50'])} | {_fmt(rec['interval_coverage_90'])} | "
            f"{_fmt(rec['crps'], True)} | {rec['n']} |")
    return lines


def render_markdown(evaluation: EvaluationResult) -> str:
    """The report as Markdown: headline table per method, then per-target tables."""
    prov = evaluation.provenance
    metrics, per_target = evaluation.metrics(), evaluation.per_target()
    lines = [
        "# Leave-one-publisher-out evaluation",
        "",
        f"rmpredict {prov.get('rmpredict_version')}, data hash `{prov.get('data_hash')}`, "
        f"{prov.get('n_rows')} rows, {len(evaluation.folds)} folds (one per publisher), "
        f"seeds {prov.get('seed')}, created {prov.get('created_at')}.",
        "",
        "Units: MAE, RMSE and CRPS in points (RewardBench accuracy x 100). MAE, RMSE, "
        "Spearman, coverage@5–10 and CRPS are on the overall score of the held-out models; "
        "'cover 50%' and 'cover 90%' are the shares of held-out (model, method, category) "
        "cells inside the central predictive intervals ('–': the predictor has none).",
        "",
    ]
    for method in evaluation.methods:
        lines += [f"## {method}", ""]
        lines += _table(metrics[metrics["method"] == method], "predictor")
        lines.append("")
    lines += ["## Per target", "",
              "Each target's held-out cells alone (the interval columns here use only that "
              "target's cells).", ""]
    for method in evaluation.methods:
        for target in TARGETS:
            sub = per_target[(per_target["method"] == method) & (per_target["target"] == target)]
            if sub.empty:
                continue
            lines += [f"### {method} — {target}", ""]
            lines += _table(sub, "predictor")
            lines.append("")
    lines += ["## Folds", "", "| fold | publisher | models | rows |", "|---|---|---|---|"]
    for rec in evaluation.folds.to_dict("records"):
        lines.append(f"| {rec['fold']} | {rec['publisher']} | {rec['n_models']} | "
                     f"{rec['n_rows']} |")
    stacking = evaluation.stacking_summary()
    if stacking:
        lines += ["", "## Stacking weights (estimated inside each fold's training rows)", "",
                  "An inner leave-one-publisher-out over the training publishers chose them; "
                  "the held-out publisher took no part.", ""]
        for pred, methods in stacking.items():
            for method, entry in methods.items():
                names = list(entry["mean"])
                lines += [f"**{pred}, {method}** — mean over folds: " + ", ".join(
                    f"{n} {entry['mean'][n]:.2f}" for n in names), "",
                          "| held-out publisher | " + " | ".join(names) + " |",
                          "|---|" + "---|" * len(names)]
                for fold in entry["per_fold"]:
                    lines.append(f"| {fold['publisher']} | "
                                 + " | ".join(f"{fold[n]:.2f}" for n in names) + " |")
                lines.append("")
    if evaluation.diagnostics:
        lines += ["", "## Sampling diagnostics per fold", "",
                  "| fold | publisher | predictor | max r-hat | min bulk / tail ESS | "
                  "divergences | status |", "|---|---|---|---|---|---|---|"]
        for rec in evaluation.diagnostics:
            status = "ok" if rec.get("ok") else "; ".join(rec.get("problems") or [])
            lines.append(
                f"| {rec['fold']} | {rec['publisher']} | {rec['predictor']} | "
                f"{rec.get('max_rhat', float('nan')):.4f} | "
                f"{rec.get('min_ess_bulk', float('nan')):.0f} / "
                f"{rec.get('min_ess_tail', float('nan')):.0f} | {rec.get('divergences')} | "
                f"{status} |")
    lines += ["", "## Wall time (fit + predict, all folds)", ""]
    lines += [f"- {name}: {secs:.1f} s" for name, secs in evaluation.timings.items()]
    lines += ["", "Plots: `predicted_vs_observed.png`, `calibration.png`, "
              "`coverage_at_k.png`.", ""]
    return "\n".join(lines)


def write_report(evaluation: EvaluationResult, outdir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``metrics.json``, ``report.md``, ``predictions.csv`` and three PNG plots.

    Every file is written atomically (a temporary file renamed into place).

    Parameters
    ----------
    evaluation : EvaluationResult
        From :func:`rmpredict.evaluation.leave_one_publisher_out`.
    outdir : path
        Folder to write to (created if needed).

    Returns
    -------
    dict of str to Path
        The written files by kind.
    """
    from rmpredict.plots import plot_calibration, plot_coverage_at_k, plot_predicted_vs_observed

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": write_json_atomic(out / "metrics.json", evaluation.to_json()),
        "report": write_text_atomic(out / "report.md", render_markdown(evaluation)),
        "predictions": write_table_atomic(
            out / "predictions.csv", evaluation.predictions,
            comment=(f"rmpredict {evaluation.provenance.get('rmpredict_version')} "
                     f"{evaluation.protocol}; values are fractions")),
    }
    for key, plot in (("predicted_vs_observed", plot_predicted_vs_observed),
                      ("calibration", plot_calibration),
                      ("coverage_at_k", plot_coverage_at_k)):
        paths[key] = _save_figure(plot(evaluation), out / f"{key}.png")
    return paths
