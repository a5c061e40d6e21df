"""Building a release: fit, save, checksum, registry entry and a generated model card."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rmpredict.exceptions import InvalidParameterError
from rmpredict.release._cite import cite
from rmpredict.release._registry import Release, read_registry, write_registry

__all__ = ["build_release", "render_card"]

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _table(rows: list[tuple[str, str]], head: tuple[str, str]) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def _stacking_text(model) -> str:
    """Stacking weights per method and how they were estimated."""
    weights = getattr(model, "stacking_weights_", None)
    if not weights:
        return "Not a stacked model (model version 1)."
    names = list(next(iter(weights.values())))
    rows = [f"| {m} | " + " | ".join(f"{w[s]:.2f}" for s in names) + " |"
            for m, w in sorted(weights.items())]
    info = model.stacking_info_
    scores = info.get("held_out_log_score", {})
    lines = ["| method | " + " | ".join(names) + " |", "|---|" + "---|" * len(names), *rows,
             "", f"Estimated by {info.get('protocol')} ({info.get('n_inner_folds', '?')} "
             f"inner folds; inner fits {info.get('inner_sampler')}).", ""]
    if scores:
        lines += ["Mean held-out log score per row (inner folds; higher is better):", "",
                  "| method | " + " | ".join(names) + " | stacked |",
                  "|---|" + "---|" * (len(names) + 1)]
        for m, rec in sorted(scores.items()):
            vals = [rec["mean_log_score"].get(s) for s in names]
            lines.append(f"| {m} | " + " | ".join(_fmt(v) for v in vals)
                         + f" | {_fmt(rec.get('stacked_log_score'))} |")
    return "\n".join(lines)


def render_card(model, release: Release, metrics: dict[str, Any] | None) -> str:
    """Model card markdown from the template."""
    from rmpredict._provenance import library_versions
    from rmpredict.models import fit_data_frame

    fit = fit_data_frame(model.idata_)
    fit = fit[fit["_weight"] > 0]
    counts = fit.groupby("method")["model"].nunique().to_dict()
    training = (f"{len(fit)} (model, method) rows: "
                + ", ".join(f"{m}: {n} models" for m, n in sorted(counts.items()))
                + f"; {fit['publisher'].nunique() if 'publisher' in fit else '?'} publishers. "
                "Accuracies are fractions in [0, 1].")
    priors = _table([(k, f"{v:g}") for k, v in sorted(model._priors().items())],
                    ("prior scale", "value (logit-accuracy units)"))
    d = model.diagnostics_
    diag = _table([
        ("sampler", f"{d.get('sampler')} ({model.chains} chains x {model.draws} draws, "
                    f"{model.tune} tuning, target_accept {model.target_accept})"),
        ("draws stored in the file", f"{model.idata_.posterior.sizes['chain']} chains x "
                                     f"{model.idata_.posterior.sizes['draw']} draws"),
        ("max r-hat", f"{d.get('max_rhat', float('nan')):.4f} (<= 1.01 required)"),
        ("min bulk / tail ESS", f"{d.get('min_ess_bulk', float('nan')):.0f} / "
                                f"{d.get('min_ess_tail', float('nan')):.0f} (>= 400 required)"),
        ("divergences", str(d.get("divergences"))),
        ("status", "ok" if d.get("ok") else "; ".join(d.get("problems", []))),
        ("compile / sample time (s)", f"{d.get('compile_seconds')} / {d.get('sample_seconds')}"),
    ], ("diagnostic", "value"))
    if metrics:
        rows = []
        for pred, by_method in metrics.get("results", {}).items():
            for method, m in by_method.items():
                cells = [_fmt(m.get(k)) for k in ("mae", "spearman", "coverage_at_k",
                                                   "interval_coverage_50",
                                                   "interval_coverage_90")]
                rows.append(f"| {pred} | {method} | " + " | ".join(cells) + f" | {m.get('n')} |")
        mtext = ("Held-out publishers, overall score; MAE in points (0-100); interval coverage "
                 "over held-out category cells.\n\n| predictor | method | MAE | Spearman | "
                 "coverage@5-10 | cover 50% | cover 90% | n |\n|---|---|---|---|---|---|---|---|\n"
                 + "\n".join(rows))
    else:
        mtext = "Not evaluated for this release (build it with `--metrics metrics.json`)."
    versions = _table(sorted(library_versions().items()), ("library", "version"))
    stacking = _stacking_text(model)
    return resources.files("rmpredict.release").joinpath("card_template.md").read_text(
        encoding="utf-8").format(
        full_name=release.full_name, description=release.description, file=release.file,
        sha256=release.sha256, model_version=model.model_version, model_id=release.model_id,
        data_hash=release.data_hash, rmpredict_version=release.rmpredict_version,
        created=release.created, training_summary=training,
        features=", ".join(f"`{f}`" for f in model.feature_names_),
        n_leaderboard=model.factor_model_.n_rows_, priors=priors, diagnostics=diag,
        metrics=mtext, n_models=fit["model"].nunique(), versions=versions, stacking=stacking,
        bibtex=cite(release)) + "\n"


def build_release(model, *, name: str, version: str, registry_dir: str | os.PathLike[str],
                  description: str = "", metrics: dict[str, Any] | str | None = None,
                  thin: int = 1) -> Release:
    """Save a fitted model as a named release with checksum, registry entry and model card.

    Parameters
    ----------
    model : HierarchicalRMPredictor
        A fitted model.
    name, version : str
        The release is cited as ``name@version`` (lower-case letters, digits, ``.-_``).
    registry_dir : path
        Folder holding ``registry.toml``, the netCDF files and the cards.
    metrics : dict or path, optional
        ``metrics.json`` of ``rmpredict evaluate`` to include in the card.
    thin : int, default=1
        Keep every ``thin``-th draw of each chain (smaller files).
    """
    from rmpredict._version import __version__

    for label, value in (("name", name), ("version", version)):
        if not _NAME_RE.match(value):
            raise InvalidParameterError(
                f"The '{label}' of a release must use lower-case letters, digits, '.', '-' or "
                f"'_'. Got {value!r} instead.")
    model._check_fitted()
    if isinstance(metrics, str | os.PathLike):
        metrics = json.loads(Path(metrics).read_text(encoding="utf-8"))
    folder = Path(registry_dir)
    folder.mkdir(parents=True, exist_ok=True)
    existing = read_registry(folder) if (folder / "registry.toml").exists() else []
    full = f"{name}@{version}"
    if any(r.full_name == full for r in existing):
        raise InvalidParameterError(f"release {full} already exists in {folder}; choose a new "
                                    "version")
    stem = f"{name}-{version}"
    if thin > 1:
        model.thin(thin)
    digest = model.save(folder / "files" / f"{stem}.nc")
    key = re.sub(r"[^a-z0-9]", "_", stem)
    release = Release(
        name=name, version=version, file=f"files/{stem}.nc", sha256=digest,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), rmpredict_version=__version__,
        model_id=model.model_id, data_hash=model.data_hash_, bibtex_key=key,
        description=description or f"rmpredict hierarchical predictor {full}.",
        card=f"cards/{stem}.md", registry_dir=str(folder))
    from rmpredict._io import write_text_atomic

    write_text_atomic(folder / release.card, render_card(model, release, metrics))
    write_registry([*existing, release], folder)
    return release
