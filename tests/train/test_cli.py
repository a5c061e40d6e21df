"""CLI: train-rm (with --config), score-rm, results add, and the record round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _train_helpers import synthetic_pairs, write_jsonl

from rmpredict.cli import main
from rmpredict.datasets import read_results

SUBSETS = ["alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-python", "math-prm",
           "my-own-subset"]


def _record(tmp_path, model="org/tiny", method="bradley_terry", **sections):
    sec = {"chat": 0.9, "chat_hard": 0.5, "safety": 0.7, "reasoning": 0.6}
    sec.update(sections)
    rec = {"model": model, "method": method, "sections": sec, "params_b": 0.5}
    path = tmp_path / f"{model.replace('/', '_')}-{method}.json"
    path.write_text(json.dumps(rec))
    return path


def test_train_score_and_results_round_trip(llama_dir, tmp_path, capsys):
    train = write_jsonl(synthetic_pairs(64, seed=1), tmp_path / "train.jsonl")
    evals = write_jsonl(synthetic_pairs(36, seed=2, subsets=SUBSETS), tmp_path / "eval.jsonl")
    tests = write_jsonl(synthetic_pairs(36, seed=3, subsets=SUBSETS), tmp_path / "test.jsonl")
    (tmp_path / "run.yaml").write_text(
        "preset: bradley_terry\nlearning_rate: 0.003\nglobal_batch_size: 16\n"
        "per_device_batch_size: 8\nwarmup_steps: 1\neval_every: 2\nmax_length: 64\n")
    out = tmp_path / "run"
    code = main(["train-rm", "--config", str(tmp_path / "run.yaml"), "--base-model",
                 str(llama_dir), "--train-data", train, "--eval-data", evals, "--test-data",
                 tests, "--output",
                 str(out), "--model-name", "local/tiny-llama", "--seed", "3"])
    assert code == 0
    rec = json.loads((out / "record.json").read_text())
    assert rec["config"]["learning_rate"] == 0.003 and rec["config"]["seed"] == 3
    assert rec["config"]["num_epochs"] == 1 and rec["config"]["warmup_steps"] == 1
    for key in ("base_model", "data", "library_versions", "hardware", "wall_time_s",
                "gpu_hours", "real_tokens_per_s", "chosen_checkpoint", "sections", "truncation",
                "pad_token", "chat_template", "attn_implementation", "seeds"):
        assert key in rec, key
    assert rec["data"]["train"]["sha256"] and rec["data"]["train"]["n_rows"] == 64
    assert rec["subsets"]["my-own-subset"]["n"] == 6 and "unmapped" in rec["sections"]
    assert rec["selection_biased"] is False and rec["data"]["scored_on"] == "test_data"
    assert rec["data"]["test"]["source"] == tests and rec["data"]["test"]["sha256"]
    assert "scored on test_data" in capsys.readouterr().out

    # score-rm on the saved model reproduces the record's section scores.
    scores = tmp_path / "scores.json"
    assert main(["score-rm", "--model", str(out / "model"), "--eval-data", tests,
                 "--output", str(scores), "--batch-size", "1", "--padding-side", "left"]) == 0
    got = json.loads(scores.read_text())
    for k in ("chat", "chat_hard", "safety", "reasoning", "score"):
        assert got["sections"][k] == pytest.approx(rec["sections"][k])

    table = tmp_path / "results.csv"
    assert main(["results", "add", str(out / "record.json"), "--to", str(table)]) == 0
    assert main(["results", "add", str(_record(tmp_path)), "--to", str(table)]) == 0
    res = read_results(table, fill_from_reference=False)
    assert len(res.frame) == 2
    row = res.frame.set_index("model").loc["local/tiny-llama"]
    assert row["method"] == "bradley_terry"
    assert row["score"] == pytest.approx(rec["sections"]["score"])
    assert row["params_b"] == pytest.approx(rec["params_b"])
    capsys.readouterr()


def test_results_add_duplicates_and_replace(tmp_path, capsys):
    table = tmp_path / "results.csv"
    assert main(["results", "add", str(_record(tmp_path)), "--to", str(table)]) == 0
    capsys.readouterr()
    assert main(["results", "add", str(_record(tmp_path, chat=0.2)), "--to", str(table)]) == 2
    err = capsys.readouterr().err
    assert "already in the table" in err and "--replace" in err and err.count("\n") == 1
    assert main(["results", "add", str(_record(tmp_path, chat=0.2)), "--to", str(table),
                 "--replace"]) == 0
    frame = read_results(table, fill_from_reference=False).frame
    assert len(frame) == 1 and frame["chat"].iloc[0] == 0.2


def test_results_add_rejects_missing_section(tmp_path, capsys):
    bad = _record(tmp_path, safety=None)
    assert main(["results", "add", str(bad), "--to", str(tmp_path / "r.csv")]) == 2
    assert "safety" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_results_add_does_not_import_torch(tmp_path):
    rec = _record(tmp_path)
    code = ("import sys\nfrom rmpredict.cli import main\n"
            f"assert main(['results', 'add', {str(rec)!r}, '--to', {str(tmp_path / 'r.csv')!r}])"
            " == 0\nheavy = [m for m in ('torch', 'transformers', 'accelerate') "
            "if m in sys.modules]\nassert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
