"""The reward-model training loop (Bradley-Terry or multi-attribute regression).

One optimizer step consumes one global batch of ``global_batch_size`` pairs (rows), split over
devices (accelerate/DDP) and micro-batches (gradient accumulation). The loss of a micro-batch is
its *sum* over pairs divided by the global batch size, so the update does not depend on how the
batch is split, which also makes length bucketing and packing free of side effects.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from rmpredict._io import atomic_path, write_json_atomic
from rmpredict.exceptions import InvalidParameterError, TrainingError
from rmpredict.train._config import TrainConfig
from rmpredict.train._data import (
    Encoder,
    check_pairs,
    check_regression_rows,
    data_fingerprint,
    load_rows,
    pair_items,
)
from rmpredict.train._merge import default_signs, search_merge_vector
from rmpredict.train._model import LoadedModel, load_reward_model, pack_batch, pad_batch
from rmpredict.train._score import RM_META_FILE, score_reward_model, score_sequences
from rmpredict.train._sharded import (
    full_state_dicts,
    hf_state_dict,
    load_full_model_state,
    load_full_state_dicts,
    sharded_scores,
)

__all__ = ["TrainResult", "train_reward_model"]

CHECKPOINT_DIR = "checkpoint-last"
MODEL_DIR = "model"
# Settings that may change between an interrupted run and its resumption.
_RESUMABLE_CHANGES = {"max_steps", "resume_from", "output_dir", "eval_batch_size"}


@dataclass
class TrainResult:
    """Outcome of a training run.

    Attributes
    ----------
    output_dir : pathlib.Path
    model_dir : pathlib.Path
        The chosen checkpoint as a Hugging Face model directory (+ ``rm_meta.json``).
    record : dict
        The ground-truth record (also written to ``output_dir/record.json``).
    history : list of dict
        Per-evaluation step, loss and validation accuracy.
    final : LoadedModel or None
        The model in memory with the weights of the last step (not necessarily the chosen
        checkpoint), with its tokenizer.
    """

    output_dir: Path
    model_dir: Path
    record: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    final: LoadedModel | None = None

    @property
    def record_path(self) -> Path:
        return self.output_dir / "record.json"


def _bt_loss(r: torch.Tensor, margin: torch.Tensor | None, center: float | None) -> torch.Tensor:
    """Summed Bradley-Terry loss of pairs laid out as (chosen, rejected, chosen, ...)."""
    rc, rr = r[0::2, 0], r[1::2, 0]
    diff = rc - rr - (margin if margin is not None else 0.0)
    loss = -F.logsigmoid(diff)
    if center:
        loss = loss + center * (rc + rr) ** 2
    return loss.sum()


def _mse_loss(r: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((r - target) ** 2).mean(dim=1).sum()


class _Plan:
    """Deterministic data order and micro-batches for a (rank, world) pair."""

    def __init__(self, n: int, cfg: TrainConfig, lengths: np.ndarray, group: int,
                 rank: int, world: int):
        self.n, self.cfg, self.group, self.rank, self.world = n, cfg, group, rank, world
        # A pair's padded width is its longer sequence; bucketing sorts by that.
        self.unit_len = lengths.reshape(-1, group).max(axis=1)
        gb = cfg.global_batch_size
        self.steps_per_epoch = n // gb + (1 if n % gb >= world else 0)
        if self.steps_per_epoch == 0:
            raise InvalidParameterError(
                f"only {n} training rows for {world} device(s); need at least {world}")

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Order of the rows in an epoch: a function of (seed, epoch) only, so resumable.

        With ``group_by_length``, rows are sorted by length inside mega-batches of 50 global
        batches and the resulting global batches are shuffled (as transformers'
        LengthGroupedSampler): batches hold similar lengths, so padded batches waste less.
        """
        if getattr(self, "_cached", (None,))[0] == epoch:
            return self._cached[1]
        rng = np.random.default_rng([self.cfg.seed, epoch])
        order = rng.permutation(self.n)
        gb = self.cfg.global_batch_size
        if self.cfg.group_by_length:
            mega = gb * 50
            order = np.concatenate([
                c[np.argsort(-self.unit_len[c], kind="stable")]
                for c in (order[i:i + mega] for i in range(0, self.n, mega))])
            batches = [order[i:i + gb] for i in range(0, self.n, gb)]
            full = [b for b in batches if len(b) == gb]
            rest = [b for b in batches if len(b) < gb]  # a partial batch stays last
            order = np.concatenate([full[i] for i in rng.permutation(len(full))] + rest)
        self._cached = (epoch, order)
        return order

    def global_batch(self, step: int) -> np.ndarray:
        epoch, b = divmod(step, self.steps_per_epoch)
        gb = self.cfg.global_batch_size
        return self.epoch_order(epoch)[b * gb:(b + 1) * gb]

    def micro_batches(self, gidx: np.ndarray) -> list[np.ndarray]:
        local = gidx[self.rank::self.world]
        # Length bucketing inside the global batch: same update, less padding.
        local = local[np.argsort(self.unit_len[local], kind="stable")]
        k = self.cfg.per_device_batch_size
        return [local[i:i + k] for i in range(0, len(local), k)]


