"""The stages of an offline study run, each reading and writing a work directory.

Layout of ``WORK``::

    study.json                 settings (StudyConfig) and rmpredict version
    bases/<key>/               float transformers folder + base.json (licence, source hashes)
    bench/<key>.json           multiple-choice accuracies (+ <key>-items.parquet per item)
    rm/<key>/                  the trainer's output (model/, record.json)
    score/<key>.json           held-out suite: per-subset and section accuracies
    presence/<key>.parquet     presence scores on the probe corpus (+ <key>.json summary)
    records/<key>.json         the ground-truth record that joins all of the above
    results.csv                one row per base model, ready for the predictor

A stage skips a model whose output exists (``force=True`` redoes it) and writes every file
atomically, so an interrupted run resumes where it stopped. A stage that does not apply to a
model (log-likelihoods of an encoder without an LM head) writes ``status: not_applicable`` and
the reason instead of a number.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict.exceptions import InvalidParameterError
from rmpredict.study._bases import BASE_INFO_FILE, PACKAGED_BASES, materialise_package_model
from rmpredict.study._config import StudyConfig, read_study_config, write_study_config

__all__ = ["prepare", "run_bench", "run_train", "run_score", "run_presence",
           "ladder_specs", "base_info"]

Log = Callable[[str], None]

# Tokenizer shared by every ladder model of one run (trained on the uniform pre-training corpus).
LADDER_TOKENIZER = "_ladder_tokenizer"


def _noop(_: str) -> None:
    pass


def ladder_specs(name: str) -> dict[str, Any]:
    """Ladder specs by name for a ladder preset (``"default"``, ``"tiny"`` or ``"none"``)."""
    if name == "none":
        return {}
    from rmpredict.study._ladder import DEFAULT_LADDER, TINY_LADDER

    return {s.name: s for s in (DEFAULT_LADDER if name == "default" else TINY_LADDER)}


def _check_models(config: StudyConfig, models: Sequence[str] | None) -> list[str]:
    keys = list(models) if models else list(config.models)
    ladder = ladder_specs(config.ladder)
    known = set(PACKAGED_BASES) | set(ladder)
    bad = [k for k in keys if k not in known]
    if bad:
        raise InvalidParameterError(
            f"unknown study model(s) {', '.join(map(repr, bad))}; known: "
            f"{', '.join(sorted(known))} (ladder names depend on the 'ladder' setting)")
    if not keys:
        raise InvalidParameterError("no models to run; set 'models' in the study config")
    return keys


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, obj: Any) -> None:
    from rmpredict._io import write_json_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj)


def base_info(work: str | Path, key: str) -> dict[str, Any]:
    """``base.json`` of a prepared base model."""
    path = Path(work) / "bases" / key / BASE_INFO_FILE
    if not path.is_file():
        raise InvalidParameterError(
            f"base model {key!r} is not prepared in {str(work)!r}; run "
            f"'rmpredict study prepare --work {work}' first")
    return _json(path)


def _todo(path: Path, force: bool) -> bool:
    return force or not path.exists()


# ---- stage 0: base models --------------------------------------------------------------------
def prepare(work: str | Path, config: StudyConfig | None = None, *,
            models: Sequence[str] | None = None, force: bool = False,
            log: Log = _noop) -> dict[str, dict[str, Any]]:
    """Materialise the base models: dequantise packaged GGUFs, pre-train the ladder.

    Writes ``WORK/study.json`` when ``config`` is given (a new run), else reads it.
    """
    work = Path(work)
    if config is not None:
        write_study_config(work, config)
    config = read_study_config(work)
    keys = _check_models(config, models)
    ladder = ladder_specs(config.ladder)
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        target = work / "bases" / key
        if not _todo(target / BASE_INFO_FILE, force):
            out[key] = base_info(work, key)
            log(f"prepare {key}: exists")
            continue
        t0 = time.perf_counter()
        if key in PACKAGED_BASES:
            info = materialise_package_model(PACKAGED_BASES[key], target)
        else:
            info = _pretrain_ladder(work, ladder[key], target)
        info["prepare_seconds"] = round(time.perf_counter() - t0, 2)
        _write(target / BASE_INFO_FILE, info)
        out[key] = info
        log(f"prepare {key}: done in {info['prepare_seconds']:.1f} s")
    return out


def _ladder_tokenizer(work: Path) -> Any:
    from transformers import AutoTokenizer

    from rmpredict.study._ladder import train_tokenizer
    from rmpredict.study._sources import load_pretrain_corpus

    path = work / "bases" / LADDER_TOKENIZER
    if not (path / "tokenizer.json").exists():
        corpus = load_pretrain_corpus()
        tok = train_tokenizer(corpus["text"].tolist())
        tmp = path.with_name(path.name + ".tmp")
        tok.save_pretrained(str(tmp))
        tmp.replace(path)
    return AutoTokenizer.from_pretrained(str(path))


def _pretrain_ladder(work: Path, spec: Any, target: Path) -> dict:
    from rmpredict.study._ladder import pretrain_ladder_model
    from rmpredict.study._sources import load_pretrain_corpus

    tok = _ladder_tokenizer(work)
    # ``_todo`` already decided to redo this model: a folder left by a crash is replaced.
    summary = pretrain_ladder_model(spec, load_pretrain_corpus(), tok, target, overwrite=True)
    n_params, tokens = summary["n_params"], summary["tokens_seen"]
    return {"key": spec.name, "model": f"rmpredict-study/{spec.name}",
            "upstream": None, "kind": "ladder", "publisher": "rmpredict-ladder",
            "family": "ladder", "post_training": "base",
            "params_b": float(n_params) / 1e9, "pretrain_tokens_t": float(tokens) / 1e12,
            "licence": "same as rmpredict (trained by rmpredict on the bundled pre-training "
                       "corpus; see data/STUDY.md for its sources' licences)",
            "mixture": dict(spec.mixture), "ladder": summary}


# ---- stage 1: benchmarks ---------------------------------------------------------------------
def _capped(frame: pd.DataFrame, by: list[str], cap: int | None, seed: int) -> pd.DataFrame:
    if cap is None:
        return frame.reset_index(drop=True)
    rng = np.random.default_rng(seed)
    keep = []
    for _, group in frame.groupby(by, sort=True):
        idx = group.index.to_numpy()
        keep.extend(np.sort(rng.permutation(idx)[:cap]).tolist())
    return frame.loc[sorted(keep)].reset_index(drop=True)


def _is_encoder(folder: Path) -> bool:
    from transformers import AutoConfig

    from rmpredict.train._model import _is_encoder as config_is_encoder

    return config_is_encoder(AutoConfig.from_pretrained(str(folder)))


def _not_applicable(reason: str) -> dict[str, Any]:
    return {"status": "not_applicable", "reason": reason}


def _json_stage(work: Path, stage: str, keys: list[str], force: bool,
                compute: Callable[[str, Path], dict[str, Any]],
                describe: Callable[[dict[str, Any]], str], log: Log) -> dict[str, dict[str, Any]]:
    """Run ``compute(key, base_folder)`` for each model whose ``WORK/<stage>/<key>.json`` is
    missing (or all with ``force``) and write that file; encoders get ``not_applicable``."""
    out = {}
    for key in keys:
        path = work / stage / f"{key}.json"
        if not _todo(path, force):
            out[key] = _json(path)
            continue
        folder = work / "bases" / key
        base_info(work, key)
        if stage in ("bench", "presence") and _is_encoder(folder):
            result = _not_applicable("encoder without a language-model head: token "
                                     "log-probabilities are undefined")
        else:
            result = compute(key, folder)
        result["model"] = key
        _write(path, result)
        out[key] = result
        log(f"{stage} {key}: " + (result.get("reason") or describe(result)))
    return out


def run_bench(work: str | Path, *, models: Sequence[str] | None = None, force: bool = False,
              log: Log = _noop) -> dict[str, dict[str, Any]]:
    """Multiple-choice accuracy by log-likelihood of the options (MMLU and BIG-bench items)."""
    work = Path(work)
    config = read_study_config(work)
    return _json_stage(
        work, "bench", _check_models(config, models), force,
        lambda key, folder: _bench_one(folder, work / "bench" / f"{key}-items.parquet", config),
        lambda r: _short(r, ("mmlu", "bbh")), log)


def _short(result: dict[str, Any], keys: Sequence[str]) -> str:
    return ", ".join(f"{k} {result[k]:.3f}" for k in keys if isinstance(result.get(k), float))


def _bench_one(folder: Path, items_path: Path, config: StudyConfig) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rmpredict._provenance import hash_frame
    from rmpredict.study._multiple_choice import benchmark_scores, score_choices
    from rmpredict.study._sources import load_mc_items

    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    items = _capped(load_mc_items(), ["benchmark", "task"], config.bench_items_per_task,
                    config.seed)
    scored = score_choices(model, tok, items, batch_size=config.bench_batch_size,
                           max_length=config.bench_max_length)
    table = benchmark_scores(scored)
    from rmpredict._io import atomic_path

    with atomic_path(items_path) as tmp:
        scored.assign(choices=scored["choices"].map(json.dumps),
                      loglik=scored["loglik"].map(json.dumps),
                      n_tokens=scored["n_tokens"].map(json.dumps)).to_parquet(tmp, index=False)
    overall = table[table["task"] == "all"].set_index("benchmark")
    # The leaderboards' metrics: MMLU accuracy (v1, lm-eval `acc`); BBH length-normalised
    # accuracy (v2, `acc_norm`).
    result: dict[str, Any] = {
        "status": "done",
        "mmlu": float(overall.loc["mmlu", "accuracy"]) if "mmlu" in overall.index else None,
        "bbh": float(overall.loc["bbh", "acc_norm"]) if "bbh" in overall.index else None,
        "tasks": table.to_dict(orient="records"), "items_sha256": hash_frame(
            items[["benchmark", "task", "item_id"]]),
        "n_items": int(len(items)), "seconds": round(time.perf_counter() - t0, 2)}
    return result


# ---- stage 2: reward models ------------------------------------------------------------------
def training_split(config: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded, disjoint (train, validation) pairs from the bundled training pairs."""
    from rmpredict.study._sources import load_train_pairs

    pairs = load_train_pairs()
    need = config.train_pairs + config.val_pairs
    if need > len(pairs):
        raise InvalidParameterError(
            f"train_pairs + val_pairs = {need} but only {len(pairs)} training pairs are "
            "bundled; lower them")
    order = np.random.default_rng(config.seed).permutation(len(pairs))
    val = pairs.iloc[np.sort(order[:config.val_pairs])].reset_index(drop=True)
    train = pairs.iloc[order[config.val_pairs:need]].reset_index(drop=True)
    return train, val


