"""Resumable training checkpoints without pickle: tensors in safetensors, the rest in JSON.

``--resume-from`` takes any path a user gives, and unpickling a file (``torch.load`` with
``weights_only=False``) runs whatever code the file names. A checkpoint is therefore two plain
files in one directory, neither of which can execute anything when read:

* ``state.safetensors``: every tensor (weights, optimizer moments and step counts, RNG states);
* ``state.json``: everything else (counters, history, scheduler state, optimizer
  hyper-parameters, the run's configuration and its hash), with ``{"$tensor": name}`` where a
  tensor sat in the original structure.

The directory is written next to its target and swapped in, so a crash leaves the previous
checkpoint whole. A checkpoint resumes only the run it was written by: its stored *run hash*
(configuration except the settings that may change, and the training and validation data) must
equal the new run's.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rmpredict.exceptions import InvalidParameterError, ModelMismatchError

__all__ = ["STATE_JSON", "STATE_TENSORS", "CHECKPOINT_FORMAT", "RESUMABLE_CHANGES",
           "CheckpointInfo", "Checkpoint", "run_hash", "write_checkpoint", "read_checkpoint",
           "read_checkpoint_info", "checkpoint_exists", "check_resumable", "encode_tree",
           "decode_tree", "swap_directory"]

STATE_JSON = "state.json"
STATE_TENSORS = "state.safetensors"
CHECKPOINT_FORMAT = 1
LEGACY_PICKLE = "state.pt"
"""Name of the pickle checkpoints of earlier versions, refused without being opened."""

RESUMABLE_CHANGES = frozenset({"max_steps", "resume_from", "output_dir", "eval_batch_size"})
"""Settings that may change between an interrupted run and its resumption."""

# Markers of the JSON encoding. No key of a torch state dict starts with "$".
_TENSOR, _TUPLE, _ITEMS, _FLOAT = "$tensor", "$tuple", "$items", "$float"


def run_hash(config: Mapping[str, Any], data_identity: Mapping[str, Any]) -> str:
    """Hash of what a resumed run must share with the interrupted one.

    Parameters
    ----------
    config : mapping
        ``TrainConfig.to_dict()``; the settings in :data:`RESUMABLE_CHANGES` are left out.
    data_identity : mapping
        Content hashes and sizes of the training and validation data (no paths: moving a file
        does not change the run).
    """
    from rmpredict._provenance import hash_json

    fixed = {name: value for name, value in config.items() if name not in RESUMABLE_CHANGES}
    return hash_json({"config": fixed, "data": dict(data_identity)})


# ---- JSON encoding of state dicts ------------------------------------------------------------
def encode_tree(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """A JSON-able copy of ``obj`` with its tensors moved into ``tensors`` (named by path).

    Tuples, dicts with non-string keys (optimizer states are keyed by parameter index) and
    non-finite floats are tagged so that :func:`decode_tree` restores them exactly.
    """
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {_TENSOR: prefix}
    if isinstance(obj, bool) or obj is None or isinstance(obj, int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {_FLOAT: repr(obj)}
    if isinstance(obj, tuple):
        return {_TUPLE: [encode_tree(item, tensors, f"{prefix}/{i}")
                         for i, item in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_tree(item, tensors, f"{prefix}/{i}") for i, item in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(key, str) and not key.startswith("$") for key in obj):
            return {key: encode_tree(value, tensors, f"{prefix}/{key}")
                    for key, value in obj.items()}
        for key in obj:
            if not isinstance(key, str | int) or isinstance(key, bool):
                raise TypeError(f"cannot store key {key!r} of {prefix!r} in a checkpoint")
        return {_ITEMS: [[key, encode_tree(value, tensors, f"{prefix}/{key}")]
                         for key, value in obj.items()]}
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return encode_tree(obj.item(), tensors, prefix)
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def decode_tree(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`encode_tree`."""
    if isinstance(obj, list):
        return [decode_tree(item, tensors) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        if tag == _TENSOR:
            if value not in tensors:
                raise KeyError(value)
            return tensors[value]
        if tag == _TUPLE:
            return tuple(decode_tree(item, tensors) for item in value)
        if tag == _ITEMS:
            return {key: decode_tree(item, tensors) for key, item in value}
        if tag == _FLOAT:
            return float(value)
    return {key: decode_tree(value, tensors) for key, value in obj.items()}


def _deduplicated(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor],
                                                              dict[str, str]]:
    """Tensors safetensors can store, and ``alias -> stored name`` for tied weights.

    safetensors refuses tensors that share memory (tied embeddings appear under two names in a
    state dict): an identical view is stored once and re-linked on load; any other overlap is
    copied.
    """
    stored: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    views: dict[tuple[Any, ...], str] = {}
    storages: set[tuple[Any, ...]] = set()
    for name, tensor in tensors.items():
        tensor = tensor.detach()
        if tensor.numel() == 0:
            stored[name] = tensor.contiguous()
            continue
        base = (tensor.device, tensor.untyped_storage().data_ptr())
        view = (*base, tensor.storage_offset(), tuple(tensor.shape), tensor.stride(),
                tensor.dtype)
        if view in views:
            aliases[name] = views[view]
            continue
        views[view] = name
        stored[name] = tensor.clone() if base in storages else tensor.contiguous()
        storages.add(base)
    return stored, aliases


