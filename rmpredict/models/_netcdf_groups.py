"""The groups of an InferenceData netCDF file, read without importing ArviZ.

Importing ArviZ costs about 1.5 s (it imports its plotting layer, matplotlib and a numba
function), more than reading and checking a released model. Loading a model for prediction
therefore reads the groups with xarray exactly as ``arviz.from_netcdf`` does and builds the
:class:`arviz.InferenceData` only when something asks for it (``idata_``, ``az.loo``, plots).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["NetCDFGroups", "read_groups", "as_inference_data"]


class NetCDFGroups:
    """Read-only mapping of group name to :class:`xarray.Dataset`, with attribute access.

    Supports what the loading checks and the predictive need from an InferenceData:
    ``groups()``, ``obj[name]``, ``name in obj`` and ``obj.posterior``.
    """

    def __init__(self, groups: dict[str, Any], attrs: dict[str, Any] | None = None):
        self._groups = dict(groups)
        self.attrs = dict(attrs or {})

    def groups(self) -> list[str]:
        return list(self._groups)

    def __getitem__(self, name: str) -> Any:
        return self._groups[name]

    def __contains__(self, name: object) -> bool:
        return name in self._groups

    def __getattr__(self, name: str) -> Any:
        groups = self.__dict__.get("_groups", {})
        if name in groups:
            return groups[name]
        raise AttributeError(name)

    def to_inference_data(self):
        """The same groups as an :class:`arviz.InferenceData` (imports ArviZ)."""
        from rmpredict.models._backend import import_arviz

        az = import_arviz()
        return az.InferenceData(attrs=self.attrs or None, **self._groups)

    def __repr__(self) -> str:
        return f"NetCDFGroups({', '.join(self._groups)})"


def read_groups(path: str | os.PathLike[str]) -> NetCDFGroups:
    """Every group of the netCDF file at ``path``, decoded into memory (h5netcdf engine)."""
    import h5netcdf
    import xarray as xr

    with h5netcdf.File(str(path), mode="r") as handle:
        names = list(handle.groups)
    groups = {}
    for name in names:
        with xr.open_dataset(str(path), group=f"/{name}", engine="h5netcdf") as data:
            groups[name] = data.load()
    with xr.open_dataset(str(path), engine="h5netcdf", group="/") as data:
        attrs = dict(data.load().attrs)
    return NetCDFGroups(groups, attrs)


def as_inference_data(obj: Any):
    """``obj`` as an InferenceData: converted if it is :class:`NetCDFGroups`, else as is."""
    return obj.to_inference_data() if isinstance(obj, NetCDFGroups) else obj
