"""`quads-bench`: run table rows, render reports, list what exists."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from benchmark.paper import DATASETS
from benchmark.profiles import PROFILES, get_profile
from benchmark.rows import experiments
from quads.train import PRECISIONS

TABLES = ("table1", "table2")


def default_out_dir(profile: str) -> Path:
    """``reports/`` for the default ``cpu`` profile, ``reports/<profile>/`` for the others."""
    return Path("reports") if profile == "cpu" else Path("reports") / profile


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", choices=TABLES, default="table1")
    p.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: reports/)")


def _data_roots(args: argparse.Namespace) -> dict[str, str]:
    roots = {}
    for corpus, flag, env in (
        ("fsc", args.fsc_root, "QUADS_FSC_ROOT"),
        ("slurp", args.slurp_root, "QUADS_SLURP_ROOT"),
    ):
        value = flag or os.environ.get(env)
        if value:
            roots[corpus] = value
    return roots


def _reference_only(args: argparse.Namespace) -> int:
    """Render the committed reference alone, from its result files: seconds, no training."""
    from benchmark.report.tables import write_report
    from benchmark.run.reference import REFERENCE_DIR
    from benchmark.run.results import read_results

    profile = get_profile(args.profile)
    results = read_results(REFERENCE_DIR / "results", profile.name, args.table)
    if not results:
        raise ValueError(
            f"the reference ({REFERENCE_DIR}) has no {args.table} results for profile "
            f"{profile.name!r}; run without --reference-only to train"
        )
    md, js = write_report(args.table, results, profile.name, REFERENCE_DIR)
    print(f"reference report: {md} ({len(results)} result files, nothing trained)\ndata: {js}")
    if args.print:
        print(md.read_text())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.run.reference import REFERENCE_DIR
    from benchmark.run.runner import RunOptions, run_table

    if args.reference_only:
        return _reference_only(args)
    profile = get_profile(args.profile)
    overrides = {k: getattr(args, k) for k in ("precision", "device") if getattr(args, k)}
    if overrides:
        profile = dataclasses.replace(profile, **overrides)
    out = args.out or (REFERENCE_DIR if args.as_reference else default_out_dir(profile.name))
    options = RunOptions(
        profile=profile,
        out_dir=out,
        seeds=tuple(args.seeds),
        rows=tuple(args.rows) if args.rows else None,
        datasets=tuple(args.datasets),
        data_roots=_data_roots(args),
        cache_dir=args.cache_dir,
        force=args.force,
        as_reference=args.as_reference,
    )

    md, js = run_table(args.table, options)
    print(f"report: {md}\ndata:   {js}")
    if args.print:
        print(md.read_text())
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from benchmark.run.tune import tune
    from benchmark.run.workspace import Workspace

    profile = get_profile(args.profile)
    ws = Workspace(profile, _data_roots(args), args.cache_dir)
    md, js = tune(profile, tuple(args.datasets), ws, args.out or Path("reports"))
    print(f"report: {md}\ndata:   {js}")
    print(md.read_text())
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark.report.tables import write_report
    from benchmark.run.reference import REFERENCE_DIR, is_inside
    from benchmark.run.results import read_results

    profile = get_profile(args.profile)
    out = args.out or default_out_dir(profile.name)
    results = read_results(out / "results", profile.name, args.table)
    reference = (
        None
        if is_inside(out, REFERENCE_DIR)
        else read_results(REFERENCE_DIR / "results", profile.name, args.table)
    )
    md, js = write_report(args.table, results, profile.name, out, reference=reference)
    print(f"report: {md} ({len(results)} result files)\ndata:   {js}")
    if args.print:
        print(md.read_text())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from baselines.registry import MODELS
    from baselines.weights import available_offline
    from benchmark.run.results import read_results

    profile = get_profile(args.profile)
    offline = available_offline()
    print("Profiles:")
    for p in PROFILES.values():
        print(f"  {p.name:8s} {p.description}")
    print("Models:")
    for m in MODELS.values():
        print(f"  {m.name:16s} {m.description} (pretrained: {m.pretrained or 'none'})")
    out = args.out or default_out_dir(profile.name)
    for table in TABLES:
        timings: dict[tuple, list[float]] = {}
        for r in read_results(out / "results", profile.name, table):
            e = r.experiment
            timings.setdefault((e.row, e.bits, e.init, e.strategy), []).append(r.wall_seconds)
        print(
            f"Rows of {table} (profile {profile.name}; data: {', '.join(profile.corpora.values())}):"
        )
        seen = set()
        for e in experiments(table):
            key = (e.row, e.bits, e.init, e.strategy)
            if key in seen:
                continue
            seen.add(key)
            spec = MODELS.get(e.model)
            if spec is None:
                needs = "not implemented"
            elif e.init == "random":
                needs = "nothing (random init)"
            elif spec.pretrained in offline:
                needs = f"weights {spec.pretrained} (installed offline package)"
            else:
                needs = f"weights {spec.pretrained or e.model} (local folder or hub; not offline)"
            if e.strategy != "finetune":
                where = "offline package" if profile.teacher in offline else "local folder or hub"
                needs += f" + teacher {profile.teacher} ({where})"
            took = timings.get(key)
            time_note = (
                f"last run {sum(took) / 60:.1f} min for {len(took)} dataset/seed runs"
                if took
                else "no timing yet"
            )
            print(
                f"  {e.row:24s} {e.bits:2d} bit {e.init:10s} {e.strategy:31s} needs {needs}; {time_note}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quads-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run (or resume) the rows of a table and write its report")
    _add_run_args(run)
    run.add_argument("--rows", nargs="+", help="paper row labels, e.g. 'Whisper (base)' QUADS")
    run.add_argument("--datasets", nargs="+", default=list(DATASETS), help="SLURP and/or FSC")
    run.add_argument("--seeds", nargs="+", type=int, default=[], help="default: the profile's")
    run.add_argument("--fsc-root", help="FSC release folder (or env QUADS_FSC_ROOT)")
    run.add_argument("--slurp-root", help="SLURP checkout folder (or env QUADS_SLURP_ROOT)")
    run.add_argument(
        "--cache-dir", type=Path, help="corpora and feature cache (or QUADS_CACHE_DIR)"
    )
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="training arithmetic (default: the profile's; 'auto' = bf16 where native)",
    )
    run.add_argument(
        "--device", help="'auto', 'cpu', 'cuda', 'cuda:1' ... (default: the profile's)"
    )
    run.add_argument("--force", action="store_true", help="recompute complete results too")
    run.add_argument("--print", action="store_true", help="print the Markdown report at the end")
    run.add_argument(
        "--reference-only",
        action="store_true",
        help="train nothing: render the committed reference (reports/reference/) in seconds",
    )
    run.add_argument(
        "--as-reference",
        action="store_true",
        help="maintainers: write the run into reports/reference/ (the committed reference)",
    )
    run.set_defaults(func=cmd_run)

    tun = sub.add_parser(
        "tune", help="pick the QUADS learning rates of a profile on the validation split"
    )
    tun.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    tun.add_argument("--datasets", nargs="+", default=["FSC"], help="SLURP and/or FSC")
    tun.add_argument("--out", type=Path, default=None, help="report folder (default: reports/)")
    tun.add_argument("--fsc-root", help="FSC release folder (or env QUADS_FSC_ROOT)")
    tun.add_argument("--slurp-root", help="SLURP checkout folder (or env QUADS_SLURP_ROOT)")
    tun.add_argument(
        "--cache-dir", type=Path, help="corpora and feature cache (or QUADS_CACHE_DIR)"
    )
    tun.set_defaults(func=cmd_tune)

    rep = sub.add_parser("report", help="render the report from existing result files only")
    _add_run_args(rep)
    rep.add_argument("--print", action="store_true", help="print the Markdown report")
    rep.set_defaults(func=cmd_report)

    lst = sub.add_parser("list", help="list profiles, models and table rows with what they need")
    lst.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    lst.add_argument("--out", type=Path, default=None, help="report folder with result files")
    lst.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as err:
        print(f"quads-bench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