def run_train(work: str | Path, *, models: Sequence[str] | None = None, force: bool = False,
              log: Log = _noop) -> dict[str, dict[str, Any]]:
    """Train one Bradley-Terry reward model per base with rmpredict's trainer."""
    from rmpredict.train import TrainConfig, read_record, train_reward_model

    work = Path(work)
    config = read_study_config(work)
    out = {}
    train, val = training_split(config)
    for key in _check_models(config, models):
        rm_dir = work / "rm" / key
        if not _todo(rm_dir / "record.json", force):
            out[key] = read_record(rm_dir / "record.json")
            continue
        info = base_info(work, key)
        ladder = info.get("kind") == "ladder"
        cfg = TrainConfig(
            base_model=str(work / "bases" / key), output_dir=str(rm_dir),
            method="bradley_terry", model_name=info["model"],
            learning_rate=config.ladder_learning_rate if ladder else config.learning_rate,
            num_epochs=1, global_batch_size=config.global_batch_size,
            per_device_batch_size=config.per_device_batch_size,
            warmup_steps=config.warmup_steps, eval_every=config.eval_every,
            save_every=0, keep_best=True, eval_batch_size=config.score_batch_size,
            max_length=_max_length(work / "bases" / key, config.max_length),
            # The study scores on its own held-out suite (run_score), so every validation pair
            # chooses the checkpoint; the record's own score is then selection-biased, marked
            # so, and never used (collect checks).
            holdout_fraction=0, seed=config.seed)
        result = train_reward_model(cfg, train_data=train, eval_data=val)
        out[key] = result.record
        best = max((h.get("val_accuracy") or 0.0) for h in result.history) \
            if result.history else float("nan")
        log(f"train {key}: {result.record['train_time_s']:.1f} s, best validation "
            f"accuracy {best:.3f}")
    return out


