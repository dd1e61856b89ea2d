"""`quads-bench`: run table rows, render reports, list what exists."""

# argparse only: what each subcommand does is in benchmark.commands

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.commands import TABLES, cmd_list, cmd_report, cmd_run, cmd_tune
from benchmark.profiles import PROFILES
from quads.train import PRECISIONS


def _add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", choices=TABLES, default="table1")
    p.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    p.add_argument("--out", type=Path, default=None, help="report folder (default: reports/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quads-bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run (or resume) the rows of a table and write its report")
    _add_run_args(run)
    # repeated options add up (--rows QUADS --rows CTL = --rows QUADS CTL)
    run.add_argument(
        "--rows", nargs="+", action="extend", help="paper row labels, e.g. 'Whisper (base)' QUADS"
    )
    run.add_argument(
        "--datasets", nargs="+", action="extend", help="SLURP and/or FSC (default: both)"
    )
    run.add_argument("--seeds", nargs="+", action="extend", type=int, help="default: the profile's")
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
