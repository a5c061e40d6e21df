"""Reward-model training throughput: TRL's RewardTrainer vs rmpredict's trainer.

Random-initialised Qwen2.5-architecture models (no weights needed) are trained on synthetic
pairs whose token lengths follow preference data (anchors-measured.md, section 3: prompt ~250 and
responses ~350 tokens, log-normal, about 1,540 tokens per pair with the prompt in both sequences).
Every variant sees exactly the same token ids (one epoch over the same pairs, same batch size in
pairs) and runs in its own process, so its peak memory and timings are its own.

Figure of merit: real (non-padding) tokens per second. MFU = 6 * non-embedding params * real
tokens/s / peak FLOP/s (989 TFLOP/s dense bf16 for H100/H200; give --peak-tflops elsewhere).

Examples
--------
GPU (both sizes, all variants, under 8 minutes on one H100/H200)::

    python benchmarks/bench_train_throughput.py --size 0.5b 1.5b --steps 30

CPU smoke test::

    python benchmarks/bench_train_throughput.py --size tiny --steps 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name -> (Qwen2 config kwargs, default batch in pairs, length scale)
SIZES = {
    "tiny": (dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, vocab_size=4096), 4, 0.1),
    "0.5b": (dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                  num_attention_heads=14, num_key_value_heads=2, vocab_size=151936), 8, 1.0),
    "1.5b": (dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                  num_attention_heads=12, num_key_value_heads=2, vocab_size=151936), 4, 1.0),
}
VARIANTS = ("trl", "rmpredict-packed", "rmpredict-bucketed", "rmpredict-packed-flex")
# packed: one row per micro-batch, sdpa with the block-diagonal mask transformers derives from
#   the position ids (dense: attention cost grows with the square of the packed length);
# packed-flex: the same rows through flex_attention's block-sparse mask (CUDA only here);
# bucketed: padded batches of similar length (group_by_length), chosen and rejected together.
# Log-normal lengths: medians 250 (prompt) and 350 (response) tokens, sigma 0.7, giving a mean
# of about 1,530 tokens per pair with the prompt counted in both sequences.
PROMPT_MEDIAN, RESPONSE_MEDIAN, SIGMA, MAX_SEQ = 250, 350, 0.7, 4096


def synthetic_pairs(n: int, vocab: int, scale: float, seed: int):
    """Token-id pairs: (prompt, chosen, rejected) lists of word ids."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    hi = vocab - 2  # the last two ids are <eos> and <pad>

    def length(median):
        return int(np.clip(rng.lognormal(np.log(median * scale), SIGMA), 2,
                           MAX_SEQ * scale / 2))

    for _ in range(n):
        out.append([rng.integers(0, hi, size=length(m)).tolist()
                    for m in (PROMPT_MEDIAN, RESPONSE_MEDIAN, RESPONSE_MEDIAN)])
    return out


