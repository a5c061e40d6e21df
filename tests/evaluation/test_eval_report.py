"""write_report: files, atomicity, JSON content and plot objects."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from matplotlib.figure import Figure

from rmpredict.evaluation import (
    leave_one_publisher_out,
    plot_calibration,
    plot_coverage_at_k,
    plot_predicted_vs_observed,
    write_report,
)
from rmpredict.models import MeanBaseline, OLSBaseline, as_results_frame


@pytest.fixture(scope="module")
def evaluation():
    return leave_one_publisher_out({"ols": OLSBaseline(), "mean": MeanBaseline()},
                                   as_results_frame(None), progress=False)


def test_write_report_files(evaluation, tmp_path):
    paths = write_report(evaluation, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["calibration.png", "coverage_at_k.png", "metrics.json",
                     "predicted_vs_observed.png", "predictions.csv", "report.md"]
    for key in ("predicted_vs_observed", "calibration", "coverage_at_k"):
        assert paths[key].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    doc = json.loads(paths["metrics"].read_text())
    expect = evaluation.to_json()
    assert doc["results"] == expect["results"] and doc["per_target"] == expect["per_target"]
    assert doc["provenance"]["data_hash"] == evaluation.provenance["data_hash"]
    assert doc["units"]["mae"].startswith("points")
    md = paths["report"].read_text()
    assert "## regression" in md and "## bradley_terry" in md and "MAE (points)" in md
    mae_pts = 100 * evaluation.metrics().query("predictor == 'mean' and method == "
                                               "'regression'")["mae"].iloc[0]
    assert f"| mean | {mae_pts:.2f} |" in md
    table = pd.read_csv(paths["predictions"], comment="#")
    assert len(table) == len(evaluation.predictions)


def test_plots_return_figures(evaluation):
    for fig in (plot_predicted_vs_observed(evaluation), plot_calibration(evaluation),
                plot_coverage_at_k(evaluation, max_k=12)):
        assert isinstance(fig, Figure)
        assert len(fig.axes) >= 2  # one panel per method at least
    # calibration shows only the predictor with intervals (besides the diagonal and its band)
    labels = plot_calibration(evaluation).axes[0].get_legend_handles_labels()[1]
    assert [label for label in labels if label not in ("calibrated", "+-2 se")] == ["ols"]


def test_failed_write_leaves_no_partial_file(evaluation, tmp_path, monkeypatch):
    import rmpredict.evaluation._report as report

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "render_markdown", boom)
    with pytest.raises(RuntimeError):
        write_report(evaluation, tmp_path)
    # metrics.json was complete before the failure; no temporary files remain
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_fold_sampling_diagnostics_are_recorded(tmp_path):
    """A sampling predictor's per-fold diagnostics reach metrics.json and report.md."""
    from rmpredict.evaluation import leave_one_publisher_out, write_report
    from rmpredict.models import MeanBaseline

    class Sampled(MeanBaseline):
        def _fit(self, frame):
            super()._fit(frame)
            self.diagnostics_ = {"max_rhat": 1.02, "min_ess_bulk": 300.0, "min_ess_tail": 250.0,
                                 "divergences": 2, "ok": False, "problems": ["2 divergent"]}

    ev = leave_one_publisher_out({"sampled": Sampled()}, progress=False)
    diags = ev.to_json()["sampling_diagnostics"]
    assert len(diags) == len(ev.folds) and {d["predictor"] for d in diags} == {"sampled"}
    assert all(d["divergences"] == 2 and d["ok"] is False for d in diags)
    write_report(ev, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "## Sampling diagnostics per fold" in text and "2 divergent" in text
