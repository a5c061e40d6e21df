"""Every GPU check of issue 13 in one run, under a time budget, one JSON per check.

Checks, in this order (each in its own subprocess with its own timeout; a failed or timed-out
check is reported and the next one still runs; a check that outlives its timeout is killed with
its whole process group):

``train``
    RM training throughput, random-init Qwen2.5 architectures (1.5B first: the target size, then
    0.5B), bf16, identical synthetic preference-length batches: TRL's RewardTrainer vs
    rmpredict padded (random batches), length-bucketed, packed (sdpa) and packed-flex
    (flex_attention). Real tok/s, pairs/s, MFU = 6 * non-embedding params * real tok/s / 989e12,
    padding share, peak memory. Every row is one ``benchmarks/bench_train_throughput.py
    --variant`` child (its code is reused; "padded" is its bucketed variant with
    ``group_by_length`` off). Targets at 1.5B: >= 2.5x TRL real tok/s, MFU >= 35 %, peak memory
    <= TRL's; when one is missed, one training step of the fastest rmpredict variant is
    profiled with torch.profiler and the top ops are recorded.
``correctness``
    Packed vs padded loss and gradients on one batch (fp32, and bf16 autocast to bf16
    tolerance; sdpa, and flex_attention on CUDA); RM scores at batch size 1 vs 16 and left vs
    right padding; a run stopped after 3 of 6 steps and resumed continues the full run's loss
    curve.
``presence``
    Presence scoring, Qwen2.5 0.5B / 1.5B architectures, 8 x 2048 tokens, bf16: rmpredict's
    chunked scorer vs the naive full-logit scorer vs the body-only forward (the floor): tok/s,
    peak memory, max |mean log-prob - fp32's| in nats/token. Targets: chunked >= 0.9x naive tok/s
    at <= 1/3 of its peak memory, within 1e-3 nats/token of fp32. Uses the configurations of
    ``benchmarks/bench_presence_throughput.py``.
``ground_truth``
    Bradley-Terry RMs from the staged SmolLM2-135M-Instruct and Gemma-3-270M GGUFs (see
    ``benchmarks/stage_weights.py``) with the study's ``gpu`` preset, stage by stage and model by
    model (bench, train, score on the full 984-pair suite, presence, collect), as far as the
    budget allows; the study work dir (default /tmp/rmpredict-study-gpu) resumes on a rerun.
    Records, results.csv and the stage summaries come back as ``ground_truth_records.tgz``.
    Workaround, recorded in the JSON: the study's ``bench`` stage leaves the model on the CPU
    (``_bench_one`` passes no device), so this check points ``score_choices`` at the GPU.

Output (at most 8 files come back from a device call's $OUT; this writes 6, plus the log if
the caller tees it): ``summary.json`` (versions, card, every check's status and key numbers,
the table), ``train.json``, ``correctness.json``, ``presence.json``, ``ground_truth.json``,
``ground_truth_records.tgz``. A check's JSON is rewritten as it goes, so a timed-out check still
reports what it finished.

Commands
--------
On the device (after ``stage_weights.py`` staged the weights; see its docstring for the plan)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:/tmp/rmpredict-stage/site:$PWD
    PYTHONUNBUFFERED=1 python3 benchmarks/gpu_suite.py --budget-s 480 --out $OUT \\
        2>&1 | tee $OUT/suite.log                                  # timeout_s = budget + 30
    python3 benchmarks/gpu_suite.py --checks ground_truth --budget-s 200 --out $OUT   # a rerun

Here, on the CPU (tiny sizes, every check end to end; bf16-speed targets are not evaluated)::

    .venv/bin/python benchmarks/gpu_suite.py --tiny
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHECKS = ("train", "correctness", "presence", "ground_truth")
# Seconds per check at most (None: whatever is left of the budget). They add up to the default
# budget; a check that finishes early leaves its time to the ones after it.
TIMEOUTS: dict[str, float | None] = {"train": 270, "correctness": 60, "presence": 60,
                                     "ground_truth": None}
MIN_CHECK_S = 15.0
PEAK_TFLOPS = 989.0
DEADLINE_ENV = "GPU_SUITE_DEADLINE"
STAGE = Path(os.environ.get("RMPREDICT_STAGE", "/tmp/rmpredict-stage"))
TRAIN_VARIANTS = ("trl", "rmpredict-padded", "rmpredict-bucketed", "rmpredict-packed",
                  "rmpredict-packed-flex")
VERSIONS = ("torch", "transformers", "accelerate", "tokenizers", "trl", "datasets", "gguf",
            "numpy", "pandas")


# ---- the runner (no torch) ----------------------------------------------------------------------
@dataclass
class Check:
    """One check: a command that writes ``json_path`` (``status`` and a one-line ``summary``)."""

    name: str
    argv: list[str]
    json_path: Path
    timeout_s: float | None = None  # None: the rest of the budget
    env: dict[str, str] | None = None


def _kill_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """End the check's own process group (it was started in a new session): TERM, then KILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_group(argv: list[str], timeout_s: float, *, env: dict[str, str] | None = None,
              cwd: Path = REPO) -> tuple[int | None, str, bool]:
    """Run a command in its own session; return (returncode, output, timed_out)."""
    with tempfile.TemporaryFile("w+") as logf:
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, text=True)
        try:
            rc: int | None = proc.wait(max(timeout_s, 0.1))
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            rc, timed_out = proc.returncode, True
        logf.seek(0)
        return rc, logf.read(), timed_out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(v: Any) -> Any:
    if hasattr(v, "item"):
        return v.item()
    if hasattr(v, "tolist"):
        return v.tolist()
    return str(v)