def word_tokenizer(vocab: int):
    """Word-level tokenizer: 't<i>' -> i, so text and ids map exactly; <eos>, <pad> at the end."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {f"t{i}": i for i in range(vocab - 2)}
    words["<eos>"], words["<pad>"] = vocab - 2, vocab - 1
    tk = Tokenizer(models.WordLevel(words, unk_token="<eos>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<eos>", pad_token="<pad>")


def build_model_dir(size: str, path: Path, seed: int) -> int:
    """Save a random-init Qwen2 sequence-classification model; return non-embedding params."""
    import torch
    from transformers import Qwen2Config, Qwen2ForSequenceClassification

    kw, _, _ = SIZES[size]
    cfg = Qwen2Config(**kw, num_labels=1, tie_word_embeddings=True, rope_theta=1e6,
                      max_position_embeddings=32768, eos_token_id=kw["vocab_size"] - 2,
                      pad_token_id=kw["vocab_size"] - 1)
    torch.manual_seed(seed)
    model = Qwen2ForSequenceClassification(cfg)
    model.save_pretrained(path)
    word_tokenizer(kw["vocab_size"]).save_pretrained(path)
    total = sum(p.numel() for p in model.parameters())
    return total - model.get_input_embeddings().weight.numel()


def _peak_gb(device: str) -> float:
    import resource

    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB (Linux)


def run_variant(variant: str, size: str, model_dir: str, pairs_file: str, batch: int) -> dict:
    """Train one epoch over the pairs with one implementation; return its measurements."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    pairs = json.loads(Path(pairs_file).read_text())
    vocab = SIZES[size][0]["vocab_size"]
    eos = vocab - 2
    seqs = [(p + c + [eos], p + r + [eos]) for p, c, r in pairs]
    real = sum(len(a) + len(b) for a, b in seqs)
    if variant == "trl":
        return _run_trl(model_dir, seqs, batch, device) | {"real_tokens": real}
    import pandas as pd

    from rmpredict.train import TrainConfig, train_reward_model

    # The same token ids as TRL gets (rmpredict accepts pre-tokenised pairs).
    frame = pd.DataFrame({"chosen_ids": [a for a, _ in seqs], "rejected_ids": [b for _, b in seqs]})
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(base_model=model_dir, output_dir=out, learning_rate=1e-5,
                          global_batch_size=batch, per_device_batch_size=batch,
                          warmup_steps=1, eval_every=10**9, save_every=0, max_length=MAX_SEQ,
                          chat_template="none", seed=0,
                          packing="off" if variant.endswith("bucketed") else "on",
                          group_by_length=variant.endswith("bucketed"),
                          attn_implementation="flex_attention" if variant.endswith("flex")
                          else "sdpa",
                          mixed_precision="bf16" if device == "cuda" else "no")
        res = train_reward_model(cfg, train_data=frame, eval_data=frame.iloc[:batch])
    rec = res.record
    counted = rec["real_tokens_per_s"] * rec["train_time_s"]
    if abs(counted - real) > 1e-6 * real:  # both variants must see the same token ids
        raise RuntimeError(f"rmpredict counted {counted:.0f} real tokens, the data has {real}")
    return {"seconds": rec["train_time_s"], "real_tokens": real,
            "padding_share": rec["padding_share"], "peak_gb": _peak_gb(device),
            "pairs": len(pairs), "device": device}


def _run_trl(model_dir: str, seqs, batch: int, device: str) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig, RewardTrainer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=1,
                                                               attn_implementation="sdpa")
    ds = Dataset.from_dict({"chosen_ids": [a for a, _ in seqs],
                            "rejected_ids": [b for _, b in seqs]})
    with tempfile.TemporaryDirectory() as out:
        args = RewardConfig(output_dir=out, per_device_train_batch_size=batch,
                            gradient_accumulation_steps=1, num_train_epochs=1,
                            learning_rate=1e-5, lr_scheduler_type="constant_with_warmup",
                            warmup_steps=1, logging_steps=10**6, save_strategy="no",
                            report_to="none", max_length=MAX_SEQ, gradient_checkpointing=False,
                            bf16=device == "cuda", use_cpu=device == "cpu",
                            dataloader_num_workers=0, disable_tqdm=True, seed=0)
        trainer = RewardTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
        counts = {"padded": 0}
        collate = trainer.data_collator

        def counting(features):
            b = collate(features)
            counts["padded"] += b["input_ids"].numel()
            return b

        trainer.data_collator = counting
        t0 = time.perf_counter()
        trainer.train()
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
    real = sum(len(a) + len(b) for a, b in seqs)
    return {"seconds": seconds, "padding_share": 1 - real / max(counts["padded"], 1),
            "peak_gb": _peak_gb(device), "pairs": len(seqs), "device": device}