# ---- the checkpoint --------------------------------------------------------------------------
@dataclass
class CheckpointInfo:
    """What a checkpoint says about the run that wrote it (its ``state.json`` header).

    Attributes
    ----------
    config : dict
        ``TrainConfig.to_dict()`` of the run that wrote it.
    run_hash : str
        :func:`run_hash` of that run.
    data_identity : dict
        The data part of the hash (to name what differs).
    distributed_type : str
        accelerate's distributed type of the writing run (``"NO"``, ``"FSDP"``, ...).
    path : pathlib.Path
        The checkpoint directory.
    """

    config: dict[str, Any]
    run_hash: str
    data_identity: dict[str, Any]
    distributed_type: str
    path: Path


@dataclass
class Checkpoint(CheckpointInfo):
    """A resumable checkpoint (see :func:`read_checkpoint`).

    Attributes
    ----------
    model : dict
        Model state dict (full, unsharded weights).
    optimizer, scheduler : dict
        Their ``state_dict()``; FSDP optimizer states are keyed by parameter name.
    rng : dict
        ``{"torch": ByteTensor, "cuda": [ByteTensor, ...] or None}``.
    trainer_state : dict
        The trainer's counters, chosen checkpoint and history.
    """

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: dict[str, Any]
    trainer_state: dict[str, Any]


