"""``rmpredict datadist score|summarize|distance``: estimated data-distribution features."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "datadist", help="presence scores of a probe corpus, per-domain features and distances",
        description="Estimate a model's pre-training data distribution: presence scores (mean "
                    "token log-probability) of probe documents, per-domain features for the "
                    "predictor, and Jensen-Shannon distances between models.")
    dsub = p.add_subparsers(dest="datadist_command", metavar="ACTION", required=True,
                            parser_class=type(p))

    s = dsub.add_parser("score", help="score a corpus with a causal LM (needs the train extra)")
    s.add_argument("--model", required=True, metavar="PATH_OR_ID",
                   help="local model folder, .gguf file, or hub id")
    s.add_argument("--model-id", default=None, metavar="NAME",
                   help="name recorded for the model (default: --model); use the hub id that "
                        "your results table uses so the features join on it")
    s.add_argument("--corpus", default="probe", metavar="FILE.jsonl",
                   help="JSON Lines (optionally .gz) with text, domain and optional id per line; "
                        "'probe' (default) = the shipped probe corpus")
    s.add_argument("--output", required=True, metavar="SCORES.parquet")
    s.add_argument("--max-tokens", type=int, default=2048, metavar="N",
                   help="document tokens scored per document (default 2048, as in the study)")
    s.add_argument("--batch-tokens", type=int, default=32768, metavar="T",
                   help="padded tokens per batch (default 32768; lower it if memory runs out)")
    s.add_argument("--dtype", choices=("bfloat16", "float32", "float16"), default="bfloat16")
    s.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    s.add_argument("--padding-side", choices=("right", "left"), default="right")
    s.add_argument("--head-chunk", type=int, default=512, metavar="P",
                   help="positions per LM-head chunk (memory P x vocab x 4 bytes; default 512)")
    s.add_argument("--checkpoint-docs", type=int, default=256, metavar="K",
                   help="documents per resumable shard (default 256)")
    s.set_defaults(func=_score)

    m = dsub.add_parser("summarize", help="per-domain summaries / the features table")
    m.add_argument("scores", nargs="+", metavar="SCORES.parquet")
    m.add_argument("--reference", default=None, metavar="REF.parquet",
                   help="reference model's scores; features become per-document differences")
    m.add_argument("--output", default=None, metavar="FEATURES.csv",
                   help="write one row per model with datadist_<domain> columns")
    m.add_argument("--quantiles", action="store_true",
                   help="also write datadist_<domain>_q50 (the predictor uses every datadist_ "
                        "column)")
    m.add_argument("--summary-output", default=None, metavar="SUMMARY.csv",
                   help="write the long per-domain summary (mean, quantiles) of every model")
    m.set_defaults(func=_summarize)

    d = dsub.add_parser("distance", help="Jensen-Shannon distance matrix between models")
    d.add_argument("scores", nargs="+", metavar="SCORES.parquet")
    d.add_argument("--domain", default="all", help="domain to compare (default: all documents)")
    d.add_argument("--bins", type=int, default=40, help="shared equal-width bins (default 40)")
    d.add_argument("--reference", default=None, metavar="REF.parquet",
                   help="compare reference-normalised scores")
    d.add_argument("--output", default=None, metavar="MATRIX.csv")
    d.add_argument("--plot", default=None, metavar="HEATMAP.png")
    d.set_defaults(func=_distance)


def _score(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable
    from rmpredict.datadist import (
        ScoreConfig,
        load_model,
        model_fingerprint,
        read_corpus,
        score_corpus,
    )

    check_writable(args.output, "--output")  # before loading a large model
    cfg = ScoreConfig(max_tokens=args.max_tokens, batch_tokens=args.batch_tokens,
                      padding_side=args.padding_side, head_chunk=args.head_chunk)
    corpus = read_corpus(args.corpus)  # validate before loading a large model
    if corpus.empty_ids:
        shown = ", ".join(corpus.empty_ids[:10]) + (" ..." if len(corpus.empty_ids) > 10 else "")
        print(f"skipping {len(corpus.empty_ids)} empty document(s): {shown}", file=sys.stderr)
    model, tok = load_model(args.model, dtype=args.dtype, device=args.device)
    scores = score_corpus(model, tok, corpus, args.output, config=cfg,
                          model_id=args.model_id or args.model, dtype=args.dtype,
                          checkpoint_docs=args.checkpoint_docs,
                          fingerprint=model_fingerprint(args.model))
    prov = scores.attrs["rmpredict"]
    print(f"wrote {len(scores)} scores to {args.output} ({prov['n_truncated']} truncated to "
          f"{args.max_tokens} tokens; BOS prepended: {prov['bos_prepended']})", file=sys.stderr)
    return 0


def _check_outputs(args: argparse.Namespace, *names: str) -> None:
    """:func:`rmpredict._io.check_writable` for each output option that was given."""
    from rmpredict._io import check_writable

    for name in names:
        if getattr(args, name, None):
            check_writable(getattr(args, name), "--" + name.replace("_", "-"))


def _summarize(args: argparse.Namespace) -> int:
    import pandas as pd

    from rmpredict._io import write_table_atomic
    from rmpredict._version import __version__
    from rmpredict.datadist import features_table, read_scores, summarize_scores
    from rmpredict.datadist._summary import model_name

    _check_outputs(args, "summary_output", "output")
    frames = [read_scores(p) for p in args.scores]
    ref = read_scores(args.reference) if args.reference else None
    long = pd.concat([summarize_scores(f, reference=ref).assign(model=model_name(f))
                      for f in frames], ignore_index=True)
    long = long[["model", *[c for c in long.columns if c != "model"]]]
    norm = (f"normalised: per-document difference to reference {model_name(ref)!r}"
            if ref is not None else "not normalised (raw scores)")
    if args.summary_output:
        write_table_atomic(args.summary_output, long,
                           comment=f"rmpredict {__version__} datadist summary; nats/token; {norm}")
    if args.output:
        table = features_table(frames, reference=ref, quantiles=args.quantiles)
        write_table_atomic(args.output, table,
                           comment=f"rmpredict {__version__} datadist features: mean presence "
                                   f"score per domain, nats/token; {norm}")
        print(f"wrote features of {len(table)} model(s) to {args.output} ({norm})",
              file=sys.stderr)
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(long.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _distance(args: argparse.Namespace) -> int:
    import pandas as pd

    from rmpredict._io import write_table_atomic
    from rmpredict._version import __version__
    from rmpredict.datadist import distance_matrix, read_scores

    _check_outputs(args, "output", "plot")  # both outputs are written, or neither
    frames = [read_scores(p) for p in args.scores]
    ref = read_scores(args.reference) if args.reference else None
    mat = distance_matrix(frames, domain=args.domain, bins=args.bins, reference=ref)
    if args.output:
        write_table_atomic(args.output, mat.reset_index(),
                           comment=f"rmpredict {__version__} datadist distance; Jensen-Shannon "
                                   f"distance (base 2) of presence scores, domain {args.domain}, "
                                   f"{args.bins} shared bins")
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(mat.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.plot:
        from rmpredict._io import atomic_path
        from rmpredict.plots import plot_distance_heatmap

        fig = plot_distance_heatmap(mat)  # a pyplot-free Figure: nothing to close
        with atomic_path(args.plot) as tmp:
            fig.savefig(tmp, format=args.plot.rsplit(".", 1)[-1], dpi=120)
    return 0