def run_checks(checks: list[Check], *, budget_s: float, log=print,
               min_s: float = MIN_CHECK_S, grace_s: float = 3.0) -> list[dict[str, Any]]:
    """Run the checks in order under one budget; every check gets a final JSON and a row.

    status: ``ok`` (ran; its targets may still be missed: see its numbers), ``failed``
    (non-zero exit or no JSON), ``timeout`` (killed at its timeout; partial results kept) or
    ``skipped`` (by the check itself, e.g. "needs CUDA", or because the budget ran out).
    """
    t0 = time.monotonic()
    rows: list[dict[str, Any]] = []
    for c in checks:
        left = budget_s - (time.monotonic() - t0) - grace_s
        if left < min_s:
            data = {"status": "skipped", "reason": f"budget exhausted ({max(left, 0):.0f} s left)"}
            write_json(c.json_path, {"check": c.name, **data, "seconds": 0.0})
            rows.append({"check": c.name, **data, "summary": "", "seconds": 0.0})
            log(f"[suite] {c.name}: skipped ({data['reason']})")
            continue
        timeout = left if c.timeout_s is None else min(c.timeout_s, left)
        env = {**os.environ, **(c.env or {}), DEADLINE_ENV: f"{time.time() + timeout:.3f}"}
        with contextlib.suppress(FileNotFoundError):
            c.json_path.unlink()
        log(f"[suite] {c.name}: start (timeout {timeout:.0f} s)")
        start = time.monotonic()
        rc, output, timed_out = run_group(c.argv, timeout, env=env)
        seconds = time.monotonic() - start
        data = _read_json(c.json_path)
        if timed_out:
            status, reason = "timeout", f"killed after {timeout:.0f} s"
        elif rc != 0:
            status, reason = "failed", f"exit code {rc}"
        elif not data:
            status, reason = "failed", "wrote no JSON"
        elif data.get("status") in ("ok", "failed", "skipped"):
            status, reason = data["status"], data.get("reason", "")
        else:
            status, reason = "failed", f"ended with status {data.get('status')!r}"
        tail = output.strip().splitlines()[-40:]
        if status in ("failed", "timeout") and not reason.startswith("exit") and tail:
            reason = reason or tail[-1]
        if status == "failed" and rc not in (0, None) and tail:
            reason = f"{reason}: {tail[-1][:200]}"
        data.update(check=c.name, status=status, reason=reason, seconds=round(seconds, 1),
                    returncode=rc, log_tail=tail)
        write_json(c.json_path, data)
        rows.append({"check": c.name, "status": status, "reason": reason,
                     "summary": data.get("summary", ""), "seconds": round(seconds, 1)})
        log(f"[suite] {c.name}: {status} in {seconds:.1f} s {reason}".rstrip())
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| check | status | key numbers | s |", "|---|---|---|---|"]
    for r in rows:
        status = r["status"] + (f" ({r['reason']})" if r.get("reason") else "")
        lines.append(f"| {r['check']} | {status} | {r.get('summary') or ''} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def environment(device: str) -> dict[str, Any]:
    """Versions (without importing the packages), card and driver, date, CPU count."""
    import importlib.metadata as md
    import platform

    vers = {"python": platform.python_version()}
    for name in VERSIONS:
        try:
            vers[name] = md.version(name)
        except md.PackageNotFoundError:
            vers[name] = None
    env: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "device": device,
                           "versions": vers, "cpus": os.cpu_count(),
                           "platform": platform.platform()}
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20)
        env["gpu"] = smi.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        env["gpu"] = None
    return env


# ---- helpers for the checks --------------------------------------------------------------------
def _deadline() -> float:
    return float(os.environ.get(DEADLINE_ENV, time.time() + 3600))


def _left() -> float:
    return _deadline() - time.time()


def _bench(name: str):
    """Import a sibling benchmark script as a module (their code is reused, not copied)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    if str(REPO) not in sys.path:
        sys.path.insert(1, str(REPO))
    return __import__(name)


class Report:
    """A check's JSON, rewritten after every step so a killed check still reports."""

    def __init__(self, path: Path, **fields: Any):
        self.path = path
        self.data: dict[str, Any] = {"status": "running", **fields}
        self.write()

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        self.write()

    def write(self) -> None:
        write_json(self.path, self.data)


