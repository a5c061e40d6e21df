"""Build the public RM results table and its join report (called by ``data/build.py``).

Source: ``public_rm_results.csv`` (read-only, in ../shared/data): RewardBench v1 and
RewardBench 2 results of public classifier reward models, already **fractions in [0, 1]** in the
source (checked here: a value outside [0, 1] stops the build; nothing is rescaled), one row per
(reward model, benchmark), with a curated base-model mapping.

Outputs (both plain CSV, deterministic):

- ``public_rm_results.csv``: the tidy table, one row per (``rm_key``, ``benchmark``), with the
  published overall score, the overall derived as each benchmark defines it (v1: mean of its
  four sections; v2: mean of its six subsets), the check of one against the other, the base-model
  mapping and the exact-id join flags against the bundled tables.
- ``public_rm_joins.csv``: every exact-id join of a base model to a bundled table that failed,
  with the reason and what was done instead.

Join rule: the same as every other bundled join and as ``validate_table``'s filling: Hugging
Face ids compared exactly (case-sensitive) after stripping surrounding whitespace; no other
normalisation, no fuzzy matching. The base model of a row is ``base_init`` when it is in
leaderboard v2, else ``base_pretrained`` when that is (the source datasheet's "join base_init,
else base_pretrained"); when neither is, the first non-empty of the two is kept (its v1/models
joins are still tried). Leaderboard v1 and the seed study's ``models.csv`` are joined on that
same base model, so a row's features all describe one model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SOURCE = "public_rm_results.csv"
ORIGIN = ("github.com/evaleval/every_eval_ever data/reward-bench/ @ "
          "d9be34d60cb3820833034e33a437ba4b9e4d472f (MIT; scores from the RewardBench and "
          "RewardBench 2 leaderboards of Ai2); base-model mapping curated by the maintainers")

BENCHMARK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "rewardbench": ("chat", "chat_hard", "safety", "reasoning"),
    "rewardbench2": ("factuality", "precise_if", "math", "safety", "focus", "ties"),
}
ALL_CATEGORIES: tuple[str, ...] = ("chat", "chat_hard", "safety", "reasoning", "factuality",
                                   "precise_if", "math", "focus", "ties")
CONFIDENCE = ("high", "medium", "low")
# RewardBench 2's Ties subset is a score, not an accuracy (it combines accuracy with a margin
# term); six published rows are -0.01 and the published overall includes them, so they are kept.
RANGES = {c: (0.0, 1.0) for c in (*ALL_CATEGORIES, "score")} | {"ties": (-1.0, 1.0)}

# Categories are given to 4 decimals, so a mean of them and the published score (also 4
# decimals) agree within 0.00005 + 0.00005.
SCORE_TOLERANCE = 1e-4
# RewardBench v1's early overall score: (chat + chat_hard + safety + reasoning + 0.5 * prior) / 4.5
PRIOR_WEIGHT = 0.5

# The RewardBench leaderboard lists Ai2's own early runs under "ai2/" (not a Hugging Face
# owner); they are the same organisation as "allenai". Used for leave-one-organisation-out folds.
ORG_GROUP = {"ai2": "allenai"}

# Publisher of the pretrained foundation model, by its Hugging Face owner; names as in
# models.csv. huggyllama re-uploads Meta's LLaMA-1 weights.
BASE_PUBLISHER = {
    "meta-llama": "Meta",
    "huggyllama": "Meta",
    "Qwen": "Alibaba",
    "google": "Google",
    "mistralai": "Mistral AI",
    "microsoft": "Microsoft",
    "EleutherAI": "EleutherAI",
    "HuggingFaceTB": "Hugging Face",
    "openlm-research": "OpenLM Research",
}

COLUMNS = [
    "rm_key", "rm_id", "rm_id_truncated", "organisation", "org_group", "benchmark",
    "model_type", *ALL_CATEGORIES, "score", "score_derived", "score_gap", "score_check",
    "prior_sets_implied", "base_init", "base_pretrained", "base_publisher", "confidence",
    "evidence", "study", "base_model", "base_model_from", "in_leaderboard_v2",
    "in_leaderboard_v1", "in_models",
]
JOIN_COLUMNS = ["rm_key", "benchmark", "confidence", "table", "id_column", "model_id",
                "outcome", "reason"]


def _clean_id(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    keep = (s.notna() & (s != "")).to_numpy(dtype=bool)
    return pd.Series(np.where(keep, s.astype(object), None), index=series.index, dtype=object)


def _rm_keys(frame: pd.DataFrame) -> pd.Series:
    """``rm_id``, or ``rm_id#k`` (k = 1, 2, ... in source order) when a benchmark lists an id twice.

    The leaderboard truncates long names with "..."; nine distinct checkpoints share one
    truncated id, and their full names are not in the source.
    """
    dup = frame.duplicated(["rm_id", "benchmark"], keep=False)
    k = frame.groupby(["rm_id", "benchmark"]).cumcount() + 1
    return frame["rm_id"].where(~dup, frame["rm_id"] + "#" + k.astype(str))


def _check_source(raw: pd.DataFrame) -> None:
    problems = []
    bad = ~raw["benchmark"].isin(BENCHMARK_CATEGORIES)
    if bad.any():
        problems.append(f"benchmark: unknown {sorted(raw.loc[bad, 'benchmark'].unique())}")
    bad = ~raw["confidence"].isin(CONFIDENCE)
    if bad.any():
        problems.append(f"confidence: unknown {sorted(raw.loc[bad, 'confidence'].unique())}")
    for col, (lo, hi) in RANGES.items():
        vals = pd.to_numeric(raw[col], errors="raise")
        if ((vals < lo) | (vals > hi)).any():
            problems.append(f"{col}: values outside [{lo:g}, {hi:g}] (min {vals.min():g}, max "
                            f"{vals.max():g}); the source is documented as fractions")
    for bench, cats in BENCHMARK_CATEGORIES.items():
        rows = raw[raw["benchmark"] == bench]
        other = [c for c in ALL_CATEGORIES if c not in cats]
        if rows[other].notna().any().any():
            problems.append(f"{bench}: rows carry categories of the other benchmark")
    owners = raw["base_pretrained"].dropna().str.split("/").str[0]
    unknown = sorted(set(owners) - set(BASE_PUBLISHER))
    if unknown:
        problems.append(f"base_pretrained: no publisher for owner(s) {unknown}; extend "
                        "BASE_PUBLISHER")
    if raw["base_pretrained"].isna().any():
        problems.append("base_pretrained: empty on some rows")
    if problems:
        raise SystemExit(f"{SOURCE}: " + "; ".join(problems))


def _derive_scores(out: pd.DataFrame) -> None:
    """Derived overall, its gap to the published score, and the classified check."""
    derived = pd.Series(np.nan, index=out.index)
    check = pd.Series("", index=out.index, dtype=object)
    prior = pd.Series(np.nan, index=out.index)
    for bench, cats in BENCHMARK_CATEGORIES.items():
        rows = out["benchmark"] == bench
        derived[rows] = out.loc[rows, list(cats)].mean(axis=1, skipna=False)
    gap = out["score"] - derived
    tol = SCORE_TOLERANCE + 1e-9
    check[gap.abs() <= tol] = "match"
    v1 = out["benchmark"] == "rewardbench"
    cats = list(BENCHMARK_CATEGORIES["rewardbench"])
    # v1 rows without a reasoning section: the published score is the mean of the three others.
    three = v1 & out["reasoning"].isna()
    mean3 = out.loc[three, ["chat", "chat_hard", "safety"]].mean(axis=1)
    ok3 = (out.loc[three, "score"] - mean3).abs() <= tol
    check[ok3[ok3].index] = "reasoning_missing_mean_of_3"
    # v1 rows whose published score includes the Prior Sets section (weight 0.5 out of 4.5).
    off = v1 & derived.notna() & (gap.abs() > tol)
    # Implied Prior Sets score: (4.5 * score - sum of the four sections) / 0.5.
    implied = ((4 + PRIOR_WEIGHT) * out.loc[off, "score"]
               - out.loc[off, cats].sum(axis=1)) / PRIOR_WEIGHT
    plausible = implied.between(0, 1)
    prior[implied.index] = implied.round(4)
    check[plausible[plausible].index] = "prior_sets"
    unexplained = check == ""
    if unexplained.any():
        keys = ", ".join(out.loc[unexplained, "rm_key"].head(5))
        raise SystemExit(f"{SOURCE}: published score unexplained by the benchmark's definition "
                         f"at {int(unexplained.sum())} row(s): {keys}")
    out["score_derived"] = derived.round(6)
    out["score_gap"] = gap.round(6)
    out["score_check"] = check
    out["prior_sets_implied"] = prior


def _case_hint(model_id: str, ids: set[str]) -> str:
    folded = sorted(i for i in ids if i.casefold() == model_id.casefold())
    if folded:
        return f"; an id that differs only in case exists ({', '.join(folded)}), not used"
    return ""


def build_public_results(src, v2: pd.DataFrame, v1: pd.DataFrame,
                         models: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tidy public results table and the report of every failed join."""
    raw = pd.read_csv(src / SOURCE)
    _check_source(raw)
    out = raw.copy()
    for col in ("rm_id", "organisation", "base_init", "base_pretrained"):
        out[col] = _clean_id(out[col])
    out["rm_key"] = _rm_keys(out)
    out["rm_id_truncated"] = out["rm_id"].str.endswith("...")
    out["org_group"] = out["organisation"].map(lambda o: ORG_GROUP.get(o, o))
    out["base_publisher"] = out["base_pretrained"].str.split("/").str[0].map(BASE_PUBLISHER)
    out["study"] = out["study"].where(out["study"].notna(), None)
    # Already fractions in the source (checked above); keep 6 decimals as every bundled table.
    for col in [*ALL_CATEGORIES, "score"]:
        out[col] = out[col].astype(float).round(6)
    _derive_scores(out)

    ids = {"leaderboard_v2": set(v2["model"]), "leaderboard_v1": set(v1["model"]),
           "models": set(models["model"])}
    records = []
    base_model, base_from = [], []
    for row in out.itertuples(index=False):
        cands = [("base_init", row.base_init)] if row.base_init is not None else []
        if row.base_pretrained != row.base_init:
            cands.append(("base_pretrained", row.base_pretrained))
        hit = next(((c, m) for c, m in cands if m in ids["leaderboard_v2"]), None)
        chosen = hit or cands[0]
        base_model.append(chosen[1])
        base_from.append(chosen[0])
        base = {"rm_key": row.rm_key, "benchmark": row.benchmark, "confidence": row.confidence}
        for col, mid in cands:
            if (col, mid) == hit:
                break
            reason = ("not in leaderboard_v2 (exact, case-sensitive id)"
                      + _case_hint(mid, ids["leaderboard_v2"]))
            if col == "base_init" and row.base_pretrained == mid:
                reason += "; base_pretrained is the same id"
            if col == "base_pretrained" and row.base_init is None:
                reason += "; base_init not given"
            if hit is not None:
                reason += f"; used {hit[0]} {hit[1]!r} instead"
            records.append({**base, "table": "leaderboard_v2", "id_column": col,
                            "model_id": mid, "outcome": "fallback" if hit else "unmatched",
                            "reason": reason})
        for table in ("leaderboard_v1", "models"):
            if chosen[1] in ids[table]:
                continue
            if table == "models":
                reason = ("not a base model of the seed study (models.csv lists its 42 models "
                          "only)")
            else:
                reason = ("not in leaderboard_v1 (exact, case-sensitive id)"
                          f"{_case_hint(chosen[1], ids[table])}")
            records.append({**base, "table": table, "id_column": chosen[0],
                            "model_id": chosen[1], "outcome": "unmatched", "reason": reason})
    out["base_model"] = base_model
    out["base_model_from"] = base_from
    for table, col in (("leaderboard_v2", "in_leaderboard_v2"),
                       ("leaderboard_v1", "in_leaderboard_v1"), ("models", "in_models")):
        out[col] = out["base_model"].isin(ids[table])
    if out.duplicated(["rm_key", "benchmark"]).any():
        raise SystemExit(f"{SOURCE}: rm_key/benchmark not unique")
    joins = pd.DataFrame(records, columns=JOIN_COLUMNS)
    return out[COLUMNS].reset_index(drop=True), joins
