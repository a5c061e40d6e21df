"""Settings of an offline study run (no torch import), with presets for tests, CPU and GPU.

The settings live in ``WORK/study.json``; every stage reads them from there, so the stages of one
run cannot silently disagree. ``rmpredict study prepare --preset cpu`` writes the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmpredict.exceptions import InvalidParameterError

__all__ = ["StudyConfig", "study_config_preset", "PRESETS", "read_study_config",
           "write_study_config", "STUDY_METHOD", "CONFIG_FILE"]

CONFIG_FILE = "study.json"

STUDY_METHOD = "bradley_terry_offline"
"""The results-table ``method`` of the study's rows: one Bradley-Terry recipe scored on the
offline suite. It is a group of its own in the predictor's hierarchy (like ``regression`` and
``bradley_terry``), because suite and recipe differ from the EMNLP study's."""


@dataclass
class StudyConfig:
    """Everything a study run depends on.

    Parameters
    ----------
    models : list of str
        Packaged base keys (:data:`~rmpredict.study.PACKAGED_BASES`) and ladder names.
    ladder : {"default", "tiny", "none"}
        Which self-pretrained ladder the ladder names refer to.
    bench_items_per_task : int or None
        Cap on multiple-choice items per (benchmark, task); None = all bundled items.
    train_pairs, val_pairs : int
        Training pairs drawn (seeded) from the bundled training pairs, and a disjoint
        validation split for checkpoint selection.
    learning_rate, ladder_learning_rate : float
        Peak learning rates for pretrained bases and for the self-pretrained ladder (chosen
        before any run; not tuned on the held-out suite).
    heldout_pairs_per_subset : int or None
        Cap per held-out subset (seeded); None = the full suite.
    presence_docs_per_domain, presence_max_tokens : int
        Probe documents per domain and tokens per document for presence scores.
    """

    models: list[str] = field(default_factory=list)
    ladder: str = "default"
    bench_items_per_task: int | None = None
    bench_batch_size: int = 8
    bench_max_length: int = 512
    train_pairs: int = 512
    val_pairs: int = 64
    learning_rate: float = 2e-5
    ladder_learning_rate: float = 5e-4
    global_batch_size: int = 16
    per_device_batch_size: int = 8
    warmup_steps: int = 5
    max_length: int = 256
    eval_every: int = 8
    heldout_pairs_per_subset: int | None = None
    score_batch_size: int = 16
    presence_docs_per_domain: int | None = 40
    presence_max_tokens: int = 256
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.ladder not in ("default", "tiny", "none"):
            problems.append(f"ladder must be 'default', 'tiny' or 'none', got {self.ladder!r}")
        for name in ("bench_batch_size", "bench_max_length", "train_pairs", "val_pairs",
                     "global_batch_size", "per_device_batch_size", "max_length", "eval_every",
                     "score_batch_size", "presence_max_tokens"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("bench_items_per_task", "heldout_pairs_per_subset",
                     "presence_docs_per_domain"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                problems.append(f"{name} must be None or an integer >= 1, got {v!r}")
        for name in ("learning_rate", "ladder_learning_rate"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0, got {getattr(self, name)!r}")
        if problems:
            raise InvalidParameterError("; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidParameterError(
                f"unknown study setting(s) {', '.join(map(repr, unknown))}; known: "
                f"{', '.join(sorted(known))}")
        return cls(**data)


# Names of rmpredict.study._ladder.DEFAULT_LADDER (kept here so this module needs no torch;
# a test checks they agree).
_LADDER_NAMES = tuple(f"{size}-{mix}" for mix in ("prose", "code-exam")
                      for size in ("h64-l2", "h96-l3", "h128-l4"))

PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on one CPU core: for the tests of every stage.
    "tiny": dict(models=["tiny-prose", "tiny-code-exam"], ladder="tiny", bench_items_per_task=2,
                 bench_max_length=128, train_pairs=16, val_pairs=8, global_batch_size=8,
                 per_device_batch_size=4, warmup_steps=1, max_length=64, eval_every=1,
                 heldout_pairs_per_subset=2, presence_docs_per_domain=2,
                 presence_max_tokens=32),
    # What a 2-core CPU finishes in about 1.5 hours (benchmarks/RESULTS.md has the timings).
    "cpu": dict(models=[*_LADDER_NAMES, "minilm-l6", "smollm2-135m", "gemma3-270m"],
                ladder="default", bench_items_per_task=40, train_pairs=384, val_pairs=64,
                max_length=256, heldout_pairs_per_subset=60, presence_docs_per_domain=30,
                presence_max_tokens=256),
    # For one GPU: every packaged base and the full suite.
    "gpu": dict(models=[*_LADDER_NAMES, "minilm-l6", "smollm2-135m", "gemma3-270m",
                        "qwen2.5-coder-0.5b"],
                ladder="default", train_pairs=4096, val_pairs=256, global_batch_size=64,
                per_device_batch_size=16, warmup_steps=20, max_length=512, eval_every=16,
                presence_docs_per_domain=200, presence_max_tokens=1024),
}


def study_config_preset(name: str, **overrides: Any) -> StudyConfig:
    """A preset (``"tiny"``, ``"cpu"`` or ``"gpu"``) with optional overrides."""
    if name not in PRESETS:
        raise InvalidParameterError(
            f"unknown study preset {name!r}; use one of {', '.join(PRESETS)}")
    return StudyConfig(**{**PRESETS[name], **overrides})


def write_study_config(work: str | os.PathLike[str], config: StudyConfig) -> Path:
    """Write ``WORK/study.json`` atomically."""
    from rmpredict import __version__
    from rmpredict._io import write_json_atomic

    path = Path(work) / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"rmpredict_version": __version__, "config": config.to_dict()})
    return path


def read_study_config(work: str | os.PathLike[str]) -> StudyConfig:
    """The settings of the run in ``work`` (written by ``rmpredict study prepare``)."""
    path = Path(work) / CONFIG_FILE
    if not path.is_file():
        raise InvalidParameterError(
            f"no study run in {str(work)!r} ({CONFIG_FILE} missing); start one with "
            f"'rmpredict study prepare --work {work} --preset cpu'")
    return StudyConfig.from_dict(json.loads(path.read_text(encoding="utf-8"))["config"])
