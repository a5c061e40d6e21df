"""Released fitted models: registry, checksum verification, cards, citations, building."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from rmpredict.exceptions import ConvergenceWarning, InvalidParameterError, ReleaseIntegrityError
from rmpredict.release import (
    STUDY_BIBTEX,
    build_release,
    bundled_registry_dir,
    cite,
    find_release,
    list_releases,
    load_release,
    read_registry,
)


def test_a_release_ships_with_the_package():
    # The release is part of the package: a broken package-data path must fail here, not
    # skip this module silently.
    releases = list_releases()
    assert releases, f"no release found in {bundled_registry_dir()}"
    for rel in releases:
        assert rel.path.is_file(), f"{rel.full_name}: {rel.path} is missing"
        assert rel.card_path.is_file(), f"{rel.full_name}: {rel.card_path} is missing"


def _parse_bibtex(text: str):
    import bibtexparser

    lib = bibtexparser.parse_string(text)
    assert not lib.failed_blocks, [b.error for b in lib.failed_blocks]
    return lib.entries


def test_bundled_release_loads_verified_and_predicts():
    rel = list_releases()[-1]
    model = load_release()
    assert model.release_.full_name == rel.full_name
    assert model.model_id == rel.model_id
    res = model.predict(pd.DataFrame({"model": ["Qwen/Qwen2.5-7B-Instruct"]}), method="regression")
    assert 0.5 < res.to_wide()["score"].iloc[0] < 1.0
    assert rel.card_path.exists()
    card = rel.card_path.read_text()
    for section in ("## Training data", "## Priors", "## Sampling and diagnostics",
                    "## Leave-one-publisher-out evaluation", "## Known limits",
                    "## Library versions", "## Citation"):
        assert section in card


def _copy_registry(tmp_path):
    dst = tmp_path / "registry"
    shutil.copytree(bundled_registry_dir(), dst,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return dst


def test_tampered_release_is_refused(tmp_path):
    reg = _copy_registry(tmp_path)
    rel = read_registry(reg)[-1]
    data = bytearray(rel.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rel.path.write_bytes(bytes(data))
    with pytest.raises(ReleaseIntegrityError, match="modified or truncated.*restore it"):
        load_release(rel.full_name, registry_dir=reg)


def test_truncated_and_missing_release_are_refused(tmp_path):
    reg = _copy_registry(tmp_path)
    rel = read_registry(reg)[-1]
    rel.path.write_bytes(rel.path.read_bytes()[:1000])
    with pytest.raises(ReleaseIntegrityError, match="sha256"):
        load_release(registry_dir=reg)
    rel.path.unlink()
    with pytest.raises(ReleaseIntegrityError, match="missing"):
        load_release(registry_dir=reg)


def test_unknown_release_name():
    with pytest.raises(InvalidParameterError, match="unknown release 'nope'"):
        find_release("nope")


def test_cite_parses_as_bibtex():
    entries = _parse_bibtex(cite(list_releases()[-1]))
    types = sorted(e.entry_type for e in entries)
    assert types == ["inproceedings", "software"]
    study = _parse_bibtex(STUDY_BIBTEX)[0]
    assert "2505.10775" in study.fields_dict["note"].value


def test_build_release_round_trip(tmp_path):
    from rmpredict.models import HierarchicalRMPredictor

    model = HierarchicalRMPredictor(draws=100, tune=100, chains=2, progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny run, diagnostics not judged
        model.fit()
    rel = build_release(model, name="my-predictor", version="0.1", registry_dir=tmp_path,
                        description="test release", thin=2)
    assert rel.full_name == "my-predictor@0.1"
    again = load_release("my-predictor", registry_dir=tmp_path)
    assert again.idata_.posterior.sizes["draw"] == 50
    cand = pd.DataFrame({"model": ["google/gemma-2-9b-it"]})
    np.testing.assert_allclose(again.predict(cand).mean, again.predict(cand).mean)
    with pytest.raises(InvalidParameterError, match="already exists"):
        build_release(model, name="my-predictor", version="0.1", registry_dir=tmp_path)
    with pytest.raises(InvalidParameterError, match="lower-case"):
        build_release(model, name="My Predictor", version="0.2", registry_dir=tmp_path)
    assert "Not evaluated" in rel.card_path.read_text()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "rmpredict", *args], capture_output=True,
                          text=True, timeout=300)


def test_release_cli():
    rel = list_releases()[-1]
    out = _cli("release", "list")
    assert out.returncode == 0 and rel.full_name in out.stdout
    out = _cli("release", "show", rel.name)
    assert out.returncode == 0 and f"# Model card: {rel.full_name}" in out.stdout
    out = _cli("release", "verify")
    assert out.returncode == 0 and "ok" in out.stdout and rel.sha256 in out.stdout
    out = _cli("cite")
    assert out.returncode == 0
    _parse_bibtex(out.stdout)
    out = _cli("release", "verify", "nope")
    assert out.returncode == 2 and "unknown release" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


_LIGHT_PROBE = """
import json, sys, warnings
warnings.simplefilter("ignore")
from rmpredict.cli import main
code = main(["rank", "--candidates", "data/examples/candidates.csv", "--output", sys.argv[1]])
heavy = ("arviz", "sklearn", "scipy.stats", "matplotlib", "pymc", "pytensor", "torch")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_rank_from_the_release_imports_no_heavy_library(tmp_path):
    # Start-up time of `rmpredict rank` is dominated by imports (RESULTS.md §14): loading a
    # release and ranking must not pull in ArviZ, scikit-learn, scipy.stats or matplotlib.
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _LIGHT_PROBE, str(tmp_path / "r.csv")],
                          capture_output=True, text=True, timeout=300, cwd=root, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}


def test_loaded_release_idata_is_inference_data_with_the_file_content():
    import arviz as az

    from rmpredict.models._model_io import content_hash

    model = load_release()
    rel = list_releases()[-1]
    idata = model.idata_
    assert isinstance(idata, az.InferenceData)
    again = az.from_netcdf(str(rel.path), engine="h5netcdf")
    assert sorted(idata.groups()) == sorted(again.groups())
    assert content_hash(idata) == content_hash(again)
    for name, member in model.members_.items():
        assert isinstance(member.idata, az.InferenceData), name
        suffix = "" if name == next(iter(model.members_)) else f"_{name}"
        np.testing.assert_array_equal(member.posterior["alpha"].to_numpy(),
                                      again[f"posterior{suffix}"]["alpha"].to_numpy())
