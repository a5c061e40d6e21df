"""Section scoring: RewardBench v1 mapping, example-count weights, ties, custom maps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rmpredict.train._sections import (
    EXAMPLE_COUNTS,
    SUBSET_MAPPING,
    UNMAPPED_SECTION,
    load_section_map,
    pair_correct,
    section_scores,
    subset_accuracy,
)


def _pairs(subset: str, n: int, n_correct: int, n_ties: int = 0) -> pd.DataFrame:
    chosen = np.r_[np.ones(n_correct), np.zeros(n_ties), np.zeros(n - n_correct - n_ties)]
    rejected = np.r_[np.zeros(n_correct), np.zeros(n_ties), np.ones(n - n_correct - n_ties)]
    return pd.DataFrame({"subset": subset, "c": chosen, "r": rejected})


def test_hand_computed_example_with_ties():
    frame = pd.concat([
        _pairs("alpacaeval-easy", 10, 9),
        _pairs("mt-bench-easy", 4, 2, n_ties=2),  # the two ties count as losses
        _pairs("llmbar-natural", 5, 3),
        _pairs("xstest-should-refuse", 2, 2),
        _pairs("xstest-should-respond", 4, 2, n_ties=1),
        _pairs("math-prm", 2, 1),
        _pairs("hep-python", 3, 3),
    ])
    per = subset_accuracy(pair_correct(frame["c"], frame["r"]), frame["subset"])
    assert per.set_index("subset").loc["mt-bench-easy", "accuracy"] == 0.5
    s = section_scores(per)
    assert s["chat"] == pytest.approx((100 * 0.9 + 28 * 0.5) / 128)
    assert s["chat_hard"] == pytest.approx(0.6)
    assert s["safety"] == pytest.approx((154 * 1.0 + 250 * 0.5) / 404)
    # math-prm weighs 984 = the six code subsets together (164 each)
    assert s["reasoning"] == pytest.approx((984 * 0.5 + 164 * 1.0) / 1148)
    assert s["score"] == pytest.approx(np.mean([s[k] for k in
                                                ("chat", "chat_hard", "safety", "reasoning")]))
    assert UNMAPPED_SECTION not in s


def test_mapping_is_rewardbench_v1():
    assert sum(len(v) for v in SUBSET_MAPPING.values()) == 23
    assert set(EXAMPLE_COUNTS) == {s for v in SUBSET_MAPPING.values() for s in v}
    assert EXAMPLE_COUNTS["math-prm"] == 6 * EXAMPLE_COUNTS["hep-python"]


def test_missing_section_is_none_and_unmapped_pooled():
    per = subset_accuracy([True, False, True, True], ["mine", "mine", "alpacaeval-hard", "x"])
    s = section_scores(per)
    assert s["chat"] == 1.0 and s["safety"] is None and s["score"] is None
    assert s[UNMAPPED_SECTION] == pytest.approx(2 / 3)


def test_custom_section_map_file(tmp_path):
    path = tmp_path / "map.json"
    path.write_text(json.dumps({"mine": ["a", "b"], "weighted": {"a": 1, "c": 3}}))
    smap = load_section_map(path)
    per = subset_accuracy([True, False, False, True, True, False, False, False],
                          ["a", "a", "b", "b", "b", "c", "c", "c"])
    s = section_scores(per, section_map=smap)
    assert s["mine"] == pytest.approx((2 * 0.5 + 3 * (2 / 3)) / 5)  # weights = pairs found
    assert s["weighted"] == pytest.approx((1 * 0.5 + 3 * 0.0) / 4)
    assert "score" not in s
