"""The throughput benchmark runs end to end on CPU with the tiny configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train_throughput.py"


def test_benchmark_tiny_config(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--size", "tiny", "--steps", "3",
                           "--json-out", str(out)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "| model, batch | variant | real tok/s" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    by = {r["variant"]: r for r in rows}
    assert {"rmpredict-packed", "rmpredict-bucketed"} <= set(by)
    assert by["rmpredict-packed"]["padding_share"] == 0.0
    assert 0.0 < by["rmpredict-bucketed"]["padding_share"] < 1.0
    # Every variant trained on the same pairs (same real tokens per pair).
    assert len({round(r["tokens_per_pair"], 6) for r in rows}) == 1
    assert all(r["real_tok_s"] > 0 and r["peak_gb"] > 0 for r in rows)