def _atomic_dir_swap(tmp: Path, target: Path) -> None:
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    if old.exists():
        shutil.rmtree(old)


def _save_model_dir(lm: LoadedModel, target: Path, meta: dict[str, Any],
                    state_dict: dict[str, torch.Tensor] | None = None) -> None:
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    if state_dict is None:
        lm.model.hf.save_pretrained(tmp)
    else:
        # Sharded (FSDP) parameters: save the gathered full weights instead of the local shards.
        lm.model.hf.save_pretrained(tmp, state_dict=hf_state_dict(state_dict))
    lm.tokenizer.save_pretrained(tmp)
    write_json_atomic(tmp / RM_META_FILE, meta)
    _atomic_dir_swap(tmp, target)


def train_reward_model(config: TrainConfig, *, train_data: Any = None, eval_data: Any = None,
                       test_data: Any = None) -> TrainResult:
    """Train a reward model, keep the best checkpoint, score it and write its record.

    Parameters
    ----------
    config : TrainConfig
        The run (see :func:`rmpredict.train.study_preset` for the study's recipe).
    train_data, eval_data, test_data : DataFrame, datasets.Dataset or path, optional
        Override ``config.train_data`` / ``eval_data`` / ``test_data``.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingError
        If the loss becomes NaN or infinite; a checkpoint of the last good state is kept in
        ``output_dir/checkpoint-last`` and the best model so far in ``output_dir/model``.
    DataValidationError
        Bad training or evaluation data.
    """
    if config.lr_sweep:
        return _sweep(config, train_data=train_data, eval_data=eval_data, test_data=test_data)
    return _train_one(config, train_data, eval_data, test_data)


def _sweep(config: TrainConfig, **data: Any) -> TrainResult:
    results = []
    for lr in config.learning_rates:
        sub = config.replace(lr_sweep=False, learning_rate=float(lr),
                             output_dir=str(Path(config.output_dir) / f"lr-{lr:g}"))
        results.append(_train_one(sub, data["train_data"], data["eval_data"], data["test_data"]))
    best = max(results, key=lambda r: r.record["chosen_checkpoint"]["val_accuracy"])
    best.record["lr_sweep"] = [
        {"learning_rate": r.record["config"]["learning_rate"],
         "val_accuracy": r.record["chosen_checkpoint"]["val_accuracy"],
         "output_dir": str(r.output_dir)} for r in results]
    best.record["config"]["lr_sweep"] = True
    write_json_atomic(Path(config.output_dir) / "record.json", best.record)
    return TrainResult(Path(config.output_dir), best.model_dir, best.record, best.history,
                       best.final)


