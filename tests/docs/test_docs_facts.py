"""Numbers and promises in the prose of README.md and docs/ agree with the package."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rmpredict.datasets import load_leaderboard, read_results
from rmpredict.exceptions import DataWarning

REPO = Path(__file__).resolve().parents[2]


def _prose(path: Path) -> str:
    return " ".join(path.read_text(encoding="utf-8").split())  # lines joined, as rendered


def test_readme_leaderboard_counts_match_the_bundled_tables():
    text = _prose(REPO / "README.md")
    found = re.search(r"Leaderboard v1 and v2 scores \(([\d,]+) and ([\d,]+) models\)", text)
    assert found, "README no longer states the leaderboard sizes; update this test"
    v1, v2 = (int(n.replace(",", "")) for n in found.groups())
    assert (v1, v2) == (len(load_leaderboard(1)), len(load_leaderboard(2)))


def test_howto_promise_of_a_data_warning_for_filled_values_holds():
    assert "announced with a `DataWarning`" in _prose(REPO / "docs" / "howto-own-data.md")
    mine = pd.DataFrame({"hf_id": ["Qwen/Qwen2.5-7B-Instruct"], "recipe": ["my_recipe"],
                         "chat": [0.9], "chat_hard": [0.6], "safety": [0.8],
                         "reasoning": [0.7]})
    with pytest.warns(DataWarning, match="filled"):
        table = read_results(mine)
    assert len(table.filled) > 0
