"""``rmpredict release list|show|verify|build`` and ``rmpredict cite``."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="list, show, verify or build released fitted models",
                       description="Released fitted models: list, show the model card, verify "
                                   "the checksum, or build your own release.")
    rsub = p.add_subparsers(dest="release_command", metavar="ACTION", required=True,
                            parser_class=type(p))
    for action, helptext in (("list", "list releases"),
                             ("show", "print a release's model card"),
                             ("verify", "check a release file against its sha256")):
        q = rsub.add_parser(action, help=helptext)
        if action != "list":
            q.add_argument("name", nargs="?", default=None,
                           help="NAME or NAME@VERSION (default: the newest release)")
        q.add_argument("--registry", default=None, metavar="DIR",
                       help="registry folder of a user-built release (default: bundled)")
        q.set_defaults(func=globals()[f"_{action}"])
    b = rsub.add_parser("build", help="fit a model and save it as a named, citable release")
    b.add_argument("--data", default=None, metavar="RESULTS",
                   help="results table (default: the bundled reference data)")
    b.add_argument("--name", required=True, help="release name, e.g. my-rm-predictor")
    b.add_argument("--version", required=True, dest="release_version",
                   help="release version, e.g. 2026.11")
    b.add_argument("--registry", required=True, metavar="DIR",
                   help="folder for registry.toml, the netCDF file and the model card")
    b.add_argument("--model", default=None, metavar="MODEL.nc",
                   help="release an already fitted model instead of fitting")
    b.add_argument("--metrics", default=None, metavar="metrics.json",
                   help="`rmpredict evaluate` output to include in the model card")
    b.add_argument("--description", default="", help="one paragraph for the model card")
    b.add_argument("--thin", type=int, default=1, metavar="K",
                   help="keep every K-th draw per chain (smaller file; default 1)")
    from rmpredict.cli._fit import add_sampler_args

    add_sampler_args(b)
    b.set_defaults(func=_build)

    c = sub.add_parser("cite", help="print BibTeX for a release and the study it builds on")
    c.add_argument("name", nargs="?", default=None, help="release (default: the newest)")
    c.add_argument("--registry", default=None, metavar="DIR", help="registry folder")
    c.set_defaults(func=_cite)


def _list(args: argparse.Namespace) -> int:
    from rmpredict.release import list_releases

    releases = list_releases(args.registry)
    if not releases:
        print("no releases")
        return 0
    for r in releases:
        print(f"{r.full_name:40s} {r.created}  rmpredict {r.rmpredict_version}  "
              f"sha256 {r.sha256[:12]}…")
    return 0


def _show(args: argparse.Namespace) -> int:
    from rmpredict.release import find_release

    rel = find_release(args.name, args.registry)
    print(rel.card_path.read_text(encoding="utf-8"))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from rmpredict.release import find_release, load_release, verify_release

    rel = find_release(args.name, args.registry)
    digest = verify_release(rel)
    model = load_release(rel.full_name, registry_dir=args.registry)
    print(f"ok  {rel.full_name}  sha256 {digest}  model id {model.model_id}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from rmpredict._io import check_writable
    from rmpredict.models import HierarchicalRMPredictor
    from rmpredict.release import build_release

    check_writable(args.registry, "--registry", folder=True)  # before fitting
    if args.model:
        model = HierarchicalRMPredictor.load(args.model)
    else:
        model = HierarchicalRMPredictor(sampler=args.sampler, draws=args.draws, tune=args.tune,
                                        chains=args.chains, random_seed=args.seed)
        model.fit(args.data)
    rel = build_release(model, name=args.name, version=args.release_version,
                        registry_dir=args.registry, description=args.description,
                        metrics=args.metrics, thin=args.thin)
    print(f"released {rel.full_name}: {rel.path} (sha256 {rel.sha256})")
    print(f"model card: {rel.card_path}")
    return 0


def _cite(args: argparse.Namespace) -> int:
    from rmpredict.release import cite, find_release

    print(cite(find_release(args.name, args.registry)))
    return 0
