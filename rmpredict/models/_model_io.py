"""Saving and loading fitted predictors as netCDF InferenceData (never pickle).

The file's posterior group carries JSON attributes: model type and version, the identity hash of
the configuration, the rmpredict version, the training-data hash, the encoding, the factor model,
diagnostics, a sha256 of the posterior values and a sha256 of the whole content (every group's
variables and coordinates, and the posterior's attributes) as read back from the written file.
Loading recomputes the identity and the hashes and refuses a file that does not match
(pymc-marketing's ModelBuilder pattern); a file that cannot be decoded at all (bytes flipped,
truncated) is refused with the same one-line "not a usable rmpredict model" error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rmpredict._io import atomic_path
from rmpredict._provenance import library_versions, sha256_file
from rmpredict._version import __version__
from rmpredict.exceptions import ModelMismatchError
from rmpredict.models._backend import import_arviz

__all__ = ["save_predictor", "load_predictor", "posterior_hash", "content_hash"]

# Latent standard-normal vectors are not needed to predict; dropping them keeps files small.
_DROP_PREFIX = ("z_", "eta", "lp_latent", "lt_latent", "dd_latent")
LEGACY_VERSIONS = ("1",)
"""Model versions still readable (their own predictive is kept in ``_hier_predict_v1``)."""
# Posterior attribute holding :func:`content_hash` (files saved before it existed lack it).
CONTENT_KEY = "rmpredict_content_sha256"


def posterior_hash(posterior) -> str:
    """sha256 over the posterior values (variables sorted by name, float64 bytes)."""
    h = hashlib.sha256()
    for name in sorted(posterior.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(posterior[name].to_numpy(), dtype=np.float64).tobytes())
    return h.hexdigest()


def content_hash(idata) -> str:
    """sha256 over every group of ``idata``: variables, coordinates and posterior attributes.

    Computed on the file as read back, so the bytes hashed at save time are exactly those a
    later load decodes (dtypes after the netCDF round trip). The content hash itself is left out.
    """
    h = hashlib.sha256()
    for group in sorted(idata.groups()):
        ds = idata[group]
        h.update(f"group {group}\n".encode())
        for name in sorted(map(str, ds.variables)):
            var = ds.variables[name]
            values = np.asarray(var.values)
            h.update(f"var {name} {var.dims} {values.dtype.str} {values.shape}\n".encode())
            if values.dtype.kind in "biufcmM":
                h.update(np.ascontiguousarray(values).tobytes())
            else:  # strings / objects: their text, unit-separated
                h.update("\x1f".join(map(str, values.ravel())).encode())
        if group == "posterior":
            for key in sorted(k for k in ds.attrs if k != CONTENT_KEY):
                h.update(f"attr {key}={ds.attrs[key]}\n".encode())
    return h.hexdigest()


def _record_content_hash(path: Path) -> None:
    """Read the written file back, hash its content and store the hash in the file."""
    import h5netcdf

    az = import_arviz()
    written = az.from_netcdf(str(path), engine="h5netcdf")
    for group in written.groups():
        written[group].load()
    digest = content_hash(written)
    del written
    with h5netcdf.File(str(path), "a") as fh:
        fh["posterior"].attrs[CONTENT_KEY] = digest


def _structure_posteriors_hash(idata) -> str:
    """sha256 over the posterior groups of the non-first structures (``posterior_<name>``)."""
    h = hashlib.sha256()
    for group in sorted(g for g in idata.groups() if g.startswith("posterior_")):
        h.update(group.encode())
        h.update(posterior_hash(idata[group]).encode())
    return h.hexdigest()


def save_predictor(model, path: str | os.PathLike[str]) -> str:
    """Write a fitted (version-2) predictor atomically; return the file's sha256."""
    az = import_arviz()
    post = model.idata_.posterior
    keep = [v for v in post.data_vars
            if not str(v).startswith(_DROP_PREFIX) and not str(v).endswith("__")]
    post = post[keep]
    post.attrs.clear()
    structures = list(model.members_)
    attrs = {
        "rmpredict_model_type": model._model_type,
        "rmpredict_model_version": model.model_version,
        "rmpredict_id": model.model_id,
        "rmpredict_version": __version__,
        "rmpredict_config": json.dumps(model._config(), sort_keys=True),
        "rmpredict_data_hash": model.data_hash_,
        "rmpredict_methods": json.dumps(list(model.methods_)),
        "rmpredict_n_train": int(model.n_train_),
        "rmpredict_encoding": json.dumps(model.encoding_.to_dict()),
        "rmpredict_factor_model": json.dumps(model.factor_model_.to_dict()),
        "rmpredict_seen_publishers": json.dumps(model.seen_publishers_),
        "rmpredict_diagnostics": json.dumps(model.diagnostics_, default=str),
        "rmpredict_library_versions": json.dumps(library_versions()),
        "rmpredict_structures": json.dumps({s: model.members_[s].state() for s in structures}),
        "rmpredict_structure_order": json.dumps(structures),
        "rmpredict_stacking_weights": json.dumps(model.stacking_weights_),
        "rmpredict_stacking_info": json.dumps(model.stacking_info_, default=str),
        "rmpredict_posterior_sha256": posterior_hash(post),
        "rmpredict_structures_sha256": _structure_posteriors_hash(model.idata_),
    }
    post = post.assign_attrs(attrs)
    groups = {"posterior": post}
    for group in ("sample_stats", "log_likelihood"):
        if group in model.idata_.groups():
            groups[group] = model.idata_[group]
    idata = az.InferenceData(**groups)
    extra = {g: model.idata_[g] for g in model.idata_.groups()
             if g not in ("posterior", "sample_stats", "log_likelihood")}
    if extra:
        idata.add_groups(extra)
    target = Path(path)
    with atomic_path(target) as tmp:
        idata.to_netcdf(str(tmp), engine="h5netcdf")
        _record_content_hash(tmp)
    return sha256_file(target)


