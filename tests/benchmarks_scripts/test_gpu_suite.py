"""benchmarks/stage_weights.py (split, carry, assemble) and benchmarks/gpu_suite.py's runner.

Standard library only (plus pytest): no torch, no network; tiny files and fake checks.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


sw = _load("stage_weights")
gs = _load("gpu_suite")


# ---- stage_weights ---------------------------------------------------------------------------
@pytest.fixture
def sources(tmp_path):
    rng = __import__("random").Random(0)
    a, b = tmp_path / "src" / "a.bin", tmp_path / "src" / "b.bin"
    a.parent.mkdir()
    a.write_bytes(rng.randbytes(10_000))
    b.write_bytes(rng.randbytes(3_333))
    return [(a, "pkg_a/data/a.part00"), (b, "pkg_b/b.gguf")]


def _quiet(_msg: str) -> None:
    pass


def test_split_receive_assemble_round_trip(tmp_path, sources):
    outbox, stage = tmp_path / "outbox", tmp_path / "stage"
    m = sw.split("art", sources, outbox, part_bytes=1024)
    assert len(m["parts"]) == 14  # ceil(13,333 / 1,024)
    assert all(p["size"] <= 1024 for p in m["parts"])
    assert sum(p["size"] for p in m["parts"]) == m["size"] == 13_333
    stream = b"".join(p.read_bytes() for p, _ in sources)
    assert m["sha256"] == __import__("hashlib").sha256(stream).hexdigest()

    rep = sw.receive(outbox, stage, log=_quiet)
    assert rep["art"]["assembled"] == "assembled"
    for src, layout in sources:
        assert (stage / "site" / layout).read_bytes() == src.read_bytes()
    # Idempotent: nothing is copied or rebuilt twice.
    again = sw.receive(outbox, stage, log=_quiet)
    assert again["art"]["received"] == [] and len(again["art"]["already"]) == 14
    assert again["art"]["assembled"] == "already assembled"
    assert sw.status(stage, outbox, log=_quiet)["art"]["staged"] == "assembled"


def test_parts_carried_over_consecutive_calls(tmp_path, sources):
    """Each call carries the manifest and one part; the stage fills up, then assembles."""
    outbox, stage = tmp_path / "outbox", tmp_path / "stage"
    m = sw.split("art", sources, outbox, part_bytes=5_000)
    assert len(m["parts"]) == 3
    for i, part in enumerate(m["parts"]):
        call = tmp_path / f"call{i}" / "art"  # what one device call's carried folder holds
        call.mkdir(parents=True)
        for f in (sw.MANIFEST, part["file"]):
            (call / f).write_bytes((outbox / "art" / f).read_bytes())
        rep = sw.receive(call.parent, stage, log=_quiet)
        assert rep["art"]["received"] == [part["file"]]
        last = i == len(m["parts"]) - 1
        assert rep["art"]["assembled"] == ("assembled" if last else
                                           f"waiting for {2 - i} of 3 parts")
    assert (stage / "site" / "pkg_b" / "b.gguf").read_bytes() == sources[1][0].read_bytes()


def test_sha_mismatch_is_detected(tmp_path, sources):
    outbox, stage = tmp_path / "outbox", tmp_path / "stage"
    sw.split("art", sources, outbox, part_bytes=4_096)
    part = outbox / "art" / "part-001"
    data = bytearray(part.read_bytes())
    data[7] ^= 0xFF
    part.write_bytes(bytes(data))
    with pytest.raises(sw.StageError, match="part-001: sha256"):
        sw.receive(outbox, stage, log=_quiet)
    assert not (stage / "art" / "parts" / "part-001").exists()  # never staged

    # A staged part damaged after the check (same size) is caught when assembling, and no
    # half-built file is left behind.
    sw.split("art", sources, outbox, part_bytes=4_096)
    sw.receive(outbox, stage, assemble_complete=False, log=_quiet)
    staged = stage / "art" / "parts" / "part-002"
    staged.write_bytes(bytes(b ^ 1 for b in staged.read_bytes()))
    with pytest.raises(sw.StageError, match="sha256"):
        sw.assemble(stage, log=_quiet)
    assert not list((stage / "site").rglob("*.tmp"))
    assert not (stage / "site" / "pkg_b" / "b.gguf").exists()


def test_staged_layout_is_found_like_an_installed_package(tmp_path, monkeypatch):
    """rmpredict.study finds the staged SmolLM2 file through PYTHONPATH=STAGE/site."""
    pytest.importorskip("rmpredict.study._bases")
    from rmpredict.study._bases import PACKAGED_BASES, _source_files

    base = PACKAGED_BASES["smollm2-135m"]
    (mod, rel), = base.files
    src = tmp_path / "fake.gguf"
    src.write_bytes(b"GGUF" + bytes(100))
    outbox, stage = tmp_path / "outbox", tmp_path / "stage"
    sw.split("smollm2-135m", [(src, f"{mod}/{rel}")], outbox, part_bytes=64)
    sw.receive(outbox, stage, log=_quiet)
    monkeypatch.syspath_prepend(str(stage / "site"))
    assert _source_files(base) == [stage / "site" / mod / rel]


def test_split_cli_needs_a_source(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sw.main(["--outbox", str(tmp_path), "split"])
    f = tmp_path / "x.bin"
    f.write_bytes(b"0123456789")
    assert sw.main(["--outbox", str(tmp_path / "o"), "split", "--name", "x", str(f),
                    "--part-mib", "61"]) == 1  # parts must stay <= 60 MiB
    assert "60 MiB" in capsys.readouterr().err
    assert sw.main(["--outbox", str(tmp_path / "o"), "split", "--name", "x", str(f),
                    "--part-bytes", "4"]) == 0
    assert len(json.loads((tmp_path / "o" / "x" / "manifest.json").read_text())["parts"]) == 3


# ---- gpu_suite runner ------------------------------------------------------------------------
def _py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _writer(path: Path, status: str, summary: str, then: str = "") -> list[str]:
    return _py(f"import json, time; json.dump({{'status': {status!r}, 'summary': {summary!r}}}, "
               f"open({str(path)!r}, 'w')); {then}")


def _pid_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie waiting for init is dead too


def test_runner_reports_failed_and_timed_out_checks_and_runs_the_rest(tmp_path):
    j = {n: tmp_path / f"{n}.json" for n in ("first", "crash", "hang", "last")}
    pid_file = tmp_path / "grandchild.pid"
    hang = _py("import json, subprocess, sys, time; "
               f"json.dump({{'status': 'running', 'rows': [1]}}, open({str(j['hang'])!r}, 'w')); "
               "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
               f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    checks = [
        gs.Check("first", _writer(j["first"], "ok", "x=1"), j["first"], timeout_s=20),
        gs.Check("crash", _py("raise SystemExit('boom: broken check')"), j["crash"],
                 timeout_s=20),
        gs.Check("hang", hang, j["hang"], timeout_s=1.5),
        gs.Check("last", _writer(j["last"], "skipped", "", "print('needs CUDA')"), j["last"]),
    ]
    t0 = time.monotonic()
    rows = gs.run_checks(checks, budget_s=60, log=_quiet, min_s=1)
    assert time.monotonic() - t0 < 15
    assert [r["status"] for r in rows] == ["ok", "failed", "timeout", "skipped"]
    assert rows[0]["summary"] == "x=1"
    assert "boom: broken check" in rows[1]["reason"]
    crash = json.loads(j["crash"].read_text())
    assert crash["status"] == "failed" and crash["returncode"] == 1
    hung = json.loads(j["hang"].read_text())
    assert hung["status"] == "timeout" and hung["rows"] == [1]  # partial results kept
    assert rows[2]["seconds"] < 8
    # The timed-out check's whole process group was ended, its own child included.
    pid = int(pid_file.read_text())
    for _ in range(50):
        if _pid_gone(pid):
            break
        time.sleep(0.1)
    assert _pid_gone(pid)
    table = gs.format_table(rows)
    assert "| hang | timeout (killed after" in table and "| first | ok | x=1 |" in table


def test_runner_skips_checks_once_the_budget_is_spent(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    checks = [gs.Check("slow", _py("import time; time.sleep(30)"), a),
              gs.Check("next", _writer(b, "ok", ""), b)]
    rows = gs.run_checks(checks, budget_s=2.5, log=_quiet, min_s=1, grace_s=0.5)
    assert [r["status"] for r in rows] == ["timeout", "skipped"]
    assert "budget exhausted" in json.loads(b.read_text())["reason"]


def test_runner_flags_a_check_that_exits_cleanly_without_finishing(tmp_path):
    j = tmp_path / "c.json"
    rows = gs.run_checks([gs.Check("c", _writer(j, "running", ""), j),
                          gs.Check("d", _py("pass"), tmp_path / "d.json")],
                         budget_s=30, log=_quiet, min_s=1)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert rows[0]["reason"] == "ended with status 'running'"
    assert rows[1]["reason"] == "wrote no JSON"


def test_suite_rejects_unknown_checks(capsys):
    assert gs.main(["--checks", "train,nope", "--out", os.devnull]) == 2
    assert "nope" in capsys.readouterr().err