def write_checkpoint(directory: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``directory`` (replaced atomically); return the directory."""
    from safetensors.torch import save_file

    from rmpredict import __version__
    from rmpredict._io import write_json_atomic

    target = Path(directory)
    tensors: dict[str, torch.Tensor] = {}
    tree = {
        "model": encode_tree(dict(checkpoint.model), tensors, "model"),
        "optimizer": encode_tree(checkpoint.optimizer, tensors, "optimizer"),
        "scheduler": encode_tree(checkpoint.scheduler, tensors, "scheduler"),
        "rng": encode_tree(checkpoint.rng, tensors, "rng"),
        "trainer_state": encode_tree(checkpoint.trainer_state, tensors, "trainer_state"),
    }
    stored, aliases = _deduplicated(tensors)
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file(stored, str(tmp / STATE_TENSORS), metadata={"format": str(CHECKPOINT_FORMAT)})
    write_json_atomic(tmp / STATE_JSON, {
        "format": CHECKPOINT_FORMAT, "rmpredict_version": __version__,
        "run_hash": checkpoint.run_hash, "config": checkpoint.config,
        "data_identity": checkpoint.data_identity,
        "distributed_type": checkpoint.distributed_type, "aliases": aliases, **tree})
    swap_directory(tmp, target)
    return target


def swap_directory(tmp: Path, target: Path) -> None:
    """Replace directory ``target`` by ``tmp``, a sibling written in full beforehand.

    The previous ``target`` is moved aside first and deleted last, so a crash in between leaves
    one complete directory on disk (``target`` or ``target.old``).
    """
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    if old.exists():
        shutil.rmtree(old)


def _directory(path: str | os.PathLike[str]) -> Path:
    given = Path(path)
    return given.parent if given.name in (STATE_JSON, STATE_TENSORS) else given


def checkpoint_exists(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds a checkpoint of any format (including a refused legacy pickle)."""
    given = Path(path)
    if given.is_file():
        return True
    return any((given / name).is_file() for name in (STATE_JSON, STATE_TENSORS, LEGACY_PICKLE))


def _broken(where: Path, why: str) -> ModelMismatchError:
    return ModelMismatchError(
        f"cannot resume from {str(where)!r}: {why}; the checkpoint is incomplete or damaged, "
        "resume from another one or restart the run")


def _read_header(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The checkpoint directory and its parsed ``state.json``; no tensor is read."""
    where = _directory(path)
    other_file = Path(path).is_file() and Path(path).name not in (STATE_JSON, STATE_TENSORS)
    if other_file or (not (where / STATE_JSON).is_file() and (where / LEGACY_PICKLE).is_file()):
        shown = path if other_file else where / LEGACY_PICKLE
        raise ModelMismatchError(
            f"{str(shown)!r} is not an rmpredict checkpoint directory (state.json + "
            "state.safetensors); pickle files (such as the state.pt of earlier versions) are "
            "never loaded because unpickling can run arbitrary code; restart the run or resume "
            "from a checkpoint-last written by this version")
    json_file, tensor_file = where / STATE_JSON, where / STATE_TENSORS
    if not json_file.is_file() and not tensor_file.is_file():
        raise InvalidParameterError(f"no checkpoint at {str(where)!r}; check --resume-from")
    if not json_file.is_file() or not tensor_file.is_file():
        missing = STATE_JSON if not json_file.is_file() else STATE_TENSORS
        raise _broken(where, f"{missing} is missing")
    try:
        meta = json.loads(json_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _broken(where, f"{STATE_JSON} is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise _broken(where, f"{STATE_JSON} has format {found!r}, expected {CHECKPOINT_FORMAT}")
    return where, meta


def _info_fields(where: Path, meta: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"config": meta["config"], "run_hash": meta["run_hash"],
                "data_identity": meta.get("data_identity", {}),
                "distributed_type": meta.get("distributed_type", "NO"), "path": where}
    except KeyError as exc:
        raise _broken(where, f"entry {exc.args[0]!r} is missing") from exc


def read_checkpoint_info(path: str | os.PathLike[str]) -> CheckpointInfo:
    """The header of a checkpoint (run, hash, distributed type), without reading its tensors.

    Lets a run refuse a checkpoint of another run before loading a model. Raises as
    :func:`read_checkpoint`.
    """
    where, meta = _read_header(path)
    return CheckpointInfo(**_info_fields(where, meta))


def read_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint directory (or its ``state.json``) without unpickling anything.

    Raises
    ------
    InvalidParameterError
        Nothing at ``path``.
    ModelMismatchError
        A pickle (``state.pt``) or any file that is not a complete checkpoint of this format.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    where, meta = _read_header(path)
    info = _info_fields(where, meta)
    try:
        tensors = load_file(str(where / STATE_TENSORS), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise _broken(where, f"{STATE_TENSORS} cannot be read "
                             f"({str(exc).splitlines()[0]})") from exc
    for alias, name in meta.get("aliases", {}).items():
        if name not in tensors:
            raise _broken(where, f"tied tensor {alias!r} refers to {name!r}, which is absent")
        tensors[alias] = tensors[name]
    try:
        parts = {key: decode_tree(meta[key], tensors)
                 for key in ("model", "optimizer", "scheduler", "rng", "trainer_state")}
    except KeyError as exc:
        raise _broken(where, f"entry {exc.args[0]!r} is missing") from exc
    return Checkpoint(**info, **parts)


def check_resumable(checkpoint: CheckpointInfo, config: Mapping[str, Any],
                    data_identity: Mapping[str, Any], *, distributed_type: str) -> None:
    """Refuse a checkpoint that another run wrote (one-line errors).

    Raises
    ------
    ModelMismatchError
        The checkpoint's run hash differs from this run's (settings or data changed).
    InvalidParameterError
        FSDP and non-FSDP runs mixed (their optimizer states are keyed differently).
    """
    where = checkpoint.path
    if run_hash(config, data_identity) != checkpoint.run_hash:
        old = checkpoint.config
        changed = sorted(name for name in config
                         if name not in RESUMABLE_CHANGES and old.get(name) != config[name])
        splits = sorted(set(data_identity) | set(checkpoint.data_identity))
        changed += [f"{split} data" for split in splits
                    if data_identity.get(split) != checkpoint.data_identity.get(split)]
        what = (f"setting(s) {', '.join(changed)} differ from the checkpoint's run" if changed
                else "its stored run hash does not match its own settings (edited?)")
        raise ModelMismatchError(
            f"cannot resume {str(where)!r}: {what}; resume with the same configuration and data "
            f"(only {', '.join(sorted(RESUMABLE_CHANGES))} may change)")
    saved = checkpoint.distributed_type
    if (saved == "FSDP") != (distributed_type == "FSDP"):
        # Full FSDP optimizer states are keyed by parameter name, plain ones by position.
        def described(kind: str) -> str:
            return "an FSDP" if kind == "FSDP" else f"a non-FSDP ({kind})"

        raise InvalidParameterError(
            f"cannot resume {str(where)!r}: it was written by {described(saved)} run and this run "
            f"is {described(distributed_type)[2:].strip()}; resume FSDP checkpoints under FSDP "
            "(accelerate launch --use_fsdp) and others without it")
