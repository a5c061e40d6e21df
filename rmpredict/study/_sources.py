"""Loaders for the study's bundled source data (``data/study/sources/``, see ``data/STUDY.md``).

Four gzip JSON Lines files built by ``python data/build_study.py --sources DIR``: multiple-choice
benchmark items, reward-model training pairs, the RewardBench-like held-out pairs and the
pre-training corpus of the tiny ladder. Only pandas is needed; nothing here imports torch.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

import pandas as pd

from rmpredict.exceptions import DataValidationError, InvalidParameterError

__all__ = [
    "STUDY_SECTION_MAP",
    "study_sources_dir",
    "load_mc_items",
    "load_train_pairs",
    "load_heldout_pairs",
    "load_pretrain_corpus",
    "verify_study_sources",
]

REBUILD = "python data/build_study.py --sources DIR (see data/STUDY.md)"

#: RewardBench-like sections of the held-out suite: ``{section: {subset: weight}}``, weights are
#: the subsets' pair counts (a section score is the pair-weighted mean accuracy, like
#: RewardBench's per-prompt averaging). An approximation of RewardBench's sections, not
#: RewardBench: chat = hhh helpful/other, chat_hard = TruthfulQA + hhh honest, safety = hhh
#: harmless, reasoning = HumanEval mutants + held-out MMLU subjects.
STUDY_SECTION_MAP: dict[str, dict[str, float]] = {
    "chat": {"hhh-helpful": 59.0, "hhh-other": 43.0},
    "chat_hard": {"truthfulqa": 299.0, "hhh-honest": 61.0},
    "safety": {"hhh-harmless": 58.0},
    "reasoning": {"humaneval": 164.0, "mmlu-heldout": 300.0},
}

_FILES = {
    "mc": ("mc_benchmarks.jsonl.gz",
           ("benchmark", "task", "item_id", "prompt", "choices", "answer")),
    "train": ("train_pairs.jsonl.gz", ("prompt", "chosen", "rejected", "source", "task")),
    "heldout": ("heldout_pairs.jsonl.gz", ("prompt", "chosen", "rejected", "subset", "source")),
    "pretrain": ("pretrain_corpus.jsonl.gz", ("id", "domain", "text")),
}


def study_sources_dir() -> Path:
    """Folder of the bundled study source files (``data/study/sources`` in a checkout)."""
    from rmpredict.datasets import data_dir

    return data_dir() / "study" / "sources"


def _path(fname: str) -> Path:
    path = study_sources_dir() / fname
    if not path.is_file():
        raise DataValidationError(
            [f"bundled study file {fname} is missing; reinstall rmpredict or rebuild it with "
             f"`{REBUILD}`"], source=str(path))
    return path


@functools.cache
def _read(kind: str) -> pd.DataFrame:
    fname, columns = _FILES[kind]
    path = _path(fname)
    # json, not pd.read_json: read_json would turn option texts such as "12" into numbers.
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    frame = pd.DataFrame(rows)
    missing = [c for c in columns if c not in frame.columns]
    if missing or frame.empty:
        raise DataValidationError(
            [f"{fname} lacks columns {missing} or is empty; rebuild it with `{REBUILD}`"],
            source=str(path))
    return frame[list(columns)]


def _copy(kind: str) -> pd.DataFrame:
    frame = _read(kind).copy()
    if "choices" in frame.columns:  # lists are mutable: do not hand out the cached ones
        frame["choices"] = [list(c) for c in frame["choices"]]
    return frame


def load_mc_items(benchmark: str | None = None) -> pd.DataFrame:
    """Multiple-choice benchmark items, scored by option log-likelihood.

    Parameters
    ----------
    benchmark : {"mmlu", "bbh"}, optional
        Keep one benchmark only; all items by default.

    Returns
    -------
    pandas.DataFrame
        Columns ``benchmark``, ``task``, ``item_id``, ``prompt``, ``choices`` (list of str, the
        option texts; score ``" " + choice`` after the prompt) and ``answer`` (int index of the
        correct choice).
    """
    frame = _copy("mc")
    if benchmark is not None:
        known = sorted(frame["benchmark"].unique())
        if benchmark not in known:
            raise InvalidParameterError(
                f"benchmark={benchmark!r} is not bundled; use one of {known} or None")
        frame = frame[frame["benchmark"] == benchmark].reset_index(drop=True)
    frame["answer"] = frame["answer"].astype(int)
    return frame


def load_train_pairs() -> pd.DataFrame:
    """Reward-model training pairs: ``prompt``, ``chosen``, ``rejected``, ``source``, ``task``.

    ``source`` is ``"mmlu"`` or ``"bigbench"``; ``task`` is the MMLU subject or the BIG-bench
    task path. None of them overlaps the held-out pairs or the benchmark items.
    """
    return _copy("train")


def load_heldout_pairs() -> pd.DataFrame:
    """The RewardBench-like held-out pairs: ``prompt``, ``chosen``, ``rejected``, ``subset``,
    ``source``.

    Subsets are the keys of the inner dicts of :data:`STUDY_SECTION_MAP`; ``source`` names the
    origin (and, for HumanEval, the mutation rule of the rejected solution).
    """
    return _copy("heldout")


def load_pretrain_corpus() -> pd.DataFrame:
    """Pre-training text of the tiny ladder: ``id``, ``domain``, ``text`` (one document a row).

    Same five domains as the probe corpus, but no document of the bundled probe corpus.
    """
    return _copy("pretrain")


def verify_study_sources() -> dict[str, str]:
    """Recompute every bundled study file's sha256 and compare it with ``MANIFEST.json``.

    Returns
    -------
    dict
        File name to sha256 (hex) of every verified file.

    Raises
    ------
    DataValidationError
        If the manifest or a file is missing, or a checksum differs.
    """
    from rmpredict._provenance import sha256_file

    manifest = _path("MANIFEST.json")
    files = json.loads(manifest.read_text(encoding="utf-8")).get("files", {})
    if not files:
        raise DataValidationError([f"MANIFEST.json lists no files; rebuild with `{REBUILD}`"],
                                  source=str(manifest))
    out, problems = {}, []
    for fname, meta in sorted(files.items()):
        path = study_sources_dir() / fname
        if not path.is_file():
            problems.append(f"{fname} is missing; rebuild with `{REBUILD}`")
            continue
        digest = sha256_file(path)
        if digest != meta["sha256"]:
            problems.append(f"{fname} has sha256 {digest[:12]}…, expected {meta['sha256'][:12]}…; "
                            f"reinstall rmpredict or rebuild with `{REBUILD}`")
            continue
        out[fname] = digest
    if problems:
        raise DataValidationError(problems, source=str(study_sources_dir()))
    return out