def _child_env(device: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    if device == "cpu":
        env["OMP_NUM_THREADS"] = env.get("OMP_NUM_THREADS", "1")  # shared CPU machines
    return env


def _result_line(output: str) -> dict[str, Any] | None:
    lines = [x for x in output.splitlines() if x.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


# ---- check (a): training throughput ------------------------------------------------------------
def child_train(a: argparse.Namespace, rep: Report) -> None:
    bench = _bench("bench_train_throughput")
    cuda = a.device == "cuda"
    sizes = a.sizes or (["tiny"] if a.tiny else ["1.5b", "0.5b"])
    steps = a.steps or (4 if a.tiny else 20)
    skipped: dict[str, str] = {}
    if not cuda:
        skipped["rmpredict-packed-flex"] = "skipped: needs CUDA (flex_attention kernels)"
    if importlib.util.find_spec("trl") is None or importlib.util.find_spec("datasets") is None:
        skipped["trl"] = "skipped: trl not installed"
    peak = PEAK_TFLOPS if cuda else None
    rows: list[dict[str, Any]] = []
    rep.update(sizes=sizes, steps_per_variant=steps, peak_tflops=peak, rows=rows,
               mfu_formula="6 * non-embedding params * real tok/s / (989e12 FLOP/s)")
    env = _child_env(a.device)
    todo = sum(len(TRAIN_VARIANTS) - len(skipped) for _ in sizes)
    for si, size in enumerate(sizes):
        batch = bench.SIZES[size][1]
        vocab = bench.SIZES[size][0]["vocab_size"]
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = Path(tmp) / "model"
            t0 = time.perf_counter()
            non_emb = bench.build_model_dir(size, model_dir, a.seed)
            pairs = bench.synthetic_pairs(steps * batch, vocab, bench.SIZES[size][2], a.seed)
            pairs_file = Path(tmp) / "pairs.json"
            pairs_file.write_text(json.dumps(pairs))
            rep.update(**{f"build_seconds_{size}": round(time.perf_counter() - t0, 1)})
            for v in TRAIN_VARIANTS:
                row: dict[str, Any] = {"size": size, "batch_pairs": batch, "variant": v,
                                       "non_embedding_params": non_emb}
                if v in skipped:
                    rows.append({**row, "status": skipped[v]})
                    rep.update(rows=rows)
                    continue
                left = _left() - 10
                if left < 15:
                    rows.append({**row, "status": "skipped: check's time used up"})
                    rep.update(rows=rows)
                    continue
                timeout = min(left, max(90.0, 2 * left / max(todo, 1)))
                todo -= 1
                common = ["--size", size, "--model-dir", str(model_dir), "--pairs-file",
                          str(pairs_file), "--batch", str(batch)]
                if v == "rmpredict-padded":
                    cmd = [sys.executable, __file__, "--child", "train-padded", *common]
                else:
                    cmd = [sys.executable, str(HERE / "bench_train_throughput.py"),
                           "--variant", v, *common]
                rc, out, timed_out = run_group(cmd, timeout, env=env)
                r = _result_line(out)
                if timed_out or rc != 0 or r is None:
                    tail = (out.strip().splitlines() or ["?"])[-1][:300]
                    rows.append({**row, "status": "timeout" if timed_out else "failed",
                                 "error": tail})
                    rep.update(rows=rows)
                    continue
                tps = r["real_tokens"] / r["seconds"]
                rows.append({**row, "status": "ok", "real_tok_s": tps,
                             "pairs_s": r["pairs"] / r["seconds"],
                             "mfu": 6 * non_emb * tps / (peak * 1e12) if peak else None,
                             "padding_share": r["padding_share"], "peak_gb": r["peak_gb"],
                             "tokens_per_pair": r["real_tokens"] / r["pairs"],
                             "seconds": r["seconds"], "device": r.get("device")})
                rep.update(rows=rows)
            if si == 0:  # the target size
                targets = _train_targets(rows, size, cuda)
                rep.update(targets=targets)
                best = targets.get("best_variant") or "rmpredict-bucketed"
                if (a.tiny or not all(t["met"] for t in targets["checks"].values())) \
                        and _left() > 40:
                    cmd = [sys.executable, __file__, "--child", "train-profile", "--size", size,
                           "--model-dir", str(model_dir), "--pairs-file", str(pairs_file),
                           "--batch", str(batch), "--variant", best]
                    rc, out, timed_out = run_group(cmd, min(_left() - 15, 120), env=env)
                    prof = _result_line(out)
                    rep.update(profile=prof if prof else {
                        "error": "timeout" if timed_out else
                        (out.strip().splitlines() or ["?"])[-1][:300]})
    ok = [r for r in rows if r.get("status") == "ok"]
    t = rep.data.get("targets", {})
    summ = [f"{r['size']} {r['variant'].replace('rmpredict-', '')} {r['real_tok_s']:,.0f} tok/s"
            + (f" MFU {_pct(r['mfu'])}" if r["mfu"] is not None else "")
            for r in ok if r["size"] == sizes[0]]
    if t.get("speedup_vs_trl") is not None:
        summ.append(f"best/TRL {t['speedup_vs_trl']:.2f}x")
    failed = [r for r in rows if r.get("status") in ("failed", "timeout")]
    rep.update(status="ok" if ok and not failed else "failed",
               reason="" if not failed else f"{len(failed)} variant(s) failed",
               summary="; ".join(summ))


def _train_targets(rows: list[dict[str, Any]], size: str, cuda: bool) -> dict[str, Any]:
    ok = [r for r in rows if r["size"] == size and r.get("status") == "ok"]
    trl = next((r for r in ok if r["variant"] == "trl"), None)
    ours = [r for r in ok if r["variant"] != "trl"]
    best = max(ours, key=lambda r: r["real_tok_s"], default=None)
    speed = best["real_tok_s"] / trl["real_tok_s"] if best and trl else None
    mfu = best["mfu"] if best else None
    mem = (best["peak_gb"], trl["peak_gb"]) if best and trl else None

    def met(cond: bool | None) -> bool | None:
        # GPU targets: on a CPU the numbers are recorded but not judged.
        return None if cond is None or not cuda else bool(cond)

    checks = {
        "real tok/s >= 2.5x TRL": {"value": speed, "met": met(None if speed is None
                                                               else speed >= 2.5)},
        "MFU >= 35%": {"value": mfu, "met": met(None if mfu is None else mfu >= 0.35)},
        "peak memory <= TRL's": {"value": mem, "met": met(None if mem is None
                                                          else mem[0] <= mem[1])},
    }
    note = "" if cuda else ("CPU run: targets are GPU targets; MFU needs a peak FLOP/s, peak "
                            "memory is the process's max RSS")
    return {"size": size, "best_variant": best["variant"] if best else None,
            "speedup_vs_trl": speed, "checks": checks, "note": note}


def child_train_padded(a: argparse.Namespace) -> None:
    """bench_train_throughput's bucketed variant with group_by_length off: random padded batches."""
    bench = _bench("bench_train_throughput")
    import rmpredict.train as rt

    real = rt.train_reward_model

    def padded(cfg, **kw):
        return real(cfg.replace(group_by_length=False), **kw)

    rt.train_reward_model = padded
    res = bench.run_variant("rmpredict-bucketed", a.size, a.model_dir, a.pairs_file, a.batch)
    print("RESULT " + json.dumps(res))


def child_train_profile(a: argparse.Namespace) -> None:
    """One training step of a variant under torch.profiler (after two warm-up steps)."""
    bench = _bench("bench_train_throughput")
    import torch
    from torch.profiler import ProfilerActivity, profile

    from rmpredict.train._model import load_reward_model, pack_batch, pad_batch
    from rmpredict.train._trainer import _bt_loss

    cuda = torch.cuda.is_available()
    dev = torch.device("cuda" if cuda else "cpu")
    attn = "flex_attention" if a.variant.endswith("flex") else "sdpa"
    lm = load_reward_model(a.model_dir, attn_implementation=attn, seed=0)
    model = lm.model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, **({"fused": True} if cuda else {}))
    eos = bench.SIZES[a.size][0]["vocab_size"] - 2
    pairs = json.loads(Path(a.pairs_file).read_text())[: a.batch]
    seqs = [s for p, c, r in pairs for s in (p + c + [eos], p + r + [eos])]
    packed = "packed" in a.variant

    def amp():
        return torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()

    def step() -> None:
        b = pack_batch(seqs, device=dev) if packed else \
            pad_batch(seqs, pad_id=lm.tokenizer.pad_token_id, device=dev)
        with amp():
            loss = _bt_loss(model(**b), None, None) / len(pairs)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()

    for _ in range(2):
        step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=acts) as prof:
        t0 = time.perf_counter()
        step()
        wall = time.perf_counter() - t0
    ka = [e for e in prof.key_averages() if str(getattr(e, "device_type", "CPU")).endswith("CPU")]

    def dev_us(e) -> float:
        for name in ("self_device_time_total", "self_cuda_time_total"):
            if hasattr(e, name):
                return float(getattr(e, name))
        return 0.0

    timer = dev_us if cuda else (lambda e: float(e.self_cpu_time_total))
    total = sum(timer(e) for e in ka) or 1.0
    top = sorted(ka, key=timer, reverse=True)[:15]
    cats: dict[str, float] = {}
    for e in ka:
        k = e.key.lower()
        cat = ("attention" if any(s in k for s in ("attention", "flash", "flex", "sdpa",
                                                   "efficient")) else
               "matmul" if any(s in k for s in ("mm", "matmul", "linear", "gemm")) else
               "optimizer" if any(s in k for s in ("adam", "foreach", "_fused")) else
               "copy/cast" if any(s in k for s in ("copy", "to_copy", "cat", "index")) else
               "other")
        cats[cat] = cats.get(cat, 0.0) + timer(e)
    res = {"variant": a.variant, "size": a.size, "attn": attn, "pairs": len(pairs),
           "tokens": sum(map(len, seqs)), "step_wall_ms": wall * 1e3,
           "timed": "self device (CUDA) time" if cuda else "self CPU time",
           "busy_ms": total / 1e3,
           "device_busy_share": (total / 1e6) / wall if cuda else None,
           "by_category": {k: round(v / total, 3) for k, v in
                           sorted(cats.items(), key=lambda kv: -kv[1])},
           "top_ops": [{"op": e.key, "ms": round(timer(e) / 1e3, 3), "calls": e.count,
                        "share": round(timer(e) / total, 3)} for e in top]}
    print("RESULT " + json.dumps(res))


