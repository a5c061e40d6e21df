"""The bundled offline study: integrity, traceability of every number, and the report tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rmpredict.exceptions import DataValidationError
from rmpredict.study import (
    STUDY_METHOD,
    STUDY_SECTION_MAP,
    load_study_record,
    load_study_results,
    render_study_tables,
    verify_study_results,
)
from rmpredict.study._results import study_results_dir

_CATS = ("chat", "chat_hard", "safety", "reasoning")


def test_manifest_verifies():
    files = verify_study_results()
    assert "results.csv" in files and any(k.startswith("records/") for k in files)


def test_table_is_a_valid_results_table_of_the_study_group():
    from rmpredict.datasets import validate_table

    table = load_study_results()
    assert set(table["method"]) == {STUDY_METHOD}
    validate_table(table, "results", fill_from_reference=False)
    assert table[list(_CATS)].apply(lambda c: c.between(0, 1)).all().all()


def test_every_row_traces_to_its_record():
    from rmpredict._provenance import sha256_file

    table = load_study_results(with_records=True)
    for row in table.itertuples():
        path = study_results_dir() / row.record
        assert sha256_file(path) == row.record_sha256
        rec = json.loads(path.read_text())
        for c in _CATS:
            assert getattr(row, c) == pytest.approx(rec["sections"][c])
        # Sections recomputed from the record's own per-subset accuracies.
        for section, weights in STUDY_SECTION_MAP.items():
            subs = {s: rec["subsets"][s]["accuracy"] for s in weights if s in rec["subsets"]}
            expect = sum(weights[s] * a for s, a in subs.items()) / sum(weights[s] for s in subs)
            assert rec["sections"][section] == pytest.approx(expect)
        if rec["benchmarks"]["status"] == "done":
            assert row.mmlu == pytest.approx(rec["benchmarks"]["mmlu"])
        else:
            assert np.isnan(row.mmlu)
        assert rec["training"]["method"] == "bradley_terry"
        assert rec["base"]["licence"]


def test_record_lookup_and_unknown_model():
    table = load_study_results()
    rec = load_study_record(table["model"].iloc[0])
    assert rec["model"] == table["model"].iloc[0]
    with pytest.raises(DataValidationError, match="no study model"):
        load_study_record("nope/nope")


def test_report_tables_are_rendered_from_the_bundled_files():
    root = study_results_dir()
    assert (root / "REPORT_TABLES.md").read_text(encoding="utf-8") == render_study_tables(root)


def test_evaluation_metrics_match_the_predictions():
    from rmpredict.study._evaluate import transfer_metrics

    root = study_results_dir() / "evaluation"
    metrics = pd.read_csv(root / "metrics.csv", comment="#")
    pred = pd.read_csv(root / "predictions.csv", comment="#")
    obs = load_study_results()
    for row in metrics.itertuples():
        again = transfer_metrics(pred[pred["setting"] == row.setting], obs)
        assert again["mae_score"] == pytest.approx(row.mae_score)
        assert again["n_models"] == row.n_models