def _fail(path: Path, reason: str) -> ModelMismatchError:
    return ModelMismatchError(
        f"{path} is not a usable rmpredict model: {reason}. Refit it with `rmpredict fit "
        "--output FILE` or restore the original file (released models: `rmpredict release "
        "verify NAME`).")


def load_predictor(cls, path: str | os.PathLike[str]):
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"model file not found: {str(p)!r}; check the --model path")
    if p.is_dir():
        raise _fail(p, "it is a folder, not a file")
    try:
        return _load_checked(cls, p)
    except ModelMismatchError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(p, f"a required attribute is missing or malformed ({_first_line(exc)})"
                    ) from exc
    except Exception as exc:  # noqa: BLE001 - any decoder failure means an unusable file
        raise _fail(p, f"cannot decode it ({type(exc).__name__}: {_first_line(exc)}); the file "
                       "is corrupted or not a netCDF file (bytes changed or truncated)") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _load_checked(cls, p: Path):
    from rmpredict.models._netcdf_groups import read_groups

    try:
        # Read without ArviZ (its import costs more than the rest of a load); ``idata_``
        # becomes an InferenceData on first access.
        idata = read_groups(p)
        post = idata.posterior
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unusable file
        raise _fail(p, f"cannot read it as netCDF InferenceData ({type(exc).__name__}: "
                       f"{_first_line(exc)}); the file is corrupted or not a netCDF file"
                    ) from exc
    attrs = dict(post.attrs)
    if attrs.get("rmpredict_model_type") != cls._model_type:
        raise _fail(p, f"model type {attrs.get('rmpredict_model_type')!r} is not "
                       f"{cls._model_type!r} (a foreign or unrelated netCDF file)")
    version = attrs.get("rmpredict_model_version")
    if version not in (cls.model_version, *LEGACY_VERSIONS):
        raise _fail(p, f"model version {version!r} is not one this rmpredict reads "
                       f"({', '.join((*LEGACY_VERSIONS, cls.model_version))})")
    config: dict[str, Any] = json.loads(attrs["rmpredict_config"])
    obj = cls(**config)
    if version != cls.model_version:
        from rmpredict._provenance import hash_json
        from rmpredict.models._hier_predict_v1 import LegacyV1

        identity = hash_json([cls._model_type, version, config])
        obj._legacy_v1 = LegacyV1(model_id=identity)
    if obj.model_id != attrs.get("rmpredict_id"):
        raise _fail(p, "its identity hash does not match its configuration (edited "
                       "attributes)")
    stored = attrs.pop("rmpredict_posterior_sha256")
    clean = post.copy()
    clean.attrs.clear()
    if posterior_hash(clean) != stored or (
            "rmpredict_structures_sha256" in attrs
            and _structure_posteriors_hash(idata) != attrs["rmpredict_structures_sha256"]):
        raise _fail(p, "its posterior values do not match their recorded sha256 (modified "
                       "or truncated)")
    stored_content = attrs.pop(CONTENT_KEY, None)
    if stored_content is not None and content_hash(idata) != stored_content:
        raise _fail(p, "its content (training table, sample statistics or attributes) does not "
                       "match its recorded sha256 (modified or truncated)")
    from rmpredict.features._factors import BenchmarkFactorModel

    obj.factor_model_ = BenchmarkFactorModel.from_dict(
        json.loads(attrs["rmpredict_factor_model"]))
    if version == cls.model_version:
        _restore_members(obj, idata, attrs)
    else:
        from rmpredict.models._hier_predict_v1 import EncodingV1

        obj.encoding_ = EncodingV1.from_dict(json.loads(attrs["rmpredict_encoding"]))
    obj.seen_publishers_ = json.loads(attrs["rmpredict_seen_publishers"])
    obj.diagnostics_ = json.loads(attrs["rmpredict_diagnostics"])
    obj.methods_ = tuple(json.loads(attrs["rmpredict_methods"]))
    obj.benchmarks_ = tuple(getattr(obj.encoding_, "benchmarks", ("rewardbench",)))
    obj.n_train_ = int(attrs["rmpredict_n_train"])
    obj.data_hash_ = attrs["rmpredict_data_hash"]
    obj.feature_names_ = obj.encoding_.feature_names
    obj.saved_with_ = {"rmpredict_version": attrs.get("rmpredict_version"),
                       "library_versions": json.loads(
                           attrs.get("rmpredict_library_versions", "{}"))}
    obj.idata_ = idata
    obj._post_cache = None
    return obj


