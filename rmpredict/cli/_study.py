"""``rmpredict study <stage>``: the offline calibration study, one command per stage."""

from __future__ import annotations

import argparse
import sys

_STAGE_HELP = {
    "prepare": "write the run's settings and materialise the base models (dequantise packaged "
               "GGUFs, pre-train the ladder)",
    "bench": "multiple-choice accuracy (MMLU, BIG-bench) by log-likelihood of the options",
    "train": "train a Bradley-Terry reward model per base with rmpredict's trainer",
    "score": "score the reward models on the RewardBench-like held-out suite",
    "presence": "presence scores of each base on the probe corpus",
    "collect": "join everything into ground-truth records and a results table",
    "evaluate": "fit the predictor without and with the study and report how well it predicts "
                "the study's models; check presence scores against the ladder's mixtures",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study", help="the offline calibration study (small packaged LMs and a self-pretrained "
                      "ladder, end to end)",
        description="Run the offline calibration study stage by stage in a work directory. "
                    "Every stage resumes: models already done are skipped unless --force.")
    ssub = p.add_subparsers(dest="study_command", metavar="STAGE", required=True,
                            parser_class=type(p))
    for stage, text in _STAGE_HELP.items():
        s = ssub.add_parser(stage, help=text, description=text)
        s.add_argument("--work", required=True, metavar="DIR", help="the run's work directory")
        if stage not in ("evaluate",):
            s.add_argument("--models", default=None, metavar="KEY[,KEY...]",
                           help="only these models (default: the run's models)")
        if stage not in ("collect", "evaluate"):
            s.add_argument("--force", action="store_true", help="redo models already done")
        if stage == "prepare":
            s.add_argument("--preset", default=None, choices=("tiny", "cpu", "gpu"),
                           help="start a new run with these settings (see docs/study.md)")
            s.add_argument("--config", default=None, metavar="STUDY.json",
                           help="start a new run with settings from a JSON file "
                                "({\"preset\": ..., overrides...})")
        if stage == "collect":
            s.add_argument("--output", default=None, metavar="RESULTS.csv",
                           help="results table (default WORK/results.csv)")
        if stage == "evaluate":
            s.add_argument("--results", default=None, metavar="RESULTS.csv",
                           help="study table to evaluate (default WORK/results.csv)")
            s.add_argument("--draws", type=int, default=2000,
                           help="posterior draws per chain of every fit (default 2000, as the "
                                "released model)")
            s.add_argument("--tune", type=int, default=2000)
            s.add_argument("--chains", type=int, default=4)
            s.add_argument("--random-seed", type=int, default=0)
        s.set_defaults(func=_run, stage=stage)


def _config_from_args(args: argparse.Namespace):
    import json
    from pathlib import Path

    from rmpredict.exceptions import InvalidParameterError
    from rmpredict.study import StudyConfig, study_config_preset

    if args.preset and args.config:
        raise InvalidParameterError("give --preset or --config, not both")
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise InvalidParameterError(f"--config {args.config!r}: file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidParameterError(f"--config {args.config!r}: not JSON ({exc})") from exc
        preset = data.pop("preset", None)
        return study_config_preset(preset, **data) if preset else StudyConfig(**data)
    if args.preset:
        return study_config_preset(args.preset)
    return None


def _log(msg: str) -> None:
    sys.stderr.write(msg + "\n")


def _run(args: argparse.Namespace) -> int:
    from rmpredict import study
    from rmpredict._io import check_writable

    # Every stage writes into the work folder; check it (and collect's --output) first.
    check_writable(args.work, "--work", folder=True)
    if getattr(args, "output", None):
        check_writable(args.output, "--output")
    models = args.models.split(",") if getattr(args, "models", None) else None
    common = dict(models=models, log=_log)
    if args.stage == "prepare":
        study.prepare(args.work, _config_from_args(args), force=args.force, **common)
    elif args.stage in ("bench", "train", "score", "presence"):
        fn = {"bench": study.run_bench, "train": study.run_train, "score": study.run_score,
              "presence": study.run_presence}[args.stage]
        fn(args.work, force=args.force, **common)
    elif args.stage == "collect":
        table = study.collect(args.work, models=models, output=args.output)
        sys.stdout.write(table.drop(columns=["record", "record_sha256"])
                         .to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n")
    else:
        report = study.evaluate_study(args.work, results=args.results, draws=args.draws,
                                      tune=args.tune, chains=args.chains,
                                      random_seed=args.random_seed, log=_log)
        sys.stdout.write(report.summary_text() + "\n")
    return 0
