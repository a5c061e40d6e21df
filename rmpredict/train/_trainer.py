"""The reward-model training loop (Bradley-Terry or multi-attribute regression).

One optimizer step consumes one global batch of ``global_batch_size`` pairs (rows), split over
devices (accelerate/DDP) and micro-batches (gradient accumulation). The loss of a micro-batch is
its *sum* over pairs divided by the global batch size, so the update does not depend on how the
batch is split, which also makes length bucketing and packing free of side effects.

:class:`RewardTrainer` runs one training as named steps (set-up, one optimizer step, evaluation
and checkpoint choice, resumable checkpoints, the final score, the record) and calls
:class:`TrainerCallback` hooks between them, in the manner of TRL's and Lightning's trainers.
:func:`train_reward_model` is the one-call entry point (and runs learning-rate sweeps).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from rmpredict._io import write_json_atomic
from rmpredict.exceptions import InvalidParameterError, TrainingError
from rmpredict.train._checkpoint import (
    Checkpoint,
    CheckpointInfo,
    check_resumable,
    checkpoint_exists,
    read_checkpoint,
    read_checkpoint_info,
    run_hash,
    swap_directory,
    write_checkpoint,
)
from rmpredict.train._config import TrainConfig
from rmpredict.train._data import Encoder, Tokenised, pair_items
from rmpredict.train._merge import default_signs, search_merge_vector
from rmpredict.train._model import LoadedModel, load_reward_model, pack_batch, pad_batch
from rmpredict.train._rundata import RunData, prepare_run_data
from rmpredict.train._score import (
    RM_META_FILE,
    ScoreResult,
    score_reward_model,
    score_sequences,
)
from rmpredict.train._sharded import (
    full_state_dicts,
    hf_state_dict,
    load_full_model_state,
    load_full_state_dicts,
    sharded_scores,
)

__all__ = ["TrainResult", "TrainerState", "TrainerCallback", "RewardTrainer",
           "train_reward_model"]

CHECKPOINT_DIR = "checkpoint-last"
MODEL_DIR = "model"
RECORD_FILE = "record.json"


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
        return self.output_dir / RECORD_FILE


@dataclass
class TrainerState:
    """What a run has done so far; saved in checkpoints so a resumed run continues it.

    Attributes
    ----------
    step : int
        Optimizer steps taken.
    best_val_accuracy : float
        Validation accuracy of the chosen checkpoint so far (``-inf`` before any evaluation).
    best_step : int or None
        Step of the chosen checkpoint.
    best_merge_vector : list of float or None
        Regression: the merge vector chosen with it.
    history : list of dict
        One entry per evaluation (step, mean loss since the last one, accuracy, learning rate).
    real_tokens, padded_tokens : int
        Non-padding tokens and tokens including padding fed to training forward passes.
    train_seconds : float
        Time spent in optimizer steps (evaluation and checkpoints excluded).
    """

    step: int = 0
    best_val_accuracy: float = -math.inf
    best_step: int | None = None
    best_merge_vector: list[float] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    real_tokens: int = 0
    padded_tokens: int = 0
    train_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrainerCallback:
    """Hooks into :class:`RewardTrainer`; subclass it and override the hooks you need.

    Every hook receives the trainer, so it can read ``trainer.state`` (step, history, chosen
    checkpoint), ``trainer.config`` and the model. Hooks run on every rank.
    """

    def on_train_begin(self, trainer: RewardTrainer) -> None:
        """After set-up (and resuming), before the first step."""

    def on_step_end(self, trainer: RewardTrainer, step: int, loss: float) -> None:
        """After optimizer step ``step`` (1-based) with its loss (mean over the global batch)."""

    def on_evaluate(self, trainer: RewardTrainer, entry: dict[str, Any]) -> None:
        """After an evaluation; ``entry`` is the new ``trainer.state.history`` item."""

    def on_save(self, trainer: RewardTrainer, path: Path) -> None:
        """After a resumable checkpoint was written to ``path`` (on the main process)."""

    def on_train_end(self, trainer: RewardTrainer, result: TrainResult) -> None:
        """After the final score and the record."""


def _bt_loss(rewards: torch.Tensor, margin: torch.Tensor | None, center: float | None
             ) -> torch.Tensor:
    """Summed Bradley-Terry loss of pairs laid out as (chosen, rejected, chosen, ...)."""
    chosen, rejected = rewards[0::2, 0], rewards[1::2, 0]
    diff = chosen - rejected - (margin if margin is not None else 0.0)
    loss = -F.logsigmoid(diff)
    if center:
        loss = loss + center * (chosen + rejected) ** 2
    return loss.sum()


def _mse_loss(rewards: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed over rows, averaged over attributes."""
    return ((rewards - targets) ** 2).mean(dim=1).sum()


