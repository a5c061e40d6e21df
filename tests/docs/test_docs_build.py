"""The documentation builds with ``mkdocs build --strict`` (every warning is an error).

The build runs in a subprocess, so the check that it imported neither torch nor PyMC (the API
reference is produced by static analysis of the sources) sees a clean interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOOK = REPO / "docs" / "hooks" / "release_cards.py"

_BUILD = """
import json, sys
from mkdocs.__main__ import cli
try:
    cli(["build", "--strict", "--config-file", sys.argv[1], "--site-dir", sys.argv[2], "-q"])
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
heavy = sorted(m for m in ("torch", "transformers", "pymc", "pytensor") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _registered_releases() -> list[dict]:
    registry = REPO / "rmpredict" / "release" / "registry.toml"
    if not registry.exists():
        return []
    with registry.open("rb") as fh:
        return tomllib.load(fh).get("release", [])


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason='the docs extra is not installed: '
                                         'pip install "rmpredict[docs]"')
    pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-c", _BUILD, str(REPO / "mkdocs.yml"), str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.stdout.strip(), proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, f"mkdocs build --strict failed:\n{proc.stderr}"
    assert report["heavy"] == [], f"building the docs imported {report['heavy']}"
    # The API page holds the generated reference, not an empty shell.
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for anchor in ("rmpredict.models.HierarchicalRMPredictor",
                   "rmpredict.decisions.rank_candidates", "rmpredict.release.load_release",
                   "rmpredict.features.BenchmarkFactorModel", "rmpredict.exceptions.DataWarning",
                   "rmpredict.train._config.TrainConfig", "rmpredict.datadist.score_corpus"):
        assert f'id="{anchor}"' in api, f"{anchor} missing from the API reference"
    for page in ("model", "howto-own-data", "data", "releases", "testing", "decisions"):
        assert (site / page / "index.html").exists(), f"page {page} was not built"
    # Every bundled release's model card is in the releases page.
    releases = (site / "releases" / "index.html").read_text(encoding="utf-8")
    for entry in _registered_releases():
        assert f"Model card: {entry['name']}@{entry['version']}" in releases


def _load_hook():
    spec = importlib.util.spec_from_file_location("release_cards_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_registry(folder: Path, entries: list[dict]) -> Path:
    lines = []
    for e in entries:
        lines.append("[[release]]")
        lines += [f'{k} = "{v}"' for k, v in e.items()]
        lines.append("")
    (folder / "registry.toml").write_text("\n".join(lines), encoding="utf-8")
    return folder / "registry.toml"


def test_release_cards_hook_inserts_cards_newest_first(tmp_path):
    hook = _load_hook()
    (tmp_path / "cards").mkdir()
    for version in ("2026.11", "2026.12"):
        (tmp_path / "cards" / f"r-{version}.md").write_text(
            f"# Model card: r@{version}\n\n## Priors\n\n```text\n# not a heading\n```\n",
            encoding="utf-8")
    registry = _write_registry(tmp_path, [
        {"name": "r", "version": "2026.11", "created": "2026-11-01T00:00:00Z",
         "card": "cards/r-2026.11.md"},
        {"name": "r", "version": "2026.12", "created": "2026-12-01T00:00:00Z",
         "card": "cards/r-2026.12.md"}])
    text = hook.release_cards(registry)
    assert text.index("### Model card: r@2026.12") < text.index("### Model card: r@2026.11")
    assert "#### Priors" in text
    assert "\n# not a heading" in text  # lines inside code fences are left alone
    page = hook.on_page_markdown(f"intro\n\n{hook.MARKER}\n", None, None, None)
    assert hook.MARKER not in page


def test_release_cards_hook_handles_missing_registry_and_card(tmp_path):
    hook = _load_hook()
    assert "No release is registered" in hook.release_cards(tmp_path / "registry.toml")
    registry = _write_registry(tmp_path, [
        {"name": "r", "version": "1", "created": "2026-11-01T00:00:00Z", "card": "cards/x.md"}])
    with pytest.raises(FileNotFoundError, match="model card .* of release r@1 is missing"):
        hook.release_cards(registry)
