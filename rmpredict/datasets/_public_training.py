"""Public RewardBench v1 and RewardBench 2 results as extra training rows of the results schema.

:func:`public_training_rows` turns :func:`~rmpredict.datasets.load_public_results` into rows a
predictor can be fitted on next to the seed study: one row per starting checkpoint, recipe and
benchmark, ``model`` = the checkpoint the RMs were trained from, ``method`` = the recipe: the
RewardBench 2 paper's controlled study is its own recipe (``rewardbench2_paper``), every other
leaderboard submission belongs to one recipe group (their recipes are unknown and differ; the
hierarchical model gives every row its own run effect, so each submission's recipe deviation is
partially pooled within the group). Rows that cannot be used are dropped and counted in
``frame.attrs["public_rows"]`` with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from rmpredict.datasets._schema import BENCHMARK_LABELS, RESULT_BENCHMARKS, V2_BENCHMARKS
from rmpredict.exceptions import InvalidParameterError

__all__ = ["PUBLIC_RECIPE", "STUDY_RECIPES", "public_training_rows", "usable_public_rms",
           "infer_stage"]

PUBLIC_RECIPE = "public_leaderboard"
"""Default ``method`` of the public rows: the population of leaderboard recipes."""

STUDY_RECIPES: dict[str, str] = {"rewardbench2_paper": "rewardbench2_paper"}
"""``study`` tag -> ``method``: controlled studies that trained one recipe across bases."""

_STAGE_PATTERNS = (("dpo", r"dpo"), ("sft", r"sft"),
                   ("instruct", r"instruct|chat|-it\b|-it-|rlhf|tulu|zephyr|hermes"))


def infer_stage(model_id: str, base_model_from: str) -> str:
    """Post-training stage of a public RM's starting checkpoint.

    The seed study's stage when it lists the model is used before this; here a checkpoint that
    is the pretrained foundation itself is ``base``, and otherwise the id decides (``dpo``,
    ``sft``, instruction/chat names -> ``instruct``, anything else -> ``base``, e.g.
    ``meta-llama/Llama-3.1-8B``).
    """
    if base_model_from == "base_pretrained":
        return "base"
    name = model_id.lower()
    for stage, pattern in _STAGE_PATTERNS:
        if re.search(pattern, name):
            return stage
    return "base"


def _check_benchmark(benchmark: str) -> list[str]:
    if benchmark == "all":
        return list(RESULT_BENCHMARKS)
    if benchmark not in RESULT_BENCHMARKS:
        raise InvalidParameterError(
            f"The 'benchmark' parameter of public_training_rows must be one of "
            f"{[*RESULT_BENCHMARKS, 'all']}. Got {benchmark!r} instead.")
    return [benchmark]


def usable_public_rms(*, include_low_confidence: bool = False,
                      exclude_organisations: Sequence[str] = (),
                      benchmark: str = "rewardbench"
                      ) -> tuple[pd.DataFrame, dict[str, int]]:
    """The public RMs :func:`public_training_rows` is built from, one row per RM and benchmark
    (``load_public_results`` columns), and the number dropped for each reason."""
    names = _check_benchmark(benchmark)
    if len(names) > 1:
        parts = [usable_public_rms(include_low_confidence=include_low_confidence,
                                   exclude_organisations=exclude_organisations, benchmark=b)
                 for b in names]
        dropped = {f"{b}: {reason}": n for b, (_, d) in zip(names, parts)
                   for reason, n in d.items()}
        out = pd.concat([p for p, _ in parts], ignore_index=True)
        out.attrs = parts[0][0].attrs
        return out, dropped
    from rmpredict.datasets import PUBLIC_BENCHMARKS, load_public_results

    if isinstance(exclude_organisations, str):
        raise InvalidParameterError(
            "The 'exclude_organisations' parameter of public_training_rows must be a list of "
            f"organisation names, not one string. Got {exclude_organisations!r}; pass "
            f"[{exclude_organisations!r}].")
    pub = load_public_results(include_low_confidence=include_low_confidence,
                              benchmark=names[0])
    cats = list(PUBLIC_BENCHMARKS[names[0]])
    dropped: dict[str, int] = {}

    def drop(mask: pd.Series, reason: str) -> pd.DataFrame:
        dropped[reason] = int(mask.sum())
        return pub[~mask]

    excluded = {str(o) for o in exclude_organisations}
    pub = drop(pub["org_group"].isin(excluded), "organisation excluded")
    pub = drop(pub[cats].isna().any(axis=1),
               f"a {BENCHMARK_LABELS[names[0]]} category is missing")
    pub = drop(pub[list(V2_BENCHMARKS)].isna().all(axis=1),
               "the base model has no leaderboard-v2 scores")
    return pub.reset_index(drop=True), dropped


def public_training_rows(*, include_low_confidence: bool = False,
                         recipe: str = PUBLIC_RECIPE,
                         exclude_organisations: Sequence[str] = (),
                         benchmark: str = "rewardbench") -> pd.DataFrame:
    """Public RM results as rows of the seed study's results schema.

    Parameters
    ----------
    include_low_confidence : bool, default=False
        Also use rows whose base-model mapping is ``low`` confidence.
    recipe : str, default="public_leaderboard"
        ``method`` given to every leaderboard row outside a controlled study (the RewardBench
        2 paper's RMs get ``rewardbench2_paper``, see :data:`STUDY_RECIPES`).
    exclude_organisations : sequence of str, default=()
        Submitting organisations (``org_group``) whose RMs are left out before averaging, e.g.
        the held-out organisation of a leave-one-organisation-out fold.
    benchmark : {"rewardbench", "rewardbench2", "all"}, default="rewardbench"
        Which benchmark's results to return (``all``: both, one row per benchmark).

    Returns
    -------
    pandas.DataFrame
        One row per starting checkpoint, recipe and benchmark: ``model, publisher, method,
        rm_train_data, post_training, benchmark``, the benchmark's categories, ``score``,
        ``source``. Accuracies are fractions, averaged over the public RMs trained from that
        checkpoint with that recipe (their number and organisations are in
        ``attrs["public_rows"]["checkpoints"]``); ``score`` is the mean of the benchmark's
        categories (as each benchmark defines its overall score). ``publisher`` follows the
        seed study's naming (see :func:`_publisher`), so a leave-one-publisher-out fold holds
        these rows out with the seed's models. ``attrs["public_rows"]`` counts the RMs used
        and dropped (and why).
    """
    if not isinstance(recipe, str) or not recipe.strip():
        raise InvalidParameterError(
            f"The 'recipe' parameter of public_training_rows must be a non-empty string. Got "
            f"{recipe!r} instead.")
    from rmpredict.datasets import PUBLIC_BENCHMARKS, load_table

    names = _check_benchmark(benchmark)
    pub, dropped = usable_public_rms(include_low_confidence=include_low_confidence,
                                     exclude_organisations=exclude_organisations,
                                     benchmark=benchmark)
    seed = load_table("models").set_index("model")
    publisher = [_publisher(m, p, seed) for m, p in zip(pub["base_model"], pub["base_publisher"])]
    stage = [seed.at[m, "post_training"] if m in seed.index else infer_stage(m, f)
             for m, f in zip(pub["base_model"], pub["base_model_from"])]
    study = pub["study"].astype(object).where(pub["study"].notna(), None)
    method = [STUDY_RECIPES.get(t, recipe) if t is not None else recipe for t in study]
    # "safety" is a category of both benchmarks: one column, read per row's benchmark.
    cats = list(dict.fromkeys(c for b in names for c in PUBLIC_BENCHMARKS[b]))
    rows = pd.DataFrame({"model": pub["base_model"].to_numpy(), "publisher": publisher,
                         "method": method, "benchmark": pub["benchmark"].to_numpy(),
                         "post_training": stage,
                         **{c: pub[c].to_numpy(dtype=float) for c in cats},
                         "organisation": pub["org_group"].to_numpy()})
    # The results schema has one row per (model, method, benchmark): RMs of the same
    # checkpoint in one recipe group are averaged (their number is kept in n_rms).
    out = (rows.groupby(["model", "method", "benchmark"], sort=True)
           .agg(publisher=("publisher", "first"), post_training=("post_training", "first"),
                **{c: (c, "mean") for c in cats}, n_rms=("organisation", "size"),
                organisations=("organisation", lambda s: ";".join(sorted(set(s)))))
           .reset_index())
    out.insert(1, "publisher", out.pop("publisher"))
    out.insert(3, "rm_train_data", "unknown")
    out.insert(4, "post_training", out.pop("post_training"))
    out["score"] = np.nan
    for b in names:
        sel = (out["benchmark"] == b).to_numpy()
        out.loc[sel, "score"] = out.loc[sel, list(PUBLIC_BENCHMARKS[b])].mean(axis=1)
    out["source"] = [f"public {BENCHMARK_LABELS[b]} leaderboard (data/public_rm_results.csv)"
                     for b in out["benchmark"]]
    if names == ["rewardbench"]:
        out = out.drop(columns=["benchmark"])  # the seed schema: v1 is implied
    # Not columns of the results schema (a fit would warn about them): kept in attrs.
    keys = [c for c in ("model", "method", "benchmark") if c in out.columns]
    averaged = out[[*keys, "n_rms", "organisations"]].to_dict("records")
    out = out.drop(columns=["n_rms", "organisations"])
    out.attrs["public_rows"] = {
        "rms_used": int(len(rows)), "rows": int(len(out)), "dropped": dropped,
        "checkpoints": averaged,
        "provenance": pub.attrs.get("provenance", {})}
    return out


def _publisher(model: str, foundation_publisher: str, seed: pd.DataFrame) -> str:
    """The seed study's publisher of ``model``, else of its organisation's other models (so
    ``allenai/...`` is Ai2 like the seed's Tulu models), else the foundation's publisher."""
    if model in seed.index:
        return str(seed.at[model, "publisher"])
    org = model.split("/", 1)[0]
    same_org = seed[seed.index.str.split("/").str[0] == org]["publisher"].unique()
    return str(same_org[0]) if len(same_org) == 1 else str(foundation_publisher)