class _Plan:
    """Deterministic data order and micro-batches for a (rank, world) pair."""

    def __init__(self, n_units: int, cfg: TrainConfig, lengths: np.ndarray, group: int,
                 rank: int, world: int):
        self.n_units, self.cfg, self.group, self.rank, self.world = \
            n_units, cfg, group, rank, world
        # A pair's padded width is its longer sequence; bucketing sorts by that.
        self.unit_len = lengths.reshape(-1, group).max(axis=1)
        batch = cfg.global_batch_size
        self.steps_per_epoch = n_units // batch + (1 if n_units % batch >= world else 0)
        if self.steps_per_epoch == 0:
            raise InvalidParameterError(
                f"only {n_units} training rows for {world} device(s); need at least {world}")
        self._cached: tuple[int, np.ndarray] | None = None

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Order of the rows in an epoch: a function of (seed, epoch) only, so resumable.

        With ``group_by_length``, rows are sorted by length inside mega-batches of 50 global
        batches and the resulting global batches are shuffled (as transformers'
        LengthGroupedSampler): batches hold similar lengths, so padded batches waste less.
        """
        if self._cached is not None and self._cached[0] == epoch:
            return self._cached[1]
        rng = np.random.default_rng([self.cfg.seed, epoch])
        order = rng.permutation(self.n_units)
        batch = self.cfg.global_batch_size
        if self.cfg.group_by_length:
            mega = batch * 50
            order = np.concatenate([
                chunk[np.argsort(-self.unit_len[chunk], kind="stable")]
                for chunk in (order[i:i + mega] for i in range(0, self.n_units, mega))])
            batches = [order[i:i + batch] for i in range(0, self.n_units, batch)]
            full = [rows for rows in batches if len(rows) == batch]
            rest = [rows for rows in batches if len(rows) < batch]  # a partial one stays last
            order = np.concatenate([full[i] for i in rng.permutation(len(full))] + rest)
        self._cached = (epoch, order)
        return order

    def global_batch(self, step: int) -> np.ndarray:
        epoch, index = divmod(step, self.steps_per_epoch)
        batch = self.cfg.global_batch_size
        return self.epoch_order(epoch)[index * batch:(index + 1) * batch]

    def micro_batches(self, global_rows: np.ndarray) -> list[np.ndarray]:
        local = global_rows[self.rank::self.world]
        # Length bucketing inside the global batch: same update, less padding.
        local = local[np.argsort(self.unit_len[local], kind="stable")]
        size = self.cfg.per_device_batch_size
        return [local[i:i + size] for i in range(0, len(local), size)]


def _save_model_dir(loaded: LoadedModel, target: Path, meta: dict[str, Any],
                    state_dict: dict[str, torch.Tensor] | None = None) -> None:
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    if state_dict is None:
        loaded.model.hf.save_pretrained(tmp)
    else:
        # Sharded (FSDP) parameters: save the gathered full weights instead of the local shards.
        loaded.model.hf.save_pretrained(tmp, state_dict=hf_state_dict(state_dict))
    loaded.tokenizer.save_pretrained(tmp)
    write_json_atomic(tmp / RM_META_FILE, meta)
    swap_directory(tmp, target)


class RewardTrainer:
    """One reward-model training run as named steps, with callbacks.

    :meth:`train` runs everything: :meth:`setup` (:meth:`prepare_accelerator`,
    :meth:`prepare_model`, :meth:`prepare_data`, :meth:`prepare_optimizer`, :meth:`resume`),
    then :meth:`train_step` until the last step with :meth:`evaluate_and_select` and
    :meth:`save_checkpoint` at their intervals, then :meth:`score` and :meth:`build_record`.
    Each step can also be called on its own (after the steps it depends on).

    Parameters
    ----------
    config : TrainConfig
        The run.
    data : RunData, optional
        Checked data (:func:`rmpredict.train.prepare_run_data`); default: prepared
        from ``config`` and the overrides below.
    train_data, eval_data, test_data : DataFrame, datasets.Dataset or path, optional
        Override ``config.train_data`` / ``eval_data`` / ``test_data`` (when ``data`` is not
        given).
    callbacks : sequence of TrainerCallback, optional
        Called at the hooks of :class:`TrainerCallback`.

    Attributes
    ----------
    state : TrainerState
        Progress, chosen checkpoint and history.
    """

    def __init__(self, config: TrainConfig, data: RunData | None = None, *,
                 train_data: Any = None, eval_data: Any = None, test_data: Any = None,
                 callbacks: Sequence[TrainerCallback] = ()):
        self._wall_start = time.perf_counter()
        self.config = config
        self.data = data if data is not None else prepare_run_data(
            config, train_data=train_data, eval_data=eval_data, test_data=test_data)
        self.callbacks = list(callbacks)
        self.state = TrainerState()
        self.output_dir = Path(config.output_dir)
        self.is_regression = config.method == "regression"
        self.attributes = list(config.attributes) if self.is_regression else []
        # Sequences per training unit: a pair has two, a regression row one.
        self.group = 1 if self.is_regression else 2
        self._loss_window: list[float] = []
        self._ready = False

    @property
    def model_dir(self) -> Path:
        return self.output_dir / MODEL_DIR

    @property
    def checkpoint_dir(self) -> Path:
        return self.output_dir / CHECKPOINT_DIR

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    # ---- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        """Accelerator, model, tokenised data, optimizer and schedule; resume when asked.

        A checkpoint of another run is refused before the model is loaded.
        """
        self.prepare_accelerator()
        resuming = bool(self.config.resume_from) and self.check_checkpoint() is not None
        self.prepare_model()
        self.prepare_data()
        self.prepare_optimizer()
        if resuming:
            self.resume()
        self._ready = True

    def prepare_accelerator(self) -> None:
        """Start accelerate and refuse distributed engines the trainer does not support."""
        from accelerate import Accelerator

        cfg = self.config
        accelerator = Accelerator(mixed_precision=cfg.mixed_precision,
                                  cpu=not torch.cuda.is_available())
        kind = str(accelerator.distributed_type).rsplit(".", 1)[-1]
        if kind in ("DEEPSPEED", "MEGATRON_LM", "XLA"):
            # Evaluation and checkpoints gather weights through torch's FSDP/DDP state-dict
            # API; these engines shard (or compile) the model in their own ways.
            raise InvalidParameterError(
                f"distributed type {kind} is not supported by rmpredict's trainer; use DDP "
                "(accelerate launch --multi_gpu, or torchrun) or FSDP (accelerate launch "
                "--use_fsdp) instead")
        self.accelerator, self.distributed_type = accelerator, kind
        self.rank, self.world = accelerator.process_index, accelerator.num_processes
        self.is_main = accelerator.is_main_process
        self.device = accelerator.device
        # FSDP: parameters are sharded over ranks, so forward passes run on the wrapped model
        # on every rank and weights are gathered (to rank 0, on CPU) whenever they are saved.
        self.fsdp = kind == "FSDP"
        if self.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)

    def prepare_model(self) -> None:
        """Load the base model with a fresh head (seeded) and choose packing."""
        cfg = self.config
        self.loaded = load_reward_model(
            cfg.base_model, num_labels=len(self.attributes) or 1, revision=cfg.revision,
            gguf_file=cfg.gguf_file, attn_implementation=cfg.attn_implementation, seed=cfg.seed)
        self.model, self.tokenizer = self.loaded.model, self.loaded.tokenizer
        if cfg.gradient_checkpointing:
            self.model.hf.gradient_checkpointing_enable()
        self.encoder = Encoder(self.tokenizer, is_encoder=self.model.is_encoder,
                               max_length=cfg.max_length, truncation=cfg.truncation,
                               chat_template=cfg.chat_template)
        self.packing = {"on": True, "off": False, "auto": self.model.packing_pays()}[cfg.packing]
        if self.packing and not self.model.supports_packing():
            info = self.loaded.info
            raise InvalidParameterError(
                f"packing='on' needs a decoder with sdpa, eager or flash attention; this model "
                f"is {info['architecture']} with {info['attn_implementation']}; use packing=off")

    def prepare_data(self) -> None:
        """Tokenise the training and selection data and fix the data order (the plan)."""
        cfg, train = self.config, self.data.train
        self.margins: torch.Tensor | None = None
        self.targets: torch.Tensor | None = None
        if self.is_regression:
            self.train_tokens = self.encoder.encode_many(
                list(zip(train["prompt"], train["response"])), group=1)
            values = train[self.attributes].to_numpy()[self.train_tokens.kept]
            self.targets = torch.tensor(values, dtype=torch.float32)
        else:
            items, pretokenised = pair_items(train)
            self.train_tokens = self.encoder.encode_many(items, group=2,
                                                         pretokenised=pretokenised)
            if cfg.margin_column:
                values = train[cfg.margin_column].astype(float).to_numpy()[self.train_tokens.kept]
                self.margins = torch.tensor(values, dtype=torch.float32)
        items, pretokenised = pair_items(self.data.selection)
        self.selection_tokens: Tokenised = self.encoder.encode_many(
            items, group=2, pretokenised=pretokenised)
        self.plan = _Plan(len(self.train_tokens.kept), cfg, self.train_tokens.lengths,
                          self.group, self.rank, self.world)
        total = self.plan.steps_per_epoch * cfg.num_epochs
        self.stop_step = min(total, cfg.max_steps) if cfg.max_steps else total
        self.merge_signs = list(cfg.merge_signs) if cfg.merge_signs is not None else \
            list(default_signs(self.attributes)) if self.is_regression else None

    def prepare_optimizer(self) -> None:
        """AdamW and the warm-up schedule; wrap the model for DDP or FSDP."""
        cfg = self.config
        if not self.fsdp:
            # (FSDP moves each shard to the device itself: the whole model need not fit one.)
            self.model.to(self.device)
        fused = {"fused": True} if self.device.type == "cuda" else {}
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=cfg.learning_rate, betas=(cfg.adam_beta1, cfg.adam_beta2),
            eps=cfg.adam_eps, weight_decay=cfg.weight_decay, **fused)
        if self.fsdp:
            # FSDP replaces the parameters by sharded ones; accelerate's prepare() points the
            # optimizer at them. The plain torch optimizer is kept (steps are not accumulated).
            self.wrapped_model, wrapped_optimizer = self.accelerator.prepare(self.model,
                                                                             self.optimizer)
            self.optimizer = wrapped_optimizer.optimizer
        warmup = max(cfg.warmup_steps, 0)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)
        if not self.fsdp:
            self.wrapped_model = self.accelerator.prepare_model(self.model)

    # ---- checkpoints -------------------------------------------------------------------------
    def _resume_path(self) -> Path | None:
        cfg = self.config
        if cfg.resume_from == "auto":
            return self.checkpoint_dir if checkpoint_exists(self.checkpoint_dir) else None
        return Path(cfg.resume_from) if cfg.resume_from else None

    def check_checkpoint(self) -> CheckpointInfo | None:
        """Check that ``config.resume_from`` holds a checkpoint of this run (header only).

        Returns None when there is nothing to resume (no ``resume_from``, or ``"auto"`` and no
        checkpoint yet). Raises as :meth:`resume`.
        """
        path = self._resume_path()
        if path is None:
            return None
        info = read_checkpoint_info(path)
        check_resumable(info, self.config.to_dict(), self.data.identity,
                        distributed_type=self.distributed_type)
        return info

    def resume(self) -> bool:
        """Restore the state saved in ``config.resume_from``.

        Returns
        -------
        bool
            False when ``resume_from="auto"`` finds no checkpoint (a fresh run).

        Raises
        ------
        ModelMismatchError
            The checkpoint is a pickle, damaged, or was written by another run (settings or
            data differ).
        InvalidParameterError
            No checkpoint at an explicit path, or FSDP and non-FSDP runs mixed.
        """
        if self.check_checkpoint() is None:
            return False
        checkpoint = read_checkpoint(self._resume_path())
        if self.fsdp:
            load_full_state_dicts(self.wrapped_model, self.optimizer, checkpoint.model,
                                  checkpoint.optimizer)
        else:
            self.model.load_state_dict(checkpoint.model)
            self.optimizer.load_state_dict(checkpoint.optimizer)
        self.scheduler.load_state_dict(checkpoint.scheduler)
        torch.set_rng_state(checkpoint.rng["torch"])
        cuda_states = checkpoint.rng.get("cuda")
        if cuda_states and torch.cuda.is_available() and \
                len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        self.state = TrainerState(**checkpoint.trainer_state)
        return True

    def save_checkpoint(self) -> Path | None:
        """Write a resumable checkpoint to ``OUTPUT/checkpoint-last`` (main process).

        A collective under FSDP (every rank gathers). Returns the directory on the main
        process, None elsewhere.
        """
        if self.fsdp:
            # Collective: every rank takes part in gathering; rank 0 receives the full dicts.
            model_state, optimizer_state = full_state_dicts(self.wrapped_model, self.optimizer)
        elif self.is_main:
            model_state, optimizer_state = self.model.state_dict(), self.optimizer.state_dict()
        if not self.is_main:
            return None
        config = self.config.to_dict()
        rng = {"torch": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}
        path = write_checkpoint(self.checkpoint_dir, Checkpoint(
            model=model_state, optimizer=optimizer_state, scheduler=self.scheduler.state_dict(),
            rng=rng, trainer_state=self.state.to_dict(), config=config,
            run_hash=run_hash(config, self.data.identity), data_identity=self.data.identity,
            distributed_type=self.distributed_type, path=self.checkpoint_dir))
        self._call("on_save", path)
        return path

    # ---- training ----------------------------------------------------------------------------
    def _micro_batch(self, rows: np.ndarray, *, last: bool, n_global: int) -> torch.Tensor:
        """Forward and backward of one micro-batch; returns its summed loss (detached)."""
        sequences = [self.train_tokens.sequences[row * self.group + member]
                     for row in rows for member in range(self.group)]
        if self.packing:
            batch = pack_batch(sequences, device=self.device)
            padded = sum(map(len, sequences))
        else:
            batch = pad_batch(sequences, pad_id=self.tokenizer.pad_token_id, device=self.device)
            padded = batch["input_ids"].numel()
        # FSDP reduce-scatters gradients at every backward (its shards hold no full gradient
        # to accumulate into), so only DDP skips the sync of early micro-batches.
        sync = contextlib.nullcontext() if self.fsdp or last \
            else self.accelerator.no_sync(self.wrapped_model)
        with sync:
            rewards = self.wrapped_model(**batch)
            if self.is_regression:
                loss = _mse_loss(rewards, self.targets[rows].to(self.device))
            else:
                margin = self.margins[rows].to(self.device) if self.margins is not None else None
                loss = _bt_loss(rewards, margin, self.config.center_rewards_coefficient)
            self.accelerator.backward(loss * self.world / n_global)
        self.state.real_tokens += sum(map(len, sequences))
        self.state.padded_tokens += padded
        return loss.detach()

    def train_step(self) -> float:
        """One optimizer step over the next global batch; returns its loss.

        Raises
        ------
        TrainingError
            The loss is not finite; the state before this step is saved first as the last good
            checkpoint.
        """
        cfg, state = self.config, self.state
        step = state.step
        started = time.perf_counter()
        global_rows = self.plan.global_batch(step)
        micro_batches = self.plan.micro_batches(global_rows)
        n_global = len(global_rows)
        loss_sum = torch.zeros((), device=self.device)
        for index, rows in enumerate(micro_batches):
            loss_sum += self._micro_batch(rows, last=index == len(micro_batches) - 1,
                                          n_global=n_global)
        step_loss = self.accelerator.reduce(loss_sum, reduction="sum") / n_global
        if not torch.isfinite(step_loss):
            self.optimizer.zero_grad(set_to_none=True)
            # The weights are still those before this step: keep them as the last good state.
            self.save_checkpoint()
            self.accelerator.wait_for_everyone()
            raise TrainingError(
                f"loss became {step_loss.item()} at step {step + 1}; training stopped. The "
                f"last good state (step {step}) is in {self.checkpoint_dir} and the best model "
                f"so far in {self.model_dir}; lower --learning-rate, use mixed precision bf16 "
                "instead of fp16, or check the data")
        if cfg.max_grad_norm:
            if self.fsdp:
                # The norm of sharded gradients needs a reduction over ranks.
                self.accelerator.clip_grad_norm_(self.wrapped_model.parameters(),
                                                 cfg.max_grad_norm)
            else:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        state.train_seconds += time.perf_counter() - started
        state.step = step + 1
        loss = float(step_loss)
        self._loss_window.append(loss)
        self._call("on_step_end", state.step, loss)
        return loss

    def evaluate(self) -> tuple[float, list[float] | None]:
        """Accuracy on the selection pairs (regression: with the best merge vector for them).

        Returns
        -------
        (accuracy, merge_vector)
            ``merge_vector`` is None for Bradley-Terry.
        """
        cfg = self.config
        score_kw = {"pad_id": self.tokenizer.pad_token_id, "batch_size": cfg.eval_batch_size,
                    "device": self.device, "autocast": self.accelerator.autocast
                    if cfg.mixed_precision != "no" else None}
        sequences = self.selection_tokens.sequences
        if self.fsdp:
            rewards = sharded_scores(self.accelerator, self.wrapped_model, sequences, **score_kw)
        else:
            rewards = score_sequences(self.model, sequences, **score_kw)
        if self.is_regression:
            weights, accuracy = search_merge_vector(rewards[0::2], rewards[1::2],
                                                    signs=self.merge_signs,
                                                    step=cfg.merge_grid_step)
            return accuracy, weights.tolist()
        return float(np.mean(rewards[0::2, 0] > rewards[1::2, 0])), None

    def evaluate_and_select(self) -> dict[str, Any]:
        """Evaluate at the current step; keep the model if it is the best so far.

        Without ``keep_best`` the last step's model is kept instead. Returns the new history
        entry.
        """
        cfg, state = self.config, self.state
        val_accuracy, merge_vector = self.evaluate()
        entry = {"step": state.step, "loss": float(np.mean(self._loss_window)),
                 "val_accuracy": val_accuracy,
                 "learning_rate": self.scheduler.get_last_lr()[0]}
        self._loss_window = []
        state.history.append(entry)
        if val_accuracy > state.best_val_accuracy or (
                not cfg.keep_best and state.step == self.stop_step):
            state.best_val_accuracy, state.best_step = val_accuracy, state.step
            state.best_merge_vector = merge_vector
            full = full_state_dicts(self.wrapped_model)[0] if self.fsdp else None
            if self.is_main:
                meta = {"method": cfg.method, "attributes": self.attributes or None,
                        "readout": "last non-padding token", "pad": self.loaded.info["pad"],
                        "chat_template": self.encoder.template_info, "step": state.step,
                        "val_accuracy": val_accuracy, "merge_vector": merge_vector}
                _save_model_dir(self.loaded, self.model_dir, meta, state_dict=full)
        self._call("on_evaluate", entry)
        return entry

    def fit(self) -> None:
        """Train from the current step to the last, evaluating and saving at the intervals."""
        cfg = self.config
        self.model.train()
        while self.state.step < self.stop_step:
            self.train_step()
            step = self.state.step
            if step % cfg.eval_every == 0 or step == self.stop_step:
                self.evaluate_and_select()
            if cfg.save_every > 0 and (step % cfg.save_every == 0 or step == self.stop_step):
                self.save_checkpoint()
        self.accelerator.wait_for_everyone()

    # ---- score and record --------------------------------------------------------------------
    def score(self) -> ScoreResult:
        """RewardBench-style score of the chosen checkpoint, from its saved directory, on the
        test pairs (or, selection-biased, on the selection pairs)."""
        cfg, state = self.config, self.state
        chosen: Any = str(self.model_dir)
        if self.fsdp:
            # No rank may need the whole model on its device: score the sharded model (every
            # rank runs the same forward passes), after loading the chosen checkpoint into it.
            if state.best_step != state.step:
                load_full_model_state(self.wrapped_model, self.model_dir,
                                      rank0_only=self.is_main)
            chosen = LoadedModel(self.wrapped_model, self.tokenizer,  # type: ignore[arg-type]
                                 self.loaded.info)
        pairs = self.data.test if self.data.test is not None else self.data.selection
        return score_reward_model(
            chosen, pairs,
            # (Unsharded models read the merge vector from the saved rm_meta.json.)
            merge_vector=state.best_merge_vector if self.fsdp else None,
            batch_size=cfg.eval_batch_size, max_length=cfg.max_length,
            truncation=cfg.truncation, chat_template=cfg.chat_template,
            attn_implementation=cfg.attn_implementation, device=str(self.device))

    def build_record(self, result: ScoreResult) -> dict[str, Any]:
        """The ground-truth record of the run (a collective: token counts are summed over
        ranks)."""
        from rmpredict._provenance import library_versions
        from rmpredict.train._record import RECORD_VERSION, hardware_info

        cfg, state, data, info = self.config, self.state, self.data, self.loaded.info
        reduce = self.accelerator.reduce
        tokens = reduce(torch.tensor(float(state.real_tokens), device=self.device), "sum").item()
        padded = reduce(torch.tensor(float(state.padded_tokens), device=self.device),
                        "sum").item()
        wall = time.perf_counter() - self._wall_start
        n_gpu = self.world if self.device.type == "cuda" else 0
        return {
            "record_version": RECORD_VERSION,
            "model": cfg.model_name or cfg.base_model,
            "method": cfg.method,
            "base_model": {"id": cfg.base_model, "revision": cfg.revision,
                           "commit": info.get("commit"), "gguf_file": cfg.gguf_file,
                           "file_sha256": info.get("file_sha256"),
                           "architecture": info["architecture"], "n_params": info["n_params"]},
            "params_b": info["n_params"] / 1e9,
            "selection_biased": data.selection_biased,
            "data": {"train": {**data.train_fingerprint,
                               "n_used": int(len(self.train_tokens.kept))},
                     "eval": {**data.eval_fingerprint,
                              "n_used": len(self.selection_tokens.kept)},
                     "scored_on": data.scored_on,
                     "test": data.test_fingerprint,
                     "holdout": data.holdout},
            "config": cfg.to_dict(),
            "seeds": {"seed": cfg.seed, "data_order": "numpy default_rng([seed, epoch])"
                      + (", grouped by length" if cfg.group_by_length else "")},
            "library_versions": library_versions(("numpy", "pandas", "torch", "transformers",
                                                  "accelerate", "tokenizers", "safetensors")),
            "hardware": {**hardware_info(), "world_size": self.world,
                         "device": self.device.type, "mixed_precision": cfg.mixed_precision,
                         "distributed_type": self.distributed_type},
            "wall_time_s": wall,
            "train_time_s": state.train_seconds,
            "gpu_hours": wall * n_gpu / 3600.0,
            "real_tokens_per_s": tokens / max(state.train_seconds, 1e-9),
            "padding_share": 1.0 - tokens / padded if padded else 0.0,
            "steps": state.step,
            "packing": self.packing,
            "attn_implementation": info["attn_implementation"],
            "pad_token": info["pad"],
            "chat_template": self.encoder.template_info,
            "truncation": {"train": self.train_tokens.truncation,
                           "eval": self.selection_tokens.truncation},
            "chosen_checkpoint": {"path": str(self.model_dir), "step": state.best_step,
                                  "val_accuracy": state.best_val_accuracy,
                                  "criterion": "best validation accuracy" if cfg.keep_best
                                  else "last step",
                                  "merge_vector": state.best_merge_vector},
            "history": state.history,
            "sections": result.sections,
            "subsets": result.to_dict()["subsets"],
        }

    def train(self) -> TrainResult:
        """Run everything: set-up, training, final score and record (``OUTPUT/record.json``).

        Raises
        ------
        TrainingError
            If the loss becomes NaN or infinite (see :meth:`train_step`).
        """
        if not self._ready:
            self.setup()
        self._call("on_train_begin")
        self.fit()
        record = self.build_record(self.score())
        if self.is_main:
            write_json_atomic(self.output_dir / RECORD_FILE, record)
        self.accelerator.wait_for_everyone()
        result = TrainResult(self.output_dir, self.model_dir, record, self.state.history,
                             self.loaded)
        self._call("on_train_end", result)
        return result


def train_reward_model(config: TrainConfig, *, train_data: Any = None, eval_data: Any = None,
                       test_data: Any = None, callbacks: Sequence[TrainerCallback] = ()
                       ) -> TrainResult:
    """Train a reward model, keep the best checkpoint, score it and write its record.

    Parameters
    ----------
    config : TrainConfig
        The run (see :func:`rmpredict.train.study_preset` for the study's recipe).
    train_data, eval_data, test_data : DataFrame, datasets.Dataset or path, optional
        Override ``config.train_data`` / ``eval_data`` / ``test_data``. Without test data the
        final score is measured on a held-out split of the eval data (``holdout_fraction``).
    callbacks : sequence of TrainerCallback, optional
        Hooks called during training (every run of a sweep).

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingError
        If the loss becomes NaN or infinite; a checkpoint of the last good state is kept in
        ``output_dir/checkpoint-last`` and the best model so far in ``output_dir/model``.
    DataValidationError
        Bad training, evaluation or test data.

    Warns
    -----
    SelectionBiasWarning
        No test data and too few eval pairs to hold out a split: the record is marked
        ``selection_biased``.
    """
    data = prepare_run_data(config, train_data=train_data, eval_data=eval_data,
                            test_data=test_data)
    if config.lr_sweep:
        return _sweep(config, data, callbacks)
    return RewardTrainer(config, data, callbacks=callbacks).train()


def _sweep(config: TrainConfig, data: RunData, callbacks: Sequence[TrainerCallback]
           ) -> TrainResult:
    # Every learning rate sees the same data and the same held-out split.
    results = []
    for learning_rate in config.learning_rates:
        run = config.replace(lr_sweep=False, learning_rate=float(learning_rate),
                             output_dir=str(Path(config.output_dir) / f"lr-{learning_rate:g}"))
        results.append(RewardTrainer(run, data, callbacks=callbacks).train())
    best = max(results, key=lambda r: r.record["chosen_checkpoint"]["val_accuracy"])
    best.record["lr_sweep"] = [
        {"learning_rate": r.record["config"]["learning_rate"],
         "val_accuracy": r.record["chosen_checkpoint"]["val_accuracy"],
         "output_dir": str(r.output_dir)} for r in results]
    best.record["config"]["lr_sweep"] = True
    write_json_atomic(Path(config.output_dir) / RECORD_FILE, best.record)
    return TrainResult(Path(config.output_dir), best.model_dir, best.record, best.history,
                       best.final)