def _train_one(cfg: TrainConfig, train_data: Any, eval_data: Any, test_data: Any
               ) -> TrainResult:
    from accelerate import Accelerator

    from rmpredict._provenance import library_versions
    from rmpredict.train._record import RECORD_VERSION, hardware_info

    wall0 = time.perf_counter()
    acc = Accelerator(mixed_precision=cfg.mixed_precision, cpu=not torch.cuda.is_available())
    rank, world, main = acc.process_index, acc.num_processes, acc.is_main_process
    kind = str(acc.distributed_type).rsplit(".", 1)[-1]
    if kind in ("DEEPSPEED", "MEGATRON_LM", "XLA"):
        # Evaluation and checkpoints gather weights through torch's FSDP/DDP state-dict API;
        # these engines shard (or compile) the model in their own ways.
        raise InvalidParameterError(
            f"distributed type {kind} is not supported by rmpredict's trainer; use DDP "
            "(accelerate launch --multi_gpu, or torchrun) or FSDP (accelerate launch "
            "--use_fsdp) instead")
    # FSDP: parameters are sharded over ranks, so forward passes run on the wrapped model on
    # every rank and weights are gathered (to rank 0, on CPU) whenever they are saved.
    fsdp = kind == "FSDP"
    out = Path(cfg.output_dir)
    if main:
        out.mkdir(parents=True, exist_ok=True)
    is_reg = cfg.method == "regression"
    attributes = list(cfg.attributes) if is_reg else []

    # ---- data
    tr_frame, tr_src = load_rows(train_data if train_data is not None else cfg.train_data,
                                 what="train data")
    ev_frame, ev_src = load_rows(eval_data if eval_data is not None else cfg.eval_data,
                                 what="eval data")
    if is_reg:
        tr = check_regression_rows(tr_frame, attributes, source=tr_src)
    else:
        tr = check_pairs(tr_frame, source=tr_src, margin_column=cfg.margin_column)
    ev = check_pairs(ev_frame, source=ev_src)

    # ---- model
    lm = load_reward_model(cfg.base_model if not cfg.gguf_file else cfg.base_model,
                           num_labels=len(attributes) or 1, revision=cfg.revision,
                           gguf_file=cfg.gguf_file, attn_implementation=cfg.attn_implementation,
                           seed=cfg.seed)
    model, tok = lm.model, lm.tokenizer
    if cfg.gradient_checkpointing:
        model.hf.gradient_checkpointing_enable()
    enc = Encoder(tok, is_encoder=model.is_encoder, max_length=cfg.max_length,
                  truncation=cfg.truncation, chat_template=cfg.chat_template)
    if is_reg:
        tr_tok = enc.encode_many(list(zip(tr["prompt"], tr["response"])), group=1)
        targets = torch.tensor(tr[attributes].to_numpy()[tr_tok.kept], dtype=torch.float32)
    else:
        items, pre = pair_items(tr)
        tr_tok = enc.encode_many(items, group=2, pretokenised=pre)
        targets = None
    margins = (torch.tensor(tr[cfg.margin_column].astype(float).to_numpy()[tr_tok.kept],
                            dtype=torch.float32) if cfg.margin_column and not is_reg else None)
    items, pre = pair_items(ev)
    ev_tok = enc.encode_many(items, group=2, pretokenised=pre)
    group = 1 if is_reg else 2
    packing = {"on": True, "off": False, "auto": model.packing_pays()}[cfg.packing]
    if packing and not model.supports_packing():
        raise InvalidParameterError(
            f"packing='on' needs a decoder with sdpa, eager or flash attention; this model is "
            f"{lm.info['architecture']} with {lm.info['attn_implementation']}; use packing=off")

    device = acc.device
    if not fsdp:
        # (FSDP moves each shard to the device itself: the whole model need not fit one.)
        model.to(device)
    opt_kw = {"fused": True} if device.type == "cuda" else {}
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate,
                                  betas=(cfg.adam_beta1, cfg.adam_beta2), eps=cfg.adam_eps,
                                  weight_decay=cfg.weight_decay, **opt_kw)
    if fsdp:
        # FSDP replaces the parameters by sharded ones; accelerate's prepare() points the
        # optimizer at them. The plain torch optimizer is kept (steps are not accumulated).
        ddp, wrapped_opt = acc.prepare(model, optimizer)
        optimizer = wrapped_opt.optimizer
    warm = max(cfg.warmup_steps, 0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warm) if warm else 1.0)
    if not fsdp:
        ddp = acc.prepare_model(model)

    n_units = len(tr_tok.kept)
    lengths = tr_tok.lengths
    plan = _Plan(n_units, cfg, lengths, group, rank, world)
    total = plan.steps_per_epoch * cfg.num_epochs
    stop = min(total, cfg.max_steps) if cfg.max_steps else total
    signs = list(cfg.merge_signs) if cfg.merge_signs is not None else \
        list(default_signs(attributes)) if is_reg else None

    state: dict[str, Any] = {"step": 0, "best_acc": -math.inf, "best_step": None,
                             "best_merge": None, "history": [], "real_tokens": 0,
                             "padded_tokens": 0, "train_seconds": 0.0}
    ckpt_dir = out / CHECKPOINT_DIR
    if cfg.resume_from:
        _resume(cfg, ckpt_dir, ddp if fsdp else model, optimizer, scheduler, state,
                kind=kind)

    def evaluate() -> tuple[float, list[float] | None]:
        kw = {"pad_id": tok.pad_token_id, "batch_size": cfg.eval_batch_size, "device": device,
              "autocast": acc.autocast if cfg.mixed_precision != "no" else None}
        if fsdp:
            r = sharded_scores(acc, ddp, ev_tok.sequences, **kw)
        else:
            r = score_sequences(model, ev_tok.sequences, **kw)
        if is_reg:
            w, a = search_merge_vector(r[0::2], r[1::2], signs=signs, step=cfg.merge_grid_step)
            return a, w.tolist()
        return float(np.mean(r[0::2, 0] > r[1::2, 0])), None

    meta_base = {"method": cfg.method, "attributes": attributes or None,
                 "readout": "last non-padding token", "pad": lm.info["pad"],
                 "chat_template": enc.template_info}

    def save_checkpoint() -> None:
        if fsdp:
            # Collective: every rank takes part in gathering; rank 0 receives the full dicts.
            model_sd, optim_sd = full_state_dicts(ddp, optimizer)
        elif main:
            model_sd, optim_sd = model.state_dict(), optimizer.state_dict()
        if not main:
            return
        payload = {"model": model_sd, "optimizer": optim_sd,
                   "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                   "config": cfg.to_dict(), "distributed_type": kind, **state}
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt_dir / "state.pt") as tmp:
            torch.save(payload, tmp)

    model.train()
    loss_window: list[float] = []
    while state["step"] < stop:
        step = state["step"]
        t0 = time.perf_counter()
        gidx = plan.global_batch(step)
        micro = plan.micro_batches(gidx)
        n_global = len(gidx)
        loss_sum = torch.zeros((), device=device)
        for j, mb in enumerate(micro):
            seqs = [tr_tok.sequences[u * group + g] for u in mb for g in range(group)]
            if packing:
                batch = pack_batch(seqs, device=device)
                padded = sum(map(len, seqs))
            else:
                batch = pad_batch(seqs, pad_id=tok.pad_token_id, device=device)
                padded = batch["input_ids"].numel()
            # FSDP reduce-scatters gradients at every backward (its shards hold no full
            # gradient to accumulate into), so only DDP skips the sync of early micro-batches.
            sync = contextlib.nullcontext() if fsdp or j == len(micro) - 1 \
                else acc.no_sync(ddp)
            with sync:
                rewards = ddp(**batch)
                if is_reg:
                    loss = _mse_loss(rewards, targets[mb].to(device))
                else:
                    m = margins[mb].to(device) if margins is not None else None
                    loss = _bt_loss(rewards, m, cfg.center_rewards_coefficient)
                acc.backward(loss * world / n_global)
            loss_sum += loss.detach()
            state["real_tokens"] += sum(map(len, seqs))
            state["padded_tokens"] += padded
        total_loss = acc.reduce(loss_sum, reduction="sum") / n_global
        if not torch.isfinite(total_loss):
            optimizer.zero_grad(set_to_none=True)
            # The weights are still those before this step: keep them as the last good state.
            save_checkpoint()
            acc.wait_for_everyone()
            raise TrainingError(
                f"loss became {total_loss.item()} at step {step + 1}; training stopped. The "
                f"last good state (step {step}) is in {ckpt_dir} and the best model so far in "
                f"{out / MODEL_DIR}; lower --learning-rate, use mixed precision bf16 instead of "
                "fp16, or check the data")
        if cfg.max_grad_norm:
            if fsdp:
                # The norm of sharded gradients needs a reduction over ranks.
                acc.clip_grad_norm_(ddp.parameters(), cfg.max_grad_norm)
            else:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        state["train_seconds"] += time.perf_counter() - t0
        state["step"] = step = step + 1
        loss_window.append(float(total_loss))
        if step % cfg.eval_every == 0 or step == stop:
            acc_val, merge = evaluate()
            rec = {"step": step, "loss": float(np.mean(loss_window)), "val_accuracy": acc_val,
                   "learning_rate": scheduler.get_last_lr()[0]}
            loss_window = []
            state["history"].append(rec)
            better = acc_val > state["best_acc"]
            if better or (not cfg.keep_best and step == stop):
                state.update(best_acc=acc_val, best_step=step, best_merge=merge)
                full = full_state_dicts(ddp)[0] if fsdp else None
                if main:
                    _save_model_dir(lm, out / MODEL_DIR, {**meta_base, "step": step,
                                                          "val_accuracy": acc_val,
                                                          "merge_vector": merge},
                                    state_dict=full)
        if cfg.save_every > 0 and (step % cfg.save_every == 0 or step == stop):
            save_checkpoint()
    acc.wait_for_everyone()

    # ---- final score of the chosen checkpoint, from its saved directory
    test = test_data if test_data is not None else (cfg.test_data or None)
    scored_on = "test_data" if test is not None else "eval_data"
    chosen: Any = str(out / MODEL_DIR)
    if fsdp:
        # No rank may need the whole model on its device: score the sharded model (every rank
        # runs the same forward passes), after loading the chosen checkpoint's weights into it.
        if state["best_step"] != state["step"]:
            load_full_model_state(ddp, out / MODEL_DIR, rank0_only=main)
        chosen = LoadedModel(ddp, tok, lm.info)  # type: ignore[arg-type]
    result = score_reward_model(
        chosen, test if test is not None else ev,
        merge_vector=state["best_merge"] if fsdp else None,  # (else read from rm_meta.json)
        batch_size=cfg.eval_batch_size, max_length=cfg.max_length, truncation=cfg.truncation,
        chat_template=cfg.chat_template, attn_implementation=cfg.attn_implementation,
        device=str(device))
    tokens = acc.reduce(torch.tensor(float(state["real_tokens"]), device=device), "sum").item()
    padded_all = acc.reduce(torch.tensor(float(state["padded_tokens"]), device=device),
                            "sum").item()
    wall = time.perf_counter() - wall0
    n_gpu = world if device.type == "cuda" else 0
    record = {
        "record_version": RECORD_VERSION,
        "model": cfg.model_name or cfg.base_model,
        "method": cfg.method,
        "base_model": {"id": cfg.base_model, "revision": cfg.revision,
                       "commit": lm.info.get("commit"), "gguf_file": cfg.gguf_file,
                       "file_sha256": lm.info.get("file_sha256"),
                       "architecture": lm.info["architecture"], "n_params": lm.info["n_params"]},
        "params_b": lm.info["n_params"] / 1e9,
        "data": {"train": {**data_fingerprint(tr_frame, tr_src), "n_used": int(n_units)},
                 "eval": {**data_fingerprint(ev_frame, ev_src), "n_used": len(ev_tok.kept)},
                 "scored_on": scored_on,
                 "test": result.info["data"] if test is not None else None},
        "config": cfg.to_dict(),
        "seeds": {"seed": cfg.seed, "data_order": "numpy default_rng([seed, epoch])"
                  + (", grouped by length" if cfg.group_by_length else "")},
        "library_versions": library_versions(("numpy", "pandas", "torch", "transformers",
                                              "accelerate", "tokenizers", "safetensors")),
        "hardware": {**hardware_info(), "world_size": world, "device": device.type,
                     "mixed_precision": cfg.mixed_precision, "distributed_type": kind},
        "wall_time_s": wall,
        "train_time_s": state["train_seconds"],
        "gpu_hours": wall * n_gpu / 3600.0,
        "real_tokens_per_s": tokens / max(state["train_seconds"], 1e-9),
        "padding_share": 1.0 - tokens / padded_all if padded_all else 0.0,
        "steps": state["step"],
        "packing": packing,
        "attn_implementation": lm.info["attn_implementation"],
        "pad_token": lm.info["pad"],
        "chat_template": enc.template_info,
        "truncation": {"train": tr_tok.truncation, "eval": ev_tok.truncation},
        "chosen_checkpoint": {"path": str(out / MODEL_DIR), "step": state["best_step"],
                              "val_accuracy": state["best_acc"],
                              "criterion": "best validation accuracy" if cfg.keep_best
                              else "last step",
                              "merge_vector": state["best_merge"]},
        "history": state["history"],
        "sections": result.sections,
        "subsets": result.to_dict()["subsets"],
    }
    if main:
        write_json_atomic(out / "record.json", record)
    acc.wait_for_everyone()
    return TrainResult(out, out / MODEL_DIR, record, state["history"], lm)


