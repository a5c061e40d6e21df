"""Data checks, chat templates and truncation reports."""

from __future__ import annotations

import pandas as pd
import pytest
from _train_helpers import make_tokenizer

from rmpredict.exceptions import DataValidationError
from rmpredict.train._data import Encoder, check_pairs, check_regression_rows, load_rows

TEMPLATE = ("{% for m in messages %}{{ m['role'] }} {{ m['content'] }} [EOS] {% endfor %}")


def test_bad_pairs_are_reported_with_rows():
    frame = pd.DataFrame({"prompt": ["w1", "w2", "", "w4"],
                          "chosen": ["w5", "", "w6", "w7"],
                          "rejected": ["w5", "w8", "w9", "w1"]})
    with pytest.raises(DataValidationError) as err:
        check_pairs(frame)
    text = str(err.value)
    assert "identical" in text and "row 1" in text
    assert "'chosen': empty" in text and "row 2" in text
    assert "empty prompt" in text and "row 3" in text
    with pytest.raises(DataValidationError, match="missing column"):
        check_pairs(frame.drop(columns="rejected"))


def test_regression_rows_need_attributes():
    frame = pd.DataFrame({"prompt": ["a"], "response": ["b"], "helpfulness": ["x"]})
    with pytest.raises(DataValidationError, match="verbosity"):
        check_regression_rows(frame, ["helpfulness", "verbosity"])
    with pytest.raises(DataValidationError, match="non-numeric"):
        check_regression_rows(frame, ["helpfulness"])


def test_load_rows_formats(tmp_path):
    frame = pd.DataFrame({"prompt": ["w1"], "chosen": ["w2"], "rejected": ["w3"]})
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_json(tmp_path / "d.jsonl", orient="records", lines=True)
    for name in ("d.parquet", "d.jsonl"):
        got, src = load_rows(tmp_path / name)
        assert got.to_dict("records") == frame.to_dict("records") and src.endswith(name)
    datasets = pytest.importorskip("datasets")
    got, _ = load_rows(datasets.Dataset.from_pandas(frame))
    assert got["chosen"].tolist() == ["w2"]
    with pytest.raises(DataValidationError, match="not found"):
        load_rows(tmp_path / "missing.jsonl")


def test_chat_template_applied_and_recorded():
    tok = make_tokenizer(with_pad=True, chat_template=TEMPLATE)
    enc = Encoder(tok, is_encoder=False, max_length=64)
    assert enc.template_info["applied"] and enc.template_info["template_sha256"]
    ids = enc.encode("w1 w2", "good")
    assert tok.convert_ids_to_tokens(ids) == ["user", "w1", "w2", "[EOS]", "assistant", "good",
                                              "[EOS]"]
    # Message lists (full conversations) are rendered through the same template.
    conv = [{"role": "user", "content": "w1 w2"}, {"role": "assistant", "content": "good"}]
    assert enc.encode("", conv) == ids
    plain = Encoder(tok, is_encoder=False, max_length=64, chat_template="none")
    assert not plain.template_info["applied"]
    assert tok.convert_ids_to_tokens(plain.encode("w1", "good")) == ["[BOS]", "w1", "good",
                                                                      "[EOS]"]


def test_truncation_policies_are_reported():
    tok = make_tokenizer(with_pad=True)
    items = [("w1 w2 w3 w4 w5 w6", "good w7", "bad w7"), ("w1", "good", "bad")]
    left = Encoder(tok, is_encoder=False, max_length=6, truncation="left").encode_many(
        items, group=2)
    assert left.truncation["rows_truncated"] == 1
    assert left.truncation["sequences_truncated"] == 2
    assert left.truncation["tokens_removed"] == 2 * (1 + 6 + 2 + 1 - 6)
    assert all(len(s) <= 6 for s in left.sequences)
    # The response end (read-out token) survives left truncation.
    assert tok.convert_ids_to_tokens(left.sequences[0])[-3:] == ["good", "w7", "[EOS]"]
    drop = Encoder(tok, is_encoder=False, max_length=6, truncation="drop").encode_many(
        items, group=2)
    assert drop.kept.tolist() == [1] and drop.truncation["rows_dropped"] == 1
    with pytest.raises(DataValidationError, match="max_length=6"):
        Encoder(tok, is_encoder=False, max_length=6, truncation="error").encode_many(
            items, group=2)