def _restore_members(obj, idata, attrs: dict[str, Any]) -> None:
    """Rebuild the stacked structures of a version-2 file from its groups and attributes."""
    from rmpredict.models._hier_member import StructureFit
    from rmpredict.models._netcdf_groups import NetCDFGroups

    states = json.loads(attrs["rmpredict_structures"])
    order = json.loads(attrs["rmpredict_structure_order"])
    members = {}
    for i, name in enumerate(order):
        suffix = "" if i == 0 else f"_{name}"
        groups = {g: idata[f"{g}{suffix}"] for g in ("posterior", "sample_stats",
                                                   "log_likelihood")
                  if f"{g}{suffix}" in idata.groups()}
        groups["posterior"] = groups["posterior"].copy()
        groups["posterior"].attrs.clear()
        members[name] = StructureFit.from_state(states[name], NetCDFGroups(groups),
                                                obj.factor_model_)
    obj.members_ = members
    obj.encoding_ = members[order[0]].encoding
    obj.stacking_weights_ = json.loads(attrs["rmpredict_stacking_weights"])
    obj.stacking_info_ = json.loads(attrs["rmpredict_stacking_info"])


def fit_data_frame(idata) -> pd.DataFrame:
    """The training table stored in a model's ``fit_data`` group."""
    ds = idata.fit_data
    return pd.DataFrame({k: ds[k].to_numpy() for k in ds.data_vars})
