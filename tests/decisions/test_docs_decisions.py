"""docs/decisions.md says what rank/suggest do: output format, provenance, flags, release."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rmpredict.cli import _rank
from rmpredict.decisions import NoSkillWarning, attach_trust, rank_candidates
from rmpredict.release import read_registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "decisions.md"


@pytest.fixture(scope="module")
def text():
    return DOC.read_text(encoding="utf-8")


def test_release_ships_and_docs_do_not_say_otherwise(text):
    assert read_registry(), "a release is bundled"
    assert "until the release exists" not in text
    assert "ships with the package" in text


def test_no_hash_line_claim_and_outputs_are_plain_csv(text, stub_predictor, tmp_path):
    assert "first `#` line" not in text
    predictor, result = stub_predictor()
    attach_trust(result, predictor)
    with pytest.warns(NoSkillWarning):
        ranking = rank_candidates(result)
    path = tmp_path / "o.csv"
    path.write_bytes(_rank.render_table(ranking.to_frame(), str(path), ranking.provenance))
    assert not path.read_text(encoding="utf-8").startswith("#")
    frame = pd.read_csv(path)  # plain pandas, no comment handling
    # The provenance columns the page lists are exactly the ones written.
    para = text[text.index("provenance columns on every row"):]
    para = para[:para.index("(of the model file)")]
    listed = re.findall(r"`([a-z0-9_]+)`", para)
    assert listed == list(_rank.provenance_columns({}))
    assert set(listed) <= set(frame.columns)
    assert frame["release"].iloc[0] == "stub@1"


def test_documented_columns_exist(text, stub_predictor):
    predictor, result = stub_predictor()
    with pytest.warns(NoSkillWarning):
        table = rank_candidates(result, predictor=predictor, default="org/model-0").table
    cells = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)?(?:, `([a-z_]+)`)? \|", text,
                       flags=re.MULTILINE)
    named = {c for row in cells for c in row if c}
    assert {"skill", "known_result", "extrapolated", "new_recipe", "p_best_se", "tie"} <= named
    assert named <= set(table.columns), sorted(named - set(table.columns))