# ---- check (b): CUDA correctness ---------------------------------------------------------------
def child_correctness(a: argparse.Namespace, rep: Report) -> None:
    bench = _bench("bench_train_throughput")
    import numpy as np
    import torch

    from rmpredict.train._model import load_reward_model, pack_batch, pad_batch
    from rmpredict.train._score import score_sequences
    from rmpredict.train._trainer import _bt_loss

    cuda = a.device == "cuda"
    dev = torch.device(a.device)
    if cuda:  # fp32 comparisons in true fp32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    # The 0.5B width and heads, 4 layers, a 32k vocabulary: real kernel shapes, quick to save.
    bench.SIZES["corr"] = (dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=4,
                                num_attention_heads=14, num_key_value_heads=2,
                                vocab_size=32000), 8, 0.25)
    size = "tiny" if a.tiny else "corr"
    vocab = bench.SIZES[size][0]["vocab_size"]
    eos = vocab - 2
    tol = {"fp32": {"loss_rel": 1e-4, "grad_rel_l2": 1e-3, "score_rel": 1e-4},
           "bf16": {"loss_rel": 2e-2, "grad_rel_l2": 5e-2, "score_rel": 5e-2}}
    rep.update(model=dict(bench.SIZES[size][0]), tolerances=tol, device=a.device)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        mdir = Path(tmp) / "model"
        bench.build_model_dir(size, mdir, 0)
        pairs = bench.synthetic_pairs(8, vocab, bench.SIZES[size][2], seed=1)
        seqs = [s for p, c, r in pairs for s in (p + c + [eos], p + r + [eos])]

        def amp(prec: str):
            return (torch.autocast(dev.type, dtype=torch.bfloat16) if prec == "bf16"
                    else contextlib.nullcontext())

        # 1. packed vs padded: loss and gradients on one batch
        attns = ["sdpa"] + (["flex_attention"] if cuda else [])
        for attn in attns:
            lm = load_reward_model(str(mdir), attn_implementation=attn, seed=0)
            model = lm.model.to(dev).train()
            pad_id = lm.tokenizer.pad_token_id
            for prec in ("fp32", "bf16"):
                def loss_grads(packed: bool, prec=prec, model=model, pad_id=pad_id):
                    model.zero_grad(set_to_none=True)
                    b = pack_batch(seqs, device=dev) if packed else \
                        pad_batch(seqs, pad_id=pad_id, device=dev)
                    with amp(prec):
                        loss = _bt_loss(model(**b), None, None)
                    loss.backward()
                    g = torch.cat([p.grad.detach().float().flatten()
                                   for p in model.parameters() if p.grad is not None])
                    return float(loss), g

                lp, gp = loss_grads(False)
                lk, gk = loss_grads(True)
                m = {"loss_padded": lp, "loss_packed": lk,
                     "loss_rel": abs(lk - lp) / max(abs(lp), 1e-12),
                     "grad_rel_l2": float((gk - gp).norm() / gp.norm().clamp_min(1e-30)),
                     "grad_cosine": float(torch.nn.functional.cosine_similarity(gk, gp, dim=0)),
                     "grad_max_abs": float((gk - gp).abs().max())}
                m["pass"] = m["loss_rel"] <= tol[prec]["loss_rel"] and \
                    m["grad_rel_l2"] <= tol[prec]["grad_rel_l2"]
                results[f"packed_vs_padded/{attn}/{prec}"] = m
                rep.update(results=results)
            del model, lm
        # 2. scores at batch size 1 vs 16, left vs right padding
        lm = load_reward_model(str(mdir), attn_implementation="sdpa", seed=0)
        model = lm.model.to(dev).eval()
        more = bench.synthetic_pairs(16, vocab, bench.SIZES[size][2], seed=2)
        sseqs = [s for p, c, r in more for s in (p + c + [eos], p + r + [eos])]
        for prec in ("fp32", "bf16"):
            ac = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if prec == "bf16" \
                else None
            kw = dict(pad_id=lm.tokenizer.pad_token_id, device=dev, autocast=ac)
            ref = score_sequences(model, sseqs, batch_size=1, padding_side="right", **kw)[:, 0]
            scale = max(float(np.std(ref)), 1e-12)
            for bs, side in ((16, "right"), (1, "left"), (16, "left")):
                got = score_sequences(model, sseqs, batch_size=bs, padding_side=side, **kw)[:, 0]
                d = float(np.abs(got - ref).max())
                flips = int(np.sum((got[0::2] > got[1::2]) != (ref[0::2] > ref[1::2])))
                results[f"scores/{prec}/bs{bs}-{side}_vs_bs1-right"] = {
                    "max_abs": d, "rel_to_std": d / scale, "score_std": scale,
                    "pair_decisions_flipped": flips,
                    "pass": d / scale <= tol[prec]["score_rel"]}
            rep.update(results=results)
        del model, lm
        # 3. stopped after 3 of 6 steps and resumed: the loss curve continues the full run's
        results["resume"] = _resume_check(bench, mdir, size, cuda, tmp)
        rep.update(results=results)
    bad = [k for k, v in results.items() if not v.get("pass")]
    rep.update(status="ok" if not bad else "failed",
               reason="" if not bad else "outside tolerance: " + ", ".join(bad),
               summary=f"{len(results) - len(bad)}/{len(results)} within tolerance"
               + (f"; resume max loss diff {results['resume']['max_loss_diff']:.1e}"))


