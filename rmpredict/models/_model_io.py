"""Saving and loading fitted predictors as netCDF InferenceData (never pickle).

The file's posterior group carries JSON attributes: model type and version, the identity hash of
the configuration, the rmpredict version, the training-data hash, the encoding, the factor model,
diagnostics and a sha256 of the posterior values. Loading recomputes the identity and the
posterior hash and refuses a file that does not match (pymc-marketing's ModelBuilder pattern).
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

__all__ = ["save_predictor", "load_predictor", "posterior_hash"]

# Latent standard-normal vectors are not needed to predict; dropping them keeps files small.
_DROP_PREFIX = ("z_", "lp_latent", "lt_latent", "dd_latent")


def posterior_hash(posterior) -> str:
    """sha256 over the posterior values (variables sorted by name, float64 bytes)."""
    h = hashlib.sha256()
    for name in sorted(posterior.data_vars):
        h.update(name.encode())
        h.update(np.ascontiguousarray(posterior[name].to_numpy(), dtype=np.float64).tobytes())
    return h.hexdigest()


def save_predictor(model, path: str | os.PathLike[str]) -> str:
    az = import_arviz()
    post = model.idata_.posterior
    keep = [v for v in post.data_vars
            if not str(v).startswith(_DROP_PREFIX) and not str(v).endswith("__")]
    post = post[keep]
    post.attrs.clear()
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
        "rmpredict_posterior_sha256": posterior_hash(post),
    }
    post = post.assign_attrs(attrs)
    groups = {"posterior": post}
    if "sample_stats" in model.idata_:
        groups["sample_stats"] = model.idata_.sample_stats
    idata = az.InferenceData(**groups)
    if "fit_data" in model.idata_:
        idata.add_groups({"fit_data": model.idata_.fit_data})
    target = Path(path)
    with atomic_path(target) as tmp:
        idata.to_netcdf(str(tmp), engine="h5netcdf")
    return sha256_file(target)


def _fail(path: Path, reason: str) -> ModelMismatchError:
    return ModelMismatchError(
        f"{path} is not a usable rmpredict model: {reason}. Refit it with `rmpredict fit "
        "--output FILE` or restore the original file (released models: `rmpredict release "
        "verify NAME`).")


def load_predictor(cls, path: str | os.PathLike[str]):
    az = import_arviz()
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"model file not found: {str(p)!r}; check the --model path")
    try:
        idata = az.from_netcdf(str(p), engine="h5netcdf")
        post = idata.posterior
        attrs = dict(post.attrs)
    except Exception as exc:  # noqa: BLE001 - any reader failure means an unusable file
        raise _fail(p, f"cannot read it as netCDF InferenceData ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0] if str(exc) else ''}); the file is corrupted "
                       "or not a netCDF file") from exc
    if attrs.get("rmpredict_model_type") != cls._model_type:
        raise _fail(p, f"model type {attrs.get('rmpredict_model_type')!r} is not "
                       f"{cls._model_type!r} (a foreign or unrelated netCDF file)")
    if attrs.get("rmpredict_model_version") != cls.model_version:
        raise _fail(p, f"model version {attrs.get('rmpredict_model_version')!r} differs from "
                       f"this rmpredict's {cls.model_version!r}")
    try:
        config: dict[str, Any] = json.loads(attrs["rmpredict_config"])
        obj = cls(**config)
        if obj.model_id != attrs.get("rmpredict_id"):
            raise _fail(p, "its identity hash does not match its configuration (edited "
                           "attributes)")
        stored = attrs.pop("rmpredict_posterior_sha256")
        clean = post.copy()
        clean.attrs.clear()
        if posterior_hash(clean) != stored:
            raise _fail(p, "its posterior values do not match their recorded sha256 (modified "
                           "or truncated)")
        from rmpredict.features._factors import BenchmarkFactorModel
        from rmpredict.models._hier_data import Encoding

        obj.encoding_ = Encoding.from_dict(json.loads(attrs["rmpredict_encoding"]))
        obj.factor_model_ = BenchmarkFactorModel.from_dict(
            json.loads(attrs["rmpredict_factor_model"]))
        obj.seen_publishers_ = json.loads(attrs["rmpredict_seen_publishers"])
        obj.diagnostics_ = json.loads(attrs["rmpredict_diagnostics"])
        obj.methods_ = tuple(json.loads(attrs["rmpredict_methods"]))
        obj.n_train_ = int(attrs["rmpredict_n_train"])
        obj.data_hash_ = attrs["rmpredict_data_hash"]
        obj.feature_names_ = obj.encoding_.feature_names
        obj.saved_with_ = {"rmpredict_version": attrs.get("rmpredict_version"),
                           "library_versions": json.loads(
                               attrs.get("rmpredict_library_versions", "{}"))}
    except ModelMismatchError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(p, f"a required attribute is missing or malformed ({exc})") from exc
    idata.posterior.load()
    obj.idata_ = idata
    obj._post_cache = None
    return obj


def fit_data_frame(idata) -> pd.DataFrame:
    """The training table stored in a model's ``fit_data`` group."""
    ds = idata.fit_data
    return pd.DataFrame({k: ds[k].to_numpy() for k in ds.data_vars})
