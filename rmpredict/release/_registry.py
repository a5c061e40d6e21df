"""The registry of released fitted models: ``registry.toml`` beside the netCDF files.

Each entry names a release ``NAME@VERSION``, its file, sha256, identity hashes and citation key.
Loading verifies the checksum before anything is read, so a modified or truncated file is
refused with instructions to restore it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from rmpredict._provenance import sha256_file
from rmpredict.exceptions import InvalidParameterError, ReleaseIntegrityError

__all__ = ["Release", "bundled_registry_dir", "read_registry", "write_registry", "find_release",
           "verify_release"]

REGISTRY_FILE = "registry.toml"


@dataclass(frozen=True)
class Release:
    """One released fitted model (an entry of ``registry.toml``)."""

    name: str
    version: str
    file: str
    sha256: str
    created: str
    rmpredict_version: str
    model_id: str
    data_hash: str
    bibtex_key: str
    description: str
    card: str
    registry_dir: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def path(self) -> Path:
        return Path(self.registry_dir) / self.file

    @property
    def card_path(self) -> Path:
        return Path(self.registry_dir) / self.card


def bundled_registry_dir() -> Path:
    """Folder of the releases shipped inside the package."""
    return Path(str(resources.files("rmpredict.release")))


def read_registry(registry_dir: str | os.PathLike[str] | None = None) -> list[Release]:
    """All releases of a registry folder, oldest first (bundled registry by default)."""
    folder = Path(registry_dir) if registry_dir is not None else bundled_registry_dir()
    path = folder / REGISTRY_FILE
    if not path.exists():
        if registry_dir is None:
            return []
        raise InvalidParameterError(
            f"no {REGISTRY_FILE} in {str(folder)!r}; pass the folder `rmpredict release build` "
            "wrote (--registry DIR)")
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    out = []
    for entry in data.get("release", []):
        out.append(Release(**{k: str(entry[k]) for k in Release.__dataclass_fields__
                              if k != "registry_dir"}, registry_dir=str(folder)))
    return sorted(out, key=lambda r: (r.created, r.version))


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_registry(releases: list[Release], registry_dir: str | os.PathLike[str]) -> Path:
    """Write ``registry.toml`` (atomic)."""
    from rmpredict._io import write_text_atomic

    lines = ["# rmpredict release registry: one [[release]] table per released fitted model.", ""]
    for rel in releases:
        lines.append("[[release]]")
        for key, value in asdict(rel).items():
            if key != "registry_dir":
                lines.append(f"{key} = {_toml_str(str(value))}")
        lines.append("")
    return write_text_atomic(Path(registry_dir) / REGISTRY_FILE, "\n".join(lines))


def find_release(name: str | None = None,
                 registry_dir: str | os.PathLike[str] | None = None) -> Release:
    """A release by ``NAME@VERSION``, by ``NAME`` (newest version) or the newest overall."""
    releases = read_registry(registry_dir)
    if not releases:
        raise InvalidParameterError(
            "no released model is available; fit one with `rmpredict fit --output MODEL.nc` "
            "and pass --model MODEL.nc, or build a release with `rmpredict release build`")
    if name is None:
        return releases[-1]
    matches = [r for r in releases if r.full_name == name or r.name == name]
    if not matches:
        known = ", ".join(r.full_name for r in releases)
        raise InvalidParameterError(
            f"unknown release {name!r}; available: {known} (see `rmpredict release list`)")
    return matches[-1]


def verify_release(release: Release) -> str:
    """Check the release file's sha256; return it or raise :class:`ReleaseIntegrityError`."""
    restore = ("restore it with `pip install --force-reinstall rmpredict` (or `git checkout -- "
               f"{release.file}` in a checkout, or rebuild it with `rmpredict release build`)")
    if not release.path.exists():
        raise ReleaseIntegrityError(f"release {release.full_name}: file {release.path} is "
                                    f"missing; {restore}")
    digest = sha256_file(release.path)
    if digest != release.sha256:
        raise ReleaseIntegrityError(
            f"release {release.full_name}: {release.path.name} has sha256 {digest[:16]}…, the "
            f"registry records {release.sha256[:16]}…; the file was modified or truncated — "
            f"{restore}")
    return digest
