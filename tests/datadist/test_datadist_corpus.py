"""Corpus reading: the shipped probe corpus and clear errors for bad files."""

from __future__ import annotations

import gzip
import json

import pytest
from _datadist_helpers import write_corpus

from rmpredict.datadist import domain_key, probe_corpus_path, read_corpus
from rmpredict.exceptions import DataValidationError, RMPredictError


def test_probe_corpus_ships_five_domains():
    corpus = read_corpus("probe")
    assert corpus.domains == ["books", "code", "definitions", "exam", "technical"]
    counts = corpus.documents["domain"].value_counts()
    assert (counts == 200).all()
    words = corpus.documents["text"].str.split().str.len()
    assert words.min() >= 300 and words.max() <= 2000
    assert corpus.documents["id"].is_unique and not corpus.empty_ids
    manifest = json.loads((probe_corpus_path().parent / "MANIFEST.json").read_text())
    assert manifest["files"]["probe.jsonl.gz"]["sha256"] == corpus.sha256
    assert probe_corpus_path().stat().st_size < 3_000_000


def test_reads_gzip_ids_and_reports_empty(tmp_path):
    recs = [{"id": 7, "text": "hello world", "domain": " books "},
            {"text": "   \n ", "domain": "books", "id": "blank"},
            {"text": "", "domain": "code"},
            {"text": "x = 1", "domain": "code"}]
    raw = "".join(json.dumps(r) + "\n" for r in recs).encode()
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(raw))
    corpus = read_corpus(path)
    assert corpus.documents["id"].tolist() == ["7", "line-4"]
    assert corpus.documents["domain"].tolist() == ["books", "code"]
    assert corpus.empty_ids == ["blank", "line-3"]


@pytest.mark.parametrize(
    ("records", "raw", "expected"),
    [
        ([{"text": "a", "domain": "x"}, {"domain": "x"}], None, "line 2: missing field 'text'"),
        ([{"text": "a"}], None, "line 1: missing field 'domain'"),
        ([{"text": 3, "domain": "x"}], None, "line 1: field 'text' must be a string"),
        (None, b'{"text": "a", "domain": "x"}\n{"text": "caf\xe9", "domain": "x"}\n',
         "line 2: byte"),
        (None, b'{"text": "a", "domain": "x"}\n{"text": "b", "domain"\n', "line 2: invalid JSON"),
        (None, b'[1, 2]\n', "line 1: expected a JSON object"),
        ([{"id": "a", "text": "x", "domain": "d"}, {"id": "a", "text": "y", "domain": "d"}],
         None, "line 2: duplicate id 'a' (first on line 1)"),
        ([{"text": " ", "domain": "d"}], None, "no non-empty documents (1 empty)"),
    ],
)
def test_bad_corpora_give_line_and_fix(tmp_path, records, raw, expected):
    path = write_corpus(tmp_path / "bad.jsonl", records, raw=raw)
    with pytest.raises(DataValidationError) as info:
        read_corpus(path)
    assert isinstance(info.value, RMPredictError)
    assert expected in str(info.value)


def test_non_utf8_message_says_how_to_fix(tmp_path):
    path = write_corpus(tmp_path / "bad.jsonl", None, raw=b'{"text": "\xff", "domain": "x"}\n')
    with pytest.raises(DataValidationError, match="re-encode the file as UTF-8"):
        read_corpus(path)


def test_missing_file():
    with pytest.raises(DataValidationError, match="corpus file not found"):
        read_corpus("/nonexistent/corpus.jsonl")


def test_domain_key():
    assert domain_key("Books & Novels") == "books_novels"
    assert domain_key("  ") == "unnamed"