def _resume_check(bench, mdir: Path, size: str, cuda: bool, tmp: str) -> dict[str, Any]:
    import pandas as pd

    from rmpredict.train import TrainConfig, train_reward_model

    vocab = bench.SIZES[size][0]["vocab_size"]
    eos = vocab - 2
    batch = 4
    pairs = bench.synthetic_pairs(6 * batch, vocab, bench.SIZES[size][2], seed=3)
    frame = pd.DataFrame({"chosen_ids": [p + c + [eos] for p, c, _ in pairs],
                          "rejected_ids": [p + r + [eos] for p, _, r in pairs]})

    def cfg(out: str, **kw) -> TrainConfig:
        return TrainConfig(base_model=str(mdir), output_dir=out, learning_rate=1e-4,
                           global_batch_size=batch, per_device_batch_size=batch, warmup_steps=1,
                           eval_every=1, save_every=3, max_length=bench.MAX_SEQ,
                           chat_template="none", seed=0, packing="on",
                           mixed_precision="bf16" if cuda else "no", **kw)

    t0 = time.perf_counter()
    full = train_reward_model(cfg(f"{tmp}/full"), train_data=frame, eval_data=frame.iloc[:4])
    part = cfg(f"{tmp}/part", max_steps=3)
    train_reward_model(part, train_data=frame, eval_data=frame.iloc[:4])
    resumed = train_reward_model(part.replace(max_steps=None, resume_from="auto"),
                                 train_data=frame, eval_data=frame.iloc[:4])
    a = [h["loss"] for h in full.history]
    b = [h["loss"] for h in resumed.history]
    wa, wb = _last_weights(Path(tmp, "full")), _last_weights(Path(tmp, "part"))
    wdiff = (max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)
             if wa is not None and wb is not None else None)
    diff = max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) else math.inf
    limit = 1e-3 if cuda else 1e-6
    return {"full_losses": a, "resumed_losses": b,
            "steps": [h["step"] for h in resumed.history], "max_loss_diff": diff,
            "final_weight_max_abs_diff": wdiff, "tolerance": limit,
            "mixed_precision": "bf16" if cuda else "no",
            "seconds": round(time.perf_counter() - t0, 1),
            "pass": len(a) == len(b) == 6 and diff <= limit}