def _max_length(folder: Path, wanted: int) -> int:
    limit = _json(folder / "config.json").get("max_position_embeddings")
    return int(min(wanted, limit)) if limit else int(wanted)


# ---- stage 3: held-out suite -----------------------------------------------------------------
def heldout_suite(config: StudyConfig) -> pd.DataFrame:
    """The held-out pairs scored by every model of a run (capped per subset, seeded)."""
    from rmpredict.study._sources import load_heldout_pairs

    return _capped(load_heldout_pairs(), ["subset"], config.heldout_pairs_per_subset,
                   config.seed)


def run_score(work: str | Path, *, models: Sequence[str] | None = None, force: bool = False,
              log: Log = _noop) -> dict[str, dict[str, Any]]:
    """Score every trained reward model on the RewardBench-like held-out suite."""
    from rmpredict.study._sources import STUDY_SECTION_MAP
    from rmpredict.train import score_reward_model

    work = Path(work)
    config = read_study_config(work)
    suite = heldout_suite(config)

    def compute(key: str, folder: Path) -> dict[str, Any]:
        model_dir = work / "rm" / key / "model"
        if not model_dir.is_dir():
            raise InvalidParameterError(
                f"no trained reward model for {key!r} in {str(work)!r}; run "
                f"'rmpredict study train --work {work}' first")
        t0 = time.perf_counter()
        res = score_reward_model(str(model_dir), suite, batch_size=config.score_batch_size,
                                 section_map=STUDY_SECTION_MAP,
                                 max_length=_max_length(model_dir, config.max_length))
        result = {"status": "done", **res.to_dict(), "section_map": STUDY_SECTION_MAP,
                  "seconds": round(time.perf_counter() - t0, 2)}
        with np.errstate(all="ignore"):
            result["score"] = float(np.mean([result["sections"][c] for c in
                                             ("chat", "chat_hard", "safety", "reasoning")]))
        return result

    return _json_stage(work, "score", _check_models(config, models), force, compute,
                       lambda r: ", ".join(f"{c} {v:.3f}" for c, v in r["sections"].items()
                                           if v is not None), log)


