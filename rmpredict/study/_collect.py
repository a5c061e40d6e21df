"""Join the stages' outputs into ground-truth records and one results table (no torch)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.study._config import STUDY_METHOD, read_study_config

__all__ = ["collect", "refuse_selection_biased_score", "STUDY_ID", "RESULTS_FILE"]

STUDY_ID = "rmpredict-offline-v1"
"""Name of the study (suite, recipe and pipeline version) written into every record."""

RESULTS_FILE = "results.csv"
_CATS = ("chat", "chat_hard", "safety", "reasoning")
_FACTS = ("publisher", "family", "post_training", "params_b", "pretrain_tokens_t")


def _read(path: Path, stage: str, work: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InvalidParameterError(
            f"{str(path)!r} is missing; run 'rmpredict study {stage} --work {work}' first")
    return json.loads(path.read_text(encoding="utf-8"))


def refuse_selection_biased_score(key: str, score: dict[str, Any],
                                  training: dict[str, Any]) -> None:
    """Refuse a study score that was measured on the pairs that chose the model's checkpoint.

    The study's scores come from the held-out suite (``rmpredict study score``), not from the
    training record, whose own score is selection-biased by design (the study trains with
    ``holdout_fraction=0`` and keeps every validation pair for choosing the checkpoint). This
    check makes sure that stays so: a score flagged ``selection_biased``, or one measured on the
    very validation pairs of the training record (same content hash), never becomes a row the
    predictor learns from.

    Raises
    ------
    InvalidParameterError
        The score is selection-biased.
    """
    val = (training.get("data") or {}).get("eval") or {}
    scored = score.get("data") or {}
    same_pairs = any(val.get(h) is not None and val.get(h) == scored.get(h)
                     for h in ("sha256", "content_hash"))
    if score.get("selection_biased") or same_pairs:
        raise InvalidParameterError(
            f"study model {key!r}: its score is selection-biased (measured on the validation "
            "pairs that chose its checkpoint), so it cannot go to the predictor; score it on "
            "the held-out suite with 'rmpredict study score --force'")


def collect(work: str | Path, *, models: Sequence[str] | None = None,
            output: str | Path | None = None) -> pd.DataFrame:
    """Write ``records/<key>.json`` and the results table for the run in ``work``.

    Each record holds the base model's facts and licence, the measured benchmarks, the trained
    reward model's training record, the held-out scores (sections and subsets) and the presence
    features, with the hashes that tie them to their files. The table has one row per base
    model with ``method`` :data:`STUDY_METHOD`, the four section accuracies, ``score``, the
    measured ``mmlu``/``bbh``, ``datadist_*`` and the facts; it is validated as a results table.

    Returns
    -------
    pandas.DataFrame
        The table as written (``WORK/results.csv`` unless ``output`` is given).
    """
    from rmpredict import __version__
    from rmpredict._io import write_json_atomic, write_table_atomic
    from rmpredict._provenance import hash_json, sha256_file
    from rmpredict.datasets import validate_table
    from rmpredict.study._pipeline import _check_models, base_info

    work = Path(work)
    config = read_study_config(work)
    rows = []
    for key in _check_models(config, models):
        info = base_info(work, key)
        bench = _read(work / "bench" / f"{key}.json", "bench", work)
        score = _read(work / "score" / f"{key}.json", "score", work)
        presence = _read(work / "presence" / f"{key}.json", "presence", work)
        training = _read(work / "rm" / key / "record.json", "train", work)
        refuse_selection_biased_score(key, score, training)
        record = {
            "record_version": 1, "study": STUDY_ID, "model": info["model"],
            "method": STUDY_METHOD, "study_key": key,
            **{k: info.get(k) for k in _FACTS},
            "sections": score["sections"], "score": score["score"],
            "subsets": score["subsets"],
            "benchmarks": {k: bench.get(k) for k in ("mmlu", "bbh")} | {
                "status": bench["status"], "reason": bench.get("reason"),
                "tasks": bench.get("tasks")},
            "presence": presence,
            "base": info, "training": training,
            "provenance": {
                "rmpredict_version": __version__, "study_config": config.to_dict(),
                "study_config_sha256": hash_json(config.to_dict()), "seed": config.seed,
                "files_sha256": {
                    name: sha256_file(work / name) for name in (
                        f"bench/{key}.json", f"score/{key}.json", f"presence/{key}.json",
                        f"rm/{key}/record.json")}},
        }
        write_json_atomic(work / "records" / f"{key}.json", record)
        row: dict[str, Any] = {"model": info["model"], "method": STUDY_METHOD}
        row.update({c: score["sections"][c] for c in _CATS})
        row["score"] = sum(row[c] for c in _CATS) / len(_CATS)
        row.update({k: info.get(k) for k in _FACTS})
        row["mmlu"] = bench.get("mmlu")
        row["bbh"] = bench.get("bbh")
        row.update(presence.get("features", {}))
        row["record"] = f"records/{key}.json"
        row["record_sha256"] = sha256_file(work / "records" / f"{key}.json")
        rows.append(row)
    table = pd.DataFrame(rows)
    validate_table(table.drop(columns=["record", "record_sha256"]), "results",
                   source="study results", fill_from_reference=False)
    target = Path(output) if output is not None else work / RESULTS_FILE
    write_table_atomic(target, table, comment=(
        f"{STUDY_ID} ground truth, rmpredict {__version__}, study config sha256 "
        f"{hash_json(config.to_dict())[:16]}, seed {config.seed}; one record per row"))
    return table