def _child(args: argparse.Namespace) -> None:
    res = run_variant(args.variant, args.size[0], args.model_dir, args.pairs_file, args.batch)
    print("RESULT " + json.dumps(res))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", nargs="+", default=["0.5b", "1.5b"], choices=list(SIZES))
    ap.add_argument("--steps", type=int, default=30, help="optimizer steps per variant")
    ap.add_argument("--batch", type=int, default=None, help="pairs per step (default per size)")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="peak dense bf16 TFLOP/s for MFU (default 989 on CUDA, none on CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", default=None, help="also write the rows as JSON")
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--model-dir", help=argparse.SUPPRESS)
    ap.add_argument("--pairs-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.variant:
        _child(args)
        return 0

    import importlib.util

    import torch

    variants = [v for v in args.variants.split(",") if v]
    if not torch.cuda.is_available() and "rmpredict-packed-flex" in variants:
        variants.remove("rmpredict-packed-flex")  # flex_attention compiles kernels: CUDA only
    if "trl" in variants and importlib.util.find_spec("trl") is None:
        print("note: trl is not installed (pip install trl); skipping the TRL rows")
        variants.remove("trl")
    cuda = torch.cuda.is_available()
    peak = args.peak_tflops or (989.0 if cuda else None)
    import transformers

    vers = {"torch": torch.__version__, "transformers": transformers.__version__}
    if importlib.util.find_spec("trl"):
        import trl

        vers["trl"] = trl.__version__
    card = torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores)"
    print(f"# {card}; {', '.join(f'{k} {v}' for k, v in vers.items())}; "
          f"{time.strftime('%Y-%m-%d')}")
    rows = []
    for size in args.size:
        batch = args.batch or SIZES[size][1]
        with tempfile.TemporaryDirectory() as tmp:
            model_dir = Path(tmp) / "model"
            non_emb = build_model_dir(size, model_dir, args.seed)
            pairs = synthetic_pairs(args.steps * batch, SIZES[size][0]["vocab_size"],
                                    SIZES[size][2], args.seed)
            pairs_file = Path(tmp) / "pairs.json"
            pairs_file.write_text(json.dumps(pairs))
            for variant in variants:
                cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant,
                       "--size", size, "--model-dir", str(model_dir), "--pairs-file",
                       str(pairs_file), "--batch", str(batch)]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
                if proc.returncode != 0 or not line:
                    tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{size} {variant}: failed: {tail}")
                    rows.append({"size": size, "variant": variant, "error": tail})
                    continue
                r = json.loads(line[0][len("RESULT "):])
                tps = r["real_tokens"] / r["seconds"]
                rows.append({"size": size, "batch_pairs": batch, "variant": variant,
                             "real_tok_s": tps, "pairs_s": r["pairs"] / r["seconds"],
                             "mfu": 6 * non_emb * tps / (peak * 1e12) if peak else None,
                             "padding_share": r["padding_share"], "peak_gb": r["peak_gb"],
                             "tokens_per_pair": r["real_tokens"] / r["pairs"],
                             "non_embedding_params": non_emb})
    print()
    print("| model, batch | variant | real tok/s | pairs/s | MFU | padding | peak GB | vs TRL |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['size']} | {r['variant']} | failed: {r['error']} | | | | | |")
            continue
        base = next((x for x in rows if x["size"] == r["size"] and x["variant"] == "trl"
                     and "error" not in x), None)
        ratio = f"{r['real_tok_s'] / base['real_tok_s']:.2f}x" if base else "n/a"
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "n/a"
        print(f"| {r['size']}, {r['batch_pairs']} pairs | {r['variant']} | "
              f"{r['real_tok_s']:,.0f} | {r['pairs_s']:.2f} | {mfu} | "
              f"{100 * r['padding_share']:.1f}% | {r['peak_gb']:.2f} | {ratio} |")
    if not cuda:
        print("\npeak GB on CPU is the process's maximum resident memory; MFU needs "
              "--peak-tflops.")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"device": card, "versions": vers,
                                                   "rows": rows}, indent=2))
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
