"""``rmpredict train-rm``, ``rmpredict score-rm`` and ``rmpredict results add``.

Only argparse (and the torch-free config module, imported lazily) at module level; ``results add``
never imports torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-rm", help="train a reward model and write its ground-truth record",
        description="Train a Bradley-Terry or regression reward model on preference data, keep "
                    "the checkpoint with the best validation accuracy, score it RewardBench-"
                    "style and write OUTPUT/record.json. Every TrainConfig field is a flag; "
                    "--config run.yaml sets them from a file (flags win). Multi-GPU: "
                    "accelerate launch -m rmpredict train-rm ...")
    p.add_argument("--config", help="YAML run file with TrainConfig fields (optional 'preset: "
                                    "bradley_terry|regression' key starts from the study recipe)")
    p.add_argument("--preset", choices=["bradley_terry", "regression"],
                   help="start from the study's recipe for this method")
    p.add_argument("--output", dest="output_dir", default=argparse.SUPPRESS,
                   help="alias of --output-dir")
    _add_config_flags(p)
    p.set_defaults(func=_train)

    s = sub.add_parser(
        "score-rm", help="score a reward model on pairs (per-subset and section accuracy)",
        description="Score any sequence-classification reward model on pairs with prompt, "
                    "chosen, rejected and a subset column; report per-subset accuracy and "
                    "RewardBench v1 section scores (a tie counts as incorrect).")
    s.add_argument("--model", required=True, help="model directory, hub id or .gguf file")
    s.add_argument("--eval-data", required=True, help="pairs: JSON Lines, Parquet or CSV")
    s.add_argument("--output", required=True, help="JSON file for the scores")
    s.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass")
    s.add_argument("--padding-side", choices=["right", "left"], default="right",
                   help="scores do not depend on it (default: right)")
    s.add_argument("--max-length", type=int, default=None,
                   help="token limit per sequence (default: the model's context length)")
    s.add_argument("--section-map", default=None,
                   help="JSON/YAML {section: [subsets]} instead of RewardBench v1's mapping")
    s.add_argument("--merge-weights", default=None,
                   help="comma-separated merge vector for a multi-output (regression) model")
    s.add_argument("--pairs-out", default=None, help="optional CSV with per-pair scores")
    s.set_defaults(func=_score)

    r = sub.add_parser("results", help="manage a results table of trained reward models")
    rsub = r.add_subparsers(dest="results_command", metavar="ACTION", parser_class=type(r))
    a = rsub.add_parser("add", help="append a training record to a results table",
                        description="Append the row of a ground-truth record (record.json) to "
                                    "a results table; the table is validated and written "
                                    "atomically.")
    a.add_argument("record", help="record.json written by train-rm")
    a.add_argument("--to", required=True, dest="results", help="results table (.csv/.parquet)")
    a.add_argument("--replace", action="store_true",
                   help="replace an existing row with the same model and method")
    a.set_defaults(func=_results_add)
    r.set_defaults(func=lambda args: (r.print_help(sys.stderr), 2)[1])


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    from rmpredict.train._config import add_config_arguments

    add_config_arguments(p)


def _train(args: argparse.Namespace) -> int:
    from rmpredict.train._config import config_from_args

    cfg = config_from_args(args, preset=args.preset)
    from rmpredict._io import check_writable

    check_writable(cfg.output_dir, "--output-dir", folder=True)  # before loading the model
    from rmpredict.train._trainer import train_reward_model

    result = train_reward_model(cfg)
    rec = result.record
    if os.environ.get("RANK", "0") != "0":  # accelerate launch: one report, from rank 0
        return 0
    ck = rec["chosen_checkpoint"]
    print(f"model: {result.model_dir} (step {ck['step']}, validation accuracy "
          f"{ck['val_accuracy']:.4f})")
    print("sections: " + ", ".join(
        f"{k}={v:.4f}" if v is not None else f"{k}=n/a" for k, v in rec["sections"].items()))
    scored, holdout = rec["data"]["scored_on"], rec["data"].get("holdout")
    if holdout:
        scored += f" ({holdout['n_test']} eval pairs held out from every choice)"
    if rec["selection_biased"]:
        scored += " (selection-biased: the pairs that chose the checkpoint)"
    print(f"scored on {scored}")
    print(f"real tokens/s: {rec['real_tokens_per_s']:.0f}; record: {result.record_path}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable, write_json_atomic, write_table_atomic
    from rmpredict._provenance import provenance
    from rmpredict.train._score import score_reward_model
    from rmpredict.train._sections import load_section_map

    check_writable(args.output, "--output")
    if args.pairs_out:
        check_writable(args.pairs_out, "--pairs-out")
    smap = load_section_map(args.section_map) if args.section_map else None
    mv = [float(x) for x in args.merge_weights.split(",")] if args.merge_weights else None
    res = score_reward_model(args.model, args.eval_data, batch_size=args.batch_size,
                             padding_side=args.padding_side, section_map=smap,
                             merge_vector=mv, max_length=args.max_length)
    write_json_atomic(args.output, {**res.to_dict(), "provenance": provenance(
        model=str(args.model), eval_data=str(args.eval_data))})
    if args.pairs_out:
        write_table_atomic(args.pairs_out, res.pairs)
    print(json.dumps({k: (round(v, 4) if v is not None else None)
                      for k, v in res.sections.items()}))
    return 0


def _results_add(args: argparse.Namespace) -> int:
    from rmpredict.train._record import add_record

    table = add_record(args.record, args.results, replace=args.replace)
    print(f"{args.results}: {len(table)} row(s)")
    return 0