def _resume(cfg: TrainConfig, ckpt_dir: Path, model: torch.nn.Module, optimizer: Any,
            scheduler: Any, state: dict[str, Any], *, kind: str = "NO") -> None:
    path = ckpt_dir if cfg.resume_from == "auto" else Path(cfg.resume_from)
    file = path / "state.pt" if path.is_dir() else path
    if not file.is_file():
        if cfg.resume_from == "auto":
            return  # nothing to resume: a fresh run
        raise InvalidParameterError(f"no checkpoint at {str(file)!r}; check --resume-from")
    payload = torch.load(file, map_location="cpu", weights_only=False)
    old, new = payload["config"], cfg.to_dict()
    changed = sorted(k for k in new if k not in _RESUMABLE_CHANGES and old.get(k) != new[k])
    if changed:
        raise InvalidParameterError(
            f"cannot resume {file}: setting(s) {', '.join(changed)} differ from the "
            "checkpoint's run; resume with the same configuration (only max_steps may change)")
    saved_kind = payload.get("distributed_type", "NO")
    if (saved_kind == "FSDP") != (kind == "FSDP"):
        # Full FSDP optimizer states are keyed by parameter name, plain ones by position.
        def name(k: str) -> str:
            return "an FSDP" if k == "FSDP" else f"a non-FSDP ({k})"

        raise InvalidParameterError(
            f"cannot resume {file}: it was written by {name(saved_kind)} run and this run is "
            f"{name(kind)[2:].strip()}; resume FSDP checkpoints under FSDP (accelerate launch "
            "--use_fsdp) and others without it")
    if kind == "FSDP":
        load_full_state_dicts(model, optimizer, payload["model"], payload["optimizer"])
    else:
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["torch_rng"])
    for k in state:
        state[k] = payload[k]
