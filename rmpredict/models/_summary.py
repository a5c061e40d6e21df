"""Summary of a fitted hierarchical predictor: population parameters and diagnostics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from rmpredict.models._backend import import_arviz

__all__ = ["Summary"]

SUMMARY_VARS = ("theta", "b_method", "tau_method", "tau_category", "tau_benchmark", "a",
                "tau_alpha", "s_pub", "s_run", "sigma")


@dataclass
class Summary:
    """Tables and diagnostics; ``str()`` renders text, ``to_frame()`` the parameter table."""

    table: pd.DataFrame
    diagnostics: dict[str, Any]
    info: dict[str, Any]

    @classmethod
    def from_predictor(cls, model) -> Summary:
        az = import_arviz()
        members = getattr(model, "members_", None) or {"full": None}
        tables = []
        for structure, member in members.items():
            post = model.idata_.posterior if member is None else member.idata.posterior
            names = [v for v in SUMMARY_VARS if v in post.data_vars]
            part = az.summary(post, var_names=names, hdi_prob=0.9, round_to=3)
            part.insert(0, "structure", structure)
            tables.append(part)
        table = pd.concat(tables)
        enc = getattr(model, "encoding_", None)
        cells = getattr(enc, "cells", None)
        info = {"model_id": model.model_id, "methods": list(model.methods_),
                "benchmarks": list(getattr(model, "benchmarks_", ("rewardbench",))),
                "n_train_rows": model.n_train_, "data_hash": model.data_hash_,
                "features": list(model.feature_names_),
                "publishers_seen": len(model.seen_publishers_),
                "random_seed": model.random_seed, "sampler": model.sampler}
        if cells:  # the category axis of a, sigma, beta: (benchmark, category) cells
            info["cells"] = [f"{b}:{c}" for b, c in cells]
        if hasattr(model, "stacking_weights_"):
            info["stacking"] = {m: {s: round(w, 3) for s, w in ws.items()}
                                for m, ws in model.stacking_weights_.items()}
            info["stacking_protocol"] = model.stacking_info_.get("protocol")
        return cls(table=table, diagnostics=dict(model.diagnostics_), info=info)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def as_text(self) -> str:
        d = self.diagnostics
        lines = ["HierarchicalRMPredictor (stacked logit-normal structures of RewardBench "
                 "category accuracy)"]
        for k, v in self.info.items():
            lines.append(f"  {k:16s} {v}")
        lines.append("Diagnostics")
        lines.append(f"  max r-hat        {d.get('max_rhat', float('nan')):.4f} (<= "
                     f"{d.get('rhat_max_allowed')})")
        lines.append(f"  min bulk ESS     {d.get('min_ess_bulk', float('nan')):.0f} (>= "
                     f"{d.get('ess_min_required')})")
        lines.append(f"  min tail ESS     {d.get('min_ess_tail', float('nan')):.0f}")
        lines.append(f"  divergences      {d.get('divergences')}")
        if "sample_seconds" in d:
            lines.append(f"  compile / sample {d.get('compile_seconds')} s / "
                         f"{d.get('sample_seconds')} s")
        lines.append("  status           " + ("ok" if d.get("ok") else
                                              "PROBLEMS: " + "; ".join(d.get("problems", []))))
        lines.append("")
        lines.append(self.table.to_string())
        lines.append("")
        lines.append("To predict candidates call .predict(candidates); to save call .save(path).")
        return "\n".join(lines)

    __str__ = as_text

    def _repr_html_(self) -> str:
        return "<pre>" + self.as_text().replace("&", "&amp;").replace("<", "&lt;") + "</pre>"
