"""Scoring a corpus to parquet: provenance, skipped/truncated documents, resumption, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _datadist_helpers import write_corpus

import rmpredict.datadist._run as run_mod
from rmpredict.cli._main import main
from rmpredict.datadist import (
    ScoreConfig,
    read_corpus,
    read_scores,
    score_corpus,
    score_texts,
)
from rmpredict.datasets import is_datadist_column
from rmpredict.exceptions import DataValidationError, ModelMismatchError

WORDS = "the cat sat on mat dog log fox jumps over lazy def add return import whales".split()


def _records(n: int = 12) -> list[dict]:
    rng = np.random.default_rng(3)
    recs = []
    for i in range(n):
        k = int(rng.integers(2, 40))
        recs.append({"id": f"d{i}", "domain": ["code", "books", "exam"][i % 3],
                     "text": " ".join(rng.choice(WORDS, size=k))})
    recs.insert(4, {"id": "empty", "domain": "code", "text": "  \n"})
    return recs


def test_score_corpus_writes_provenance(tmp_path, tiny_model, tiny_tokenizer):
    corpus = read_corpus(write_corpus(tmp_path / "c.jsonl", _records()))
    cfg = ScoreConfig(max_tokens=16, batch_tokens=64)
    out = tmp_path / "s.parquet"
    scores = score_corpus(tiny_model, tiny_tokenizer, corpus, out, config=cfg, model_id="tiny")
    back = read_scores(out)
    assert back["id"].tolist() == corpus.documents["id"].tolist()  # corpus order, no "empty"
    prov = back.attrs["rmpredict"]
    assert prov["model_id"] == "tiny" and prov["max_tokens"] == 16
    assert prov["corpus_sha256"] == corpus.sha256 and prov["empty_ids"] == ["empty"]
    assert prov["bos_prepended"] is True and prov["dtype"] == "float32"
    assert prov["n_truncated"] == int(back["truncated"].sum()) > 0
    assert "rmpredict_version" in prov
    direct = score_texts(tiny_model, tiny_tokenizer, corpus.documents["text"].tolist(),
                         config=cfg)
    np.testing.assert_allclose(back["mean_logprob"], direct["mean_logprob"], atol=1e-9)
    pd.testing.assert_frame_equal(scores.reset_index(drop=True), back, check_dtype=False)
    assert not (tmp_path / "s.parquet.partial").exists()


def test_interrupted_run_resumes(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    corpus = read_corpus(write_corpus(tmp_path / "c.jsonl", _records()))
    cfg = ScoreConfig(max_tokens=16, batch_tokens=64)
    full = score_corpus(tiny_model, tiny_tokenizer, corpus, tmp_path / "full.parquet",
                        config=cfg, model_id="tiny")

    calls = {"n": 0}
    real = run_mod.score_token_ids

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # simulated interruption after two shards
        return real(*args, **kwargs)

    monkeypatch.setattr(run_mod, "score_token_ids", flaky)
    out = tmp_path / "s.parquet"
    with pytest.raises(KeyboardInterrupt):
        score_corpus(tiny_model, tiny_tokenizer, corpus, out, config=cfg, model_id="tiny",
                     checkpoint_docs=4)
    partial = tmp_path / "s.parquet.partial"
    assert not out.exists() and len(list(partial.glob("shard-*.parquet"))) == 2

    seen = []

    def counting(model, ids, **kwargs):
        seen.append(len(ids))
        return real(model, ids, **kwargs)

    monkeypatch.setattr(run_mod, "score_token_ids", counting)
    with pytest.raises(ModelMismatchError, match="max_tokens"):
        score_corpus(tiny_model, tiny_tokenizer, corpus, out,
                     config=ScoreConfig(max_tokens=8), model_id="tiny")
    resumed = score_corpus(tiny_model, tiny_tokenizer, corpus, out, config=cfg,
                           model_id="tiny", checkpoint_docs=4)
    assert sum(seen) == len(corpus.documents) - 8  # only the unscored documents
    np.testing.assert_allclose(resumed["mean_logprob"], full["mean_logprob"], atol=1e-9)
    assert resumed["id"].tolist() == full["id"].tolist() and not partial.exists()


def test_read_scores_errors(tmp_path):
    with pytest.raises(DataValidationError, match="run `rmpredict datadist score` first"):
        read_scores(tmp_path / "none.parquet")
    pd.DataFrame({"id": ["a"]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(DataValidationError, match="missing column"):
        read_scores(tmp_path / "x.parquet")


def test_cli_end_to_end(tmp_path, saved_model, capsys):
    corpus = write_corpus(tmp_path / "c.jsonl", _records())
    outs = []
    for name, padding in (("m1", "right"), ("m2", "left")):
        out = tmp_path / f"{name}.parquet"
        rc = main(["datadist", "score", "--model", str(saved_model), "--model-id", name,
                   "--corpus", str(corpus), "--max-tokens", "16", "--batch-tokens", "64",
                   "--dtype", "float32", "--device", "cpu", "--padding-side", padding,
                   "--output", str(out)])
        assert rc == 0
        outs.append(out)
    err = capsys.readouterr().err
    assert "skipping 1 empty document(s): empty" in err and "BOS prepended: True" in err
    a, b = read_scores(outs[0]), read_scores(outs[1])
    np.testing.assert_allclose(a["mean_logprob"], b["mean_logprob"], atol=1e-5)
    assert len(a.attrs["rmpredict"]["model_sha256"]) == 64

    feats = tmp_path / "features.csv"
    assert main(["datadist", "summarize", *map(str, outs), "--output", str(feats),
                 "--summary-output", str(tmp_path / "summary.csv")]) == 0
    first = feats.read_text().splitlines()[0]
    assert first.startswith("# rmpredict") and "not normalised" in first
    table = pd.read_csv(feats, comment="#")
    assert table["model"].tolist() == ["m1", "m2"]
    assert sorted(c for c in table.columns if is_datadist_column(c)) == [
        "datadist_books", "datadist_code", "datadist_exam"]
    want = a.groupby("domain")["mean_logprob"].mean()
    assert table.loc[0, "datadist_code"] == pytest.approx(want["code"])

    assert main(["datadist", "summarize", str(outs[0]), "--reference", str(outs[1]),
                 "--output", str(feats)]) == 0
    assert "difference to reference 'm2'" in feats.read_text().splitlines()[0]

    mat_csv, png = tmp_path / "m.csv", tmp_path / "m.png"
    assert main(["datadist", "distance", *map(str, outs), "--domain", "code", "--bins", "5",
                 "--output", str(mat_csv), "--plot", str(png)]) == 0
    mat = pd.read_csv(mat_csv, comment="#").set_index("model")
    assert mat.shape == (2, 2) and mat.loc["m1", "m1"] == 0.0
    assert png.stat().st_size > 1000


def test_cli_bad_corpus_is_one_line_exit_2(tmp_path, saved_model, capsys):
    corpus = write_corpus(tmp_path / "bad.jsonl", [{"text": "a", "domain": "x"}, {"text": "b"}])
    rc = main(["datadist", "score", "--model", str(saved_model), "--corpus", str(corpus),
               "--output", str(tmp_path / "s.parquet")])
    err = capsys.readouterr().err
    assert rc == 2 and "line 2: missing field 'domain'" in err
    assert len(err.strip().splitlines()) == 1


def test_run_json_pins_settings(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    corpus = read_corpus(write_corpus(tmp_path / "c.jsonl", _records(3)))
    monkeypatch.setattr(run_mod, "score_token_ids",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        score_corpus(tiny_model, tiny_tokenizer, corpus, tmp_path / "s.parquet",
                     config=ScoreConfig(max_tokens=8), model_id="tiny")
    pinned = json.loads((tmp_path / "s.parquet.partial" / "run.json").read_text())
    assert pinned["max_tokens"] == 8 and pinned["corpus_sha256"] == corpus.sha256