# ---- stage 4: presence scores ----------------------------------------------------------------
def probe_subset(config: StudyConfig) -> Any:
    """The probe corpus, capped per domain (seeded); its hash names the subset."""
    from rmpredict._provenance import hash_json
    from rmpredict.datadist import Corpus, probe_corpus_path, read_corpus

    corpus = read_corpus(probe_corpus_path())
    if config.presence_docs_per_domain is None:
        return corpus
    docs = _capped(corpus.documents, ["domain"], config.presence_docs_per_domain, config.seed)
    return Corpus(documents=docs, empty_ids=list(corpus.empty_ids),
                  sha256=hash_json([corpus.sha256, docs["id"].tolist()]), path=corpus.path)


def run_presence(work: str | Path, *, models: Sequence[str] | None = None,
                 force: bool = False, log: Log = _noop) -> dict[str, dict[str, Any]]:
    """Presence scores (mean token log-probability per domain) of each base on the probe."""
    from rmpredict.datadist import (
        ScoreConfig,
        features_table,
        load_model,
        model_fingerprint,
        score_corpus,
    )

    work = Path(work)
    config = read_study_config(work)
    corpus = probe_subset(config)

    def compute(key: str, folder: Path) -> dict[str, Any]:
        t0 = time.perf_counter()
        model_id = base_info(work, key)["model"]
        model, tok = load_model(folder, dtype="float32")
        scores = score_corpus(model, tok, corpus, work / "presence" / f"{key}.parquet",
                              config=ScoreConfig(max_tokens=config.presence_max_tokens),
                              model_id=model_id, fingerprint=model_fingerprint(folder))
        feats = features_table({model_id: scores}).iloc[0]
        return {"status": "done",
                "features": {c: float(feats[c]) for c in feats.index
                             if str(c).startswith("datadist_")},
                "n_documents": int(len(scores)), "corpus_sha256": corpus.sha256,
                "max_tokens": config.presence_max_tokens,
                "seconds": round(time.perf_counter() - t0, 2)}

    return _json_stage(work, "presence", _check_models(config, models), force, compute,
                       lambda r: ", ".join(f"{k[9:]} {v:.2f}" for k, v in
                                           r["features"].items()), log)

