"""Training configuration: one dataclass for Python, CLI flags and ``--config run.yaml``.

No torch import here, so the CLI can build its parser cheaply.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmpredict.exceptions import InvalidParameterError

__all__ = ["TrainConfig", "study_preset", "STUDY_LEARNING_RATES", "METHODS",
           "load_config", "add_config_arguments", "config_from_args"]

METHODS = ("bradley_terry", "regression")

STUDY_LEARNING_RATES: tuple[float, ...] = tuple(
    mantissa * 10.0 ** exponent for exponent in (-6, -7) for mantissa in (1, 3, 5, 7, 9))
"""The study's learning-rate grid: {1, 3, 5, 7, 9} x 1e-6 and x 1e-7."""

HELPSTEER2_ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")


def _setting(default: Any, help: str, **metadata: Any) -> Any:  # noqa: A002 - as argparse
    """A config field with its CLI help (and argparse extras such as ``choices``)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda d=default: type(d)(d),
                     metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


@dataclass
class TrainConfig:
    """Everything a reward-model training run depends on (saved in the ground-truth record).

    Every field is also a ``rmpredict train-rm`` flag (``--field-name``) and a key of
    ``--config run.yaml``; flags given on the command line override the file.
    """

    base_model: str = _setting("", "local directory, Hugging Face hub id or local .gguf file")
    train_data: str = _setting(
        "", "training data: JSON Lines, Parquet, CSV or a saved datasets dir")
    eval_data: str = _setting("", "validation pairs (checkpoint and merge-vector selection)")
    test_data: str | None = _setting(
        None, "optional held-out pairs with a subset column for the final RewardBench-style "
              "score (default: a held-out split of eval_data, see holdout_fraction)")
    holdout_fraction: float = _setting(
        0.5, "without test_data: share of eval_data pairs held out (seeded, stratified by "
             "subset) for the final score, so it is not measured on the pairs that chose the "
             "checkpoint; 0 scores eval_data itself and marks the record selection_biased")
    output_dir: str = _setting("rm-output", "directory for checkpoints, the model and record.json")
    method: str = _setting("bradley_terry", "bradley_terry or regression", choices=METHODS)
    revision: str | None = _setting(None, "hub revision (branch, tag or commit) of base_model")
    gguf_file: str | None = _setting(
        None, "GGUF file name inside base_model (if base_model is a dir)")
    model_name: str | None = _setting(None, "model id written to the record (default: base_model)")
    # optimisation
    learning_rate: float = _setting(5e-6, "peak learning rate (constant after warm-up)")
    num_epochs: int = _setting(1, "passes over the training data")
    global_batch_size: int = _setting(
        64, "pairs (or regression rows) per optimizer step, all devices")
    per_device_batch_size: int = _setting(
        8, "pairs per forward pass and device; gradient accumulation makes up the global batch")
    warmup_steps: int = _setting(20, "linear warm-up steps, then constant learning rate")
    weight_decay: float = _setting(0.0, "AdamW weight decay")
    adam_beta1: float = _setting(0.9, "AdamW beta1")
    adam_beta2: float = _setting(0.999, "AdamW beta2")
    adam_eps: float = _setting(1e-8, "AdamW epsilon")
    max_grad_norm: float | None = _setting(1.0, "gradient clipping norm (none to disable)")
    max_steps: int | None = _setting(
        None, "stop after this many optimizer steps (resume continues)")
    lr_sweep: bool = _setting(False, "train once per learning rate in learning_rates and keep "
                                     "the run with the best validation accuracy")
    learning_rates: list[float] = _setting(list(STUDY_LEARNING_RATES), "grid for lr_sweep")
    # method details
    margin_column: str | None = _setting(None, "BT: column with a per-pair margin m; loss "
                                               "-log sigmoid(r_c - r_r - m)")
    center_rewards_coefficient: float | None = _setting(
        None, "BT: add c * mean((r_c + r_r)^2) to keep rewards centred at 0")
    attributes: list[str] = _setting(list(HELPSTEER2_ATTRIBUTES), "regression: attribute columns")
    merge_signs: list[int] | None = _setting(
        None, "regression: sign per attribute for the merge vector (default: - for verbosity, "
              "+ otherwise)")
    merge_grid_step: float = _setting(0.05, "regression: grid step of the merge-vector search")
    # evaluation and checkpoints
    eval_every: int = _setting(20, "evaluate every N optimizer steps (and at the end)")
    save_every: int = _setting(20, "write a resumable checkpoint every N optimizer steps and at "
                                   "the end (0: never, e.g. for benchmarks)")
    keep_best: bool = _setting(True, "final model = checkpoint with the best validation accuracy")
    eval_batch_size: int = _setting(16, "pairs per forward pass when evaluating")
    resume_from: str | None = _setting(None, "checkpoint directory to resume, or 'auto' for "
                                             "OUTPUT_DIR/checkpoint-last")
    # sequences and speed
    max_length: int = _setting(2048, "maximum tokens per sequence (prompt + response)")
    truncation: str = _setting(
        "left", "too-long sequences: left (drop the start, keep the response end), drop (skip "
                "the pair) or error", choices=("left", "drop", "error"))
    chat_template: str = _setting(
        "auto", "auto (use the tokenizer's template when it has one) or none",
        choices=("auto", "none"))
    packing: str = _setting(
        "auto", "padding-free packing of chosen+rejected sequences: auto (decoders with flash "
                "or flex attention), on (also sdpa/eager) or off", choices=("auto", "on", "off"))
    group_by_length: bool = _setting(False, "form batches of similar length (less padding on "
                                            "the padded path; batches are no longer random)")
    attn_implementation: str = _setting("sdpa", "attention backend: sdpa, eager, flex_attention "
                                                "or flash_attention_2")
    mixed_precision: str = _setting("no", "no, bf16 or fp16 (accelerate autocast)",
                                    choices=("no", "bf16", "fp16"))
    gradient_checkpointing: bool = _setting(
        False, "recompute activations in backward to save memory")
    seed: int = _setting(0, "random seed (data order, head initialisation, dropout)")

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidParameterError(
                f"The 'method' parameter of TrainConfig must be one of {list(METHODS)}. "
                f"Got {self.method!r} instead.")
        for name in ("global_batch_size", "per_device_batch_size", "num_epochs", "max_length",
                     "eval_every", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"The {name!r} parameter of TrainConfig must be an integer >= 1. "
                    f"Got {value!r} instead.")
        if self.learning_rate <= 0:
            raise InvalidParameterError(
                f"The 'learning_rate' parameter of TrainConfig must be > 0. "
                f"Got {self.learning_rate!r} instead.")
        if not 0 <= self.holdout_fraction < 1:
            raise InvalidParameterError(
                f"The 'holdout_fraction' parameter of TrainConfig must be in [0, 1). "
                f"Got {self.holdout_fraction!r} instead.")
        if self.method == "regression":
            if not self.attributes:
                raise InvalidParameterError("regression needs at least one attribute column")
            if self.merge_signs is not None and len(self.merge_signs) != len(self.attributes):
                raise InvalidParameterError(
                    f"merge_signs has {len(self.merge_signs)} entries but attributes has "
                    f"{len(self.attributes)}; give one sign (-1, 0, 1) per attribute")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for records and checkpoints)."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def study_preset(method: str = "bradley_terry", **overrides: Any) -> TrainConfig:
    """The study's recipe (arXiv 2505.10775 setup) as a :class:`TrainConfig`.

    1 epoch (Bradley-Terry) or 2 epochs (regression), global batch 64 through gradient
    accumulation, AdamW, 20 warm-up steps then a constant learning rate, evaluation every 20
    steps, the checkpoint with the best validation accuracy kept. Set ``lr_sweep=True`` to sweep
    the study's grid :data:`STUDY_LEARNING_RATES`.
    """
    if method not in METHODS:
        raise InvalidParameterError(
            f"The 'method' parameter of study_preset must be one of {list(METHODS)}. "
            f"Got {method!r} instead.")
    base = dict(method=method, num_epochs=1 if method == "bradley_terry" else 2,
                global_batch_size=64, warmup_steps=20, eval_every=20, save_every=20,
                keep_best=True, weight_decay=0.0)
    base.update(overrides)
    return TrainConfig(**base)


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


def _coerce(name: str, value: Any) -> Any:
    hint = _field_types()[name]
    args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    base = args[0] if args else hint
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")
                         and type(None) in typing.get_args(hint)):
        return None
    origin = typing.get_origin(base)
    try:
        if origin is list:
            (elem,) = typing.get_args(base)
            if isinstance(value, str):
                value = [item for item in value.split(",") if item.strip()]
            return [elem(item) for item in value]
        if base is bool:
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        return base(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The {name!r} setting must be {getattr(base, '__name__', str(base))}. "
            f"Got {value!r} instead.") from exc


def load_config(path: str | os.PathLike[str], **overrides: Any) -> TrainConfig:
    """Read a YAML (or JSON) run file into a :class:`TrainConfig`; ``overrides`` win.

    A ``preset: bradley_terry|regression`` key starts from :func:`study_preset`.
    """
    import yaml

    config_file = Path(path)
    if not config_file.exists():
        raise InvalidParameterError(
            f"config file not found: {str(config_file)!r}; check the path")
    raw = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise InvalidParameterError(f"{config_file}: the config must be a mapping of field: value")
    known = {spec.name for spec in dataclasses.fields(TrainConfig)}
    preset = raw.pop("preset", None)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidParameterError(
            f"{config_file}: unknown setting(s) {', '.join(unknown)}; valid settings are the "
            "TrainConfig fields (see `rmpredict train-rm --help`)")
    values = {name: _coerce(name, value) for name, value in raw.items()}
    values.update(overrides)
    if preset:
        return study_preset(str(preset), **values)
    return TrainConfig(**values)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one ``--flag`` per :class:`TrainConfig` field (default: not given)."""
    for spec in dataclasses.fields(TrainConfig):
        flag = "--" + spec.name.replace("_", "-")
        options: dict[str, Any] = {"dest": spec.name, "default": argparse.SUPPRESS,
                                   "help": spec.metadata.get("help", "")}
        if "choices" in spec.metadata:
            options["choices"] = spec.metadata["choices"]
        if spec.default is not dataclasses.MISSING and spec.default not in (None, ""):
            options["help"] += f" (default: {spec.default})"
        options["metavar"] = spec.name.upper()
        parser.add_argument(flag, **options)


def config_from_args(args: argparse.Namespace, *, preset: str | None = None) -> TrainConfig:
    """Build the config: ``preset`` (study recipe), then the ``--config`` file, then the flags
    given on the command line."""
    given = {spec.name: _coerce(spec.name, getattr(args, spec.name))
             for spec in dataclasses.fields(TrainConfig) if hasattr(args, spec.name)}
    if getattr(args, "config", None):
        import yaml

        raw = yaml.safe_load(Path(args.config).read_text(encoding="utf-8")) \
            if Path(args.config).exists() else None
        if preset and isinstance(raw, dict) and "preset" not in raw:
            cfg = load_config(args.config, **given)
            explicit = {name: value for name, value in cfg.to_dict().items()
                        if name in raw or name in given}
            return study_preset(preset, **explicit)
        return load_config(args.config, **given)
    if preset:
        return study_preset(preset, **given)
    return TrainConfig(**given)