def _last_weights(out: Path) -> dict[str, Any] | None:
    """Model weights of a run's last checkpoint (either checkpoint format), or None."""
    import torch

    ckpt = out / "checkpoint-last"
    try:
        from rmpredict.train._checkpoint import read_checkpoint

        return read_checkpoint(ckpt).model
    except Exception:  # noqa: BLE001 - older layout, or another format
        pass
    try:
        return torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False)["model"]
    except Exception:  # noqa: BLE001 - weights are a bonus; the loss curve is the check
        return None


# ---- check (c): presence scoring ---------------------------------------------------------------
def child_presence(a: argparse.Namespace, rep: Report) -> None:
    pres = _bench("bench_presence_throughput")
    import torch


    cuda = a.device == "cuda"
    dev = torch.device(a.device)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
    models = ["tiny"] if a.tiny else ["qwen2.5-0.5b", "qwen2.5-1.5b"]
    n_docs, length = (4, 256) if a.tiny else (8, 2048)
    repeats = 1 if a.tiny else 3
    rows: list[dict[str, Any]] = []
    rep.update(docs=n_docs, tokens_per_doc=length, dtype="bfloat16", repeats=repeats, rows=rows,
               memory="torch.cuda.max_memory_allocated per mode (weights included)" if cuda
               else "n/a on CPU (no per-mode peak)")
    for name in models:
        if _left() < 20:
            rows.append({"model": name, "status": "skipped: check's time used up"})
            continue
        try:
            rows.append(_presence_model(pres, name, dev, n_docs, length, repeats, a.seed))
        except Exception as exc:  # noqa: BLE001 - e.g. out of memory: report, go on
            rows.append({"model": name, "status": "failed", "error": repr(exc)[:300]})
        rep.update(rows=rows)
        if cuda:
            torch.cuda.empty_cache()
    ok = [r for r in rows if r.get("status") == "ok"]
    summ = "; ".join(
        f"{r['model']} chunked {r['chunked_tok_s']:,.0f} tok/s "
        f"({r['chunked_vs_naive_tok_s']:.2f}x naive"
        + (f", {r['chunked_vs_naive_peak']:.2f}x mem" if r['chunked_vs_naive_peak'] else "")
        + f", {r['chunked_max_abs_vs_fp32']:.1e} nats)" for r in ok)
    bad = [r["model"] for r in rows if r.get("status") == "failed"]
    rep.update(status="ok" if ok and not bad else "failed", summary=summ,
               reason="" if ok and not bad else f"failed: {', '.join(bad) or 'all'}")


