"""Presence-scoring throughput vs the plain forward pass of the same model, side by side.

Random-initialised Qwen2.5-0.5B / 1.5B configurations (weights do not change the speed) score
random token sequences with :func:`rmpredict.datadist.score_token_ids` (transformer body +
chunked LM head + float32 log-softmax), and the same batches go through the body alone
(``model.base_model``, no LM head) as the baseline. Throughput is real (non-padding) tokens per
second; the issue asks for scoring >= 70% of the forward pass in bf16 on a GPU.

    python benchmarks/bench_presence_throughput.py                 # GPU, 0.5B and 1.5B, bf16
    python benchmarks/bench_presence_throughput.py --tiny --dtype float32   # CPU smoke run

Prints one table row per model: docs, tokens, forward tok/s, scoring tok/s, ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CONFIGS = {
    # Qwen2.5-0.5B and -1.5B architecture (from their published config.json).
    "qwen2.5-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True),
    "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                         tie_word_embeddings=True),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, vocab_size=151936,
                 tie_word_embeddings=True),
}


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(name: str, *, dtype: str, device: str, n_docs: int, max_tokens: int,
        batch_tokens: int, seed: int, repeats: int, head_chunk: int = 512) -> dict:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from rmpredict.datadist import ScoreConfig, score_token_ids
    from rmpredict.datadist._score import make_batches

    torch.manual_seed(seed)
    cfg = Qwen2Config(**CONFIGS[name], max_position_embeddings=max(4096, max_tokens + 1),
                      attn_implementation="sdpa")
    model = Qwen2ForCausalLM(cfg).to(device=device, dtype=getattr(torch, dtype)).eval()
    dev = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    # Document lengths like a probe corpus: many under N, a share truncated at N.
    lengths = np.minimum(rng.lognormal(np.log(max_tokens * 0.6), 0.6, n_docs).astype(int) + 2,
                         max_tokens + 1)
    seqs = [rng.integers(0, cfg.vocab_size, size=int(n)).tolist() for n in lengths]
    real_tokens = int(sum(n - 1 for n in lengths))  # predicted tokens per pass
    sc = ScoreConfig(max_tokens=max_tokens, batch_tokens=batch_tokens, head_chunk=head_chunk)

    def forward_only():
        # The same batches, padding and masks, through the body alone.
        with torch.inference_mode():
            for idx in make_batches([len(s) for s in seqs], batch_tokens=batch_tokens):
                width = max(len(seqs[i]) for i in idx)
                ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros_like(ids)
                for r, i in enumerate(idx):
                    ids[r, : len(seqs[i])] = torch.tensor(seqs[i])
                    mask[r, : len(seqs[i])] = 1
                ids, mask = ids.to(dev), mask.to(dev)
                pos = (mask.cumsum(-1) - 1).clamp(min=0)
                model.base_model(input_ids=ids, attention_mask=mask, position_ids=pos,
                                 use_cache=False)

    def scoring():
        score_token_ids(model, seqs, config=sc)

    timings = {}
    for label, fn in (("forward", forward_only), ("score", scoring)):
        fn()  # warm-up (kernels, allocator)
        _sync(torch, dev)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            _sync(torch, dev)
            best = min(best, time.perf_counter() - t0)
        timings[label] = best
    params = sum(p.numel() for p in model.parameters()) / 1e9
    model = None  # free the weights before the next configuration
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return {"model": name, "params_b": params, "docs": n_docs, "tokens": real_tokens,
            "forward_tok_s": real_tokens / timings["forward"],
            "score_tok_s": real_tokens / timings["score"],
            "ratio": timings["forward"] / timings["score"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="tiny config only (CPU smoke run)")
    ap.add_argument("--models", nargs="+", default=None, choices=sorted(CONFIGS))
    ap.add_argument("--dtype", default="bfloat16", choices=("bfloat16", "float32", "float16"))
    ap.add_argument("--device", default=None)
    ap.add_argument("--docs", type=int, default=None, help="documents (default 256; tiny 32)")
    ap.add_argument("--max-tokens", type=int, default=None, help="N (default 2048; tiny 256)")
    ap.add_argument("--batch-tokens", type=int, default=None,
                    help="token budget per batch (default 65536; tiny 4096)")
    ap.add_argument("--head-chunk", type=int, default=512, help="LM-head positions per chunk")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    models = args.models or (["tiny"] if args.tiny else ["qwen2.5-0.5b", "qwen2.5-1.5b"])
    small = args.tiny
    docs = args.docs or (32 if small else 256)
    max_tokens = args.max_tokens or (256 if small else 2048)
    batch_tokens = args.batch_tokens or (4096 if small else 65536)
    where = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"device {where}; torch {torch.__version__}; dtype {args.dtype}; N={max_tokens}; "
          f"batch_tokens={batch_tokens}; head_chunk={args.head_chunk}; best of {args.repeats}")
    print(f"{'model':14s} {'params_b':>8s} {'docs':>5s} {'tokens':>8s} {'forward tok/s':>14s} "
          f"{'score tok/s':>12s} {'ratio':>6s}")
    for name in models:
        r = run(name, dtype=args.dtype, device=device, n_docs=docs, max_tokens=max_tokens,
                batch_tokens=batch_tokens, seed=args.seed, repeats=args.repeats,
                head_chunk=args.head_chunk)
        print(f"{r['model']:14s} {r['params_b']:8.3f} {r['docs']:5d} {r['tokens']:8d} "
              f"{r['forward_tok_s']:14.0f} {r['score_tok_s']:12.0f} {r['ratio']:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