def _presence_model(pres, name: str, dev, n_docs: int, length: int, repeats: int,
                    seed: int) -> dict[str, Any]:
    """One model: fp32 reference, then body / naive / chunked in bf16 (time, memory, error)."""
    import numpy as np
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from rmpredict.datadist import ScoreConfig, score_token_ids

    cuda = dev.type == "cuda"
    torch.manual_seed(seed)
    cfg = Qwen2Config(**pres.CONFIGS[name], max_position_embeddings=max(4096, length + 1),
                      attn_implementation="sdpa")
    with torch.device(dev):
        model = Qwen2ForCausalLM(cfg).eval()
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(0, cfg.vocab_size, size=length).tolist() for _ in range(n_docs)]
    predicted = n_docs * (length - 1)
    sc = ScoreConfig(max_tokens=length, batch_tokens=n_docs * length, head_chunk=512)
    ids = torch.tensor(seqs, device=dev)
    mask = torch.ones_like(ids)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)

    def chunked():
        s, c = score_token_ids(model, seqs, config=sc)
        return s / c

    def naive():
        with torch.inference_mode():
            logits = model(input_ids=ids, attention_mask=mask, position_ids=pos,
                           use_cache=False).logits
            lp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
            lp = lp.gather(-1, ids[:, 1:, None]).squeeze(-1)
            return (lp.double().sum(-1) / (length - 1)).cpu().numpy()

    def body():
        with torch.inference_mode():
            model.base_model(input_ids=ids, attention_mask=mask, position_ids=pos,
                             use_cache=False)

    ref = chunked()  # float32 weights and softmax: the reference
    model.to(torch.bfloat16)
    row: dict[str, Any] = {"model": name, "params_b": sum(p.numel() for p in
                                                          model.parameters()) / 1e9,
                           "predicted_tokens": predicted}
    for label, fn in (("body", body), ("naive", naive), ("chunked", chunked)):
        out = fn()  # warm-up
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            if cuda:
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        row[f"{label}_tok_s"] = predicted / best
        row[f"{label}_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
        if label != "body":
            row[f"{label}_max_abs_vs_fp32"] = float(np.abs(np.asarray(out) - ref).max())
    row["chunked_vs_naive_tok_s"] = row["chunked_tok_s"] / row["naive_tok_s"]
    row["chunked_vs_body_tok_s"] = row["chunked_tok_s"] / row["body_tok_s"]
    row["naive_vs_body_tok_s"] = row["naive_tok_s"] / row["body_tok_s"]
    mem = (row["chunked_peak_gb"] / row["naive_peak_gb"]) if cuda else None
    row["chunked_vs_naive_peak"] = mem
    row["targets"] = {
        "chunked >= 0.9x naive tok/s": row["chunked_vs_naive_tok_s"] >= 0.9 if cuda
        else None,
        "chunked peak <= 1/3 naive": None if mem is None else mem <= 1 / 3,
        "|chunked - fp32| <= 1e-3 nats/token": row["chunked_max_abs_vs_fp32"] <= 1e-3}
    row["status"] = "ok"
    return row


# ---- check (d): ground truth from the staged bases ---------------------------------------------
GT_BASES = ("smollm2-135m", "gemma3-270m")


def child_ground_truth(a: argparse.Namespace, rep: Report) -> None:
    site = Path(a.stage) / "site"
    if site.is_dir() and str(site) not in sys.path:
        sys.path.insert(0, str(site))  # the staged weights, laid out like the PyPI packages
    import torch

    from rmpredict import study
    from rmpredict.study._bases import PACKAGED_BASES, _source_files

    cuda = a.device == "cuda"
    messages: list[str] = []

    def log(msg: str) -> None:
        messages.append(msg)
        print(msg, flush=True)
        rep.update(log=messages[-60:])

    if cuda:
        # The study's bench stage leaves the model on the CPU (rmpredict/study/_pipeline.py
        # `_bench_one` passes no device to score_choices); point it at the GPU here.
        import rmpredict.study._multiple_choice as mc

        original = mc.score_choices

        def on_gpu(model, tok, items, **kw):
            kw.setdefault("device", "cuda")
            return original(model, tok, items, **kw)

        mc.score_choices = on_gpu
    if a.tiny:
        models, preset, note = ["tiny-prose"], "tiny", (
            "CPU variant: the study's tiny preset with one tiny self-pretrained ladder model "
            "(no staged weights on this machine); the GPU run uses the gpu preset with the "
            "staged GGUF bases")
    else:
        models, preset, note = [], "gpu", "study gpu preset, staged GGUF bases"
    avail: dict[str, str] = {}
    if not a.tiny:
        for key in GT_BASES:
            try:
                _source_files(PACKAGED_BASES[key])
                avail[key] = "staged"
                models.append(key)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                avail[key] = f"skipped: {exc}"
        if models and importlib.util.find_spec("gguf") is None:
            avail = {k: "skipped: gguf not installed (carry its wheel)" for k in avail}
            models = []
    rep.update(preset=preset, note=note, models=models, availability=avail,
               bench_on_gpu_workaround=cuda, stage_site=str(site))
    if not models:
        rep.update(status="skipped", reason="no staged base weights (run stage_weights.py)",
                   summary="")
        return
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="rmpredict-study-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "study.json").is_file():  # else: a rerun resumes the run in `work`
        study.write_study_config(work, study.study_config_preset(preset, models=models))
    done: list[str] = []
    timings: dict[str, dict[str, float]] = {}
    stages = (("prepare", lambda k: study.prepare(work, models=[k], log=log)),
              ("bench", lambda k: study.run_bench(work, models=[k], log=log)),
              ("train", lambda k: study.run_train(work, models=[k], log=log)),
              ("score", lambda k: study.run_score(work, models=[k], log=log)),
              ("presence", lambda k: study.run_presence(work, models=[k], log=log)))
    for key in models:
        if _left() < 45:
            avail[key] = "skipped: check's time used up"
            continue
        timings[key] = {}
        try:
            for stage, fn in stages:
                t0 = time.perf_counter()
                fn(key)
                timings[key][stage] = round(time.perf_counter() - t0, 1)
                rep.update(timings=timings, availability=avail)
        except Exception as exc:  # noqa: BLE001 - reported; the next model still runs
            avail[key] = f"failed in {stage}: {exc!r}"[:400]
            rep.update(availability=avail)
            continue
        done.append(key)
        table = study.collect(work, models=done)
        rep.update(done=done, results=table.drop(columns=["record"], errors="ignore")
                   .to_dict(orient="records"))
        _pack_records(work, Path(a.out) / "ground_truth_records.tgz")
    records = {k: json.loads((work / "records" / f"{k}.json").read_text()) for k in done}
    rep.update(work=str(work), records_tgz="ground_truth_records.tgz",
               cuda=cuda, gpu=torch.cuda.get_device_name(0) if cuda else None,
               seed=study.read_study_config(work).seed,
               config=study.read_study_config(work).to_dict(),
               overall={k: _overall(r) for k, r in records.items()})
    failed = [k for k, v in avail.items() if v.startswith("failed")]
    rep.update(status="ok" if done and not failed else "failed",
               summary=", ".join(f"{k}: {v}" for k, v in rep.data["overall"].items()),
               reason="" if done and not failed else
               "; ".join(avail[k] for k in failed) or "no model finished")


def _overall(record: dict[str, Any]) -> str:
    """The record's overall held-out score (RewardBench-style mean of sections)."""
    score = record.get("score")
    return f"score {score:.3f}" if isinstance(score, int | float) else "done"


def _pack_records(work: Path, target: Path) -> None:
    """The small outputs of a study run (records, table, stage summaries) in one archive."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with tarfile.open(tmp, "w:gz") as tar:
        for pattern in ("study.json", "results.csv", "records/*.json", "bench/*.json",
                        "score/*.json", "presence/*.json", "rm/*/record.json",
                        "bases/*/base.json"):
            for p in sorted(work.glob(pattern)):
                tar.add(p, arcname=str(p.relative_to(work)))
    os.replace(tmp, target)


# ---- main --------------------------------------------------------------------------------------
CHILDREN = {"train": child_train, "correctness": child_correctness,
            "presence": child_presence, "ground_truth": child_ground_truth}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="total seconds for all checks (default 540)")
    ap.add_argument("--out", default=None,
                    help="folder for the JSONs (default $OUT if set, else out/gpu_suite)")
    ap.add_argument("--checks", default=",".join(CHECKS),
                    help=f"comma-separated subset of {','.join(CHECKS)}")
    ap.add_argument("--tiny", action="store_true",
                    help="tiny sizes (implied by --device cpu): exercise every check on a CPU")
    ap.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    ap.add_argument("--steps", type=int, default=None,
                    help="train: optimizer steps per variant (default 20; tiny 4)")
    ap.add_argument("--sizes", nargs="+", default=None,
                    help="train: sizes of bench_train_throughput (default 1.5b 0.5b; tiny)")
    ap.add_argument("--stage", default=str(STAGE),
                    help="staging folder of stage_weights.py (default /tmp/rmpredict-stage)")
    ap.add_argument("--work", default=None,
                    help="ground_truth: study work dir (default /tmp/rmpredict-study-gpu on a "
                         "GPU, a fresh temporary one with --tiny)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--size", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    ap.add_argument("--pairs-file", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    if a.child == "train-padded":
        child_train_padded(a)
        return 0
    if a.child == "train-profile":
        child_train_profile(a)
        return 0
    if a.child:
        rep = Report(Path(a.json), check=a.child, device=a.device, tiny=a.tiny)
        CHILDREN[a.child](a, rep)
        return 0

    checks = [c.strip() for c in a.checks.split(",") if c.strip()]
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        print(f"gpu_suite: unknown check(s) {unknown}; use {','.join(CHECKS)}", file=sys.stderr)
        return 2
    if a.device == "auto":
        import torch

        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if a.device == "cpu":
        a.tiny = True
    out = Path(a.out or os.environ.get("OUT") or REPO / "out" / "gpu_suite")
    out.mkdir(parents=True, exist_ok=True)
    env_info = environment(a.device)
    print(f"[suite] {env_info['date']}; device {a.device} {env_info.get('gpu') or ''}; "
          + ", ".join(f"{k} {v}" for k, v in env_info["versions"].items() if v)
          + f"; budget {a.budget_s:.0f} s; out {out}", flush=True)
    work = a.work or (None if a.tiny else "/tmp/rmpredict-study-gpu")
    base = [sys.executable, str(Path(__file__).resolve()), "--device", a.device, "--out",
            str(out), "--stage", a.stage, "--seed", str(a.seed)]
    base += ["--tiny"] if a.tiny else []
    base += ["--steps", str(a.steps)] if a.steps else []
    base += ["--sizes", *a.sizes] if a.sizes else []
    base += ["--work", work] if work else []
    # Per-check caps scale with the budget (at least 1x on a CPU, where tiny checks are slower
    # to start than they are to run).
    scale = a.budget_s / 540.0 if not a.tiny else max(a.budget_s / 540.0, 1.0)

    def cap(name: str) -> float | None:
        return None if TIMEOUTS[name] is None else TIMEOUTS[name] * scale

    todo = [Check(name, [*base, "--child", name, "--json", str(out / f"{name}.json")],
                  out / f"{name}.json", cap(name), env=_child_env(a.device))
            for name in checks]
    t0 = time.monotonic()
    rows = run_checks(todo, budget_s=a.budget_s, log=lambda m: print(m, flush=True))
    table = format_table(rows)
    write_json(out / "summary.json", {"environment": env_info, "budget_s": a.budget_s,
                                      "wall_s": round(time.monotonic() - t0, 1),
                                      "tiny": a.tiny, "checks": rows, "table": table})
    print("\n" + table, flush=True)
    n_files = sum(1 for p in out.rglob("*") if p.is_file())
    if n_files > 8:
        print(f"[suite] note: {n_files} files in {out}; a device call returns at most 8",
              flush=True)
    return 0 if all(r["status"] in ("ok", "skipped") for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
