"""`quads-bench`: run table rows, render reports, list what exists."""

# argparse only: what each subcommand does is in benchmark.commands

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.arguments import check_cache_dir
from benchmark.commands import (
    TABLES,
    cmd_authors_check,
    cmd_continue,
    cmd_export_corpus,
    cmd_list,
    cmd_plateau,
    cmd_report,
    cmd_robustness,
    cmd_run,
    cmd_tune,
)
from benchmark.profiles import PROFILES
from quads.train import PRECISIONS


def add_data_args(p: argparse.ArgumentParser) -> None:
    """Which corpus each dataset runs on (``benchmark.run.data_choice``)."""
    p.add_argument(
        "--fsc-root", help="FSC release folder (or env QUADS_FSC_ROOT): FSC runs on it, any profile"
    )
    p.add_argument(
        "--slurp-root",
        help="SLURP checkout folder (or env QUADS_SLURP_ROOT): SLURP runs on it, any profile",
    )
    p.add_argument(
        "--subset",
        type=int,
        metavar="N",
        help="a quick look: at most N utterances per split, stratified by intent",
    )
    p.add_argument(
        "--slurp-headset",
        choices=("all", "farfield", "only"),
        default="all",
        help="real SLURP recordings: all (the official scoring), far-field only, close-talk only",
    )
    p.add_argument(
        "--unseen-labels",
        choices=("error", "drop", "keep"),
        default="error",
        help="real corpora: valid/test labels never seen in train stop the run, are dropped, or kept",
    )
    p.add_argument("--cache-dir", help="corpora and feature cache (or QUADS_CACHE_DIR)")


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
    add_data_args(run)
    run.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="training arithmetic (default: the profile's; 'auto' = bf16 where native)",
    )
    run.add_argument(
        "--device", help="'auto', 'cpu', 'cuda', 'cuda:1' ... (default: the profile's)"
    )
    run.add_argument("--force", action="store_true", help="recompute complete results too")
    run.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: one run after the other here; ray: runs as Ray tasks (pip install "
        "'quads-repro[cluster]'; the cache folder on a filesystem every node sees)",
    )
    run.add_argument("--ray-address", help="Ray cluster to join (default: start a local one)")
    run.add_argument("--ray-cpus", type=float, help="CPUs per run (default: the profile's)")
    run.add_argument("--ray-gpus", type=float, help="GPUs per run (default: the profile's)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (runs, what each needs, time and disk estimates), train nothing",
    )
    run.add_argument(
        "--teacher",
        help="Whisper encoder to distill from (default: the profile's; e.g. base when the paper "
        "profile's large-v2 is not available offline)",
    )
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
    add_data_args(tun)
    tun.set_defaults(func=cmd_tune)

    pla = sub.add_parser(
        "plateau",
        help="train the float student to a cap and find its plateau on the validation split "
        "(how a profile's budget is chosen)",
    )
    pla.add_argument("--profile", default="converged", help=f"one of: {', '.join(PROFILES)}")
    pla.add_argument("--datasets", nargs="+", default=["FSC", "SLURP"], help="SLURP and/or FSC")
    pla.add_argument("--seed", type=int, default=0)
    pla.add_argument("--cap", type=int, default=40, help="epochs at most (even)")
    pla.add_argument("--patience", type=int, default=5, help="epochs without a gain")
    pla.add_argument(
        "--out", type=Path, default=None, help="report folder (default: reports/reference/)"
    )
    add_data_args(pla)
    pla.set_defaults(func=cmd_plateau)

    con = sub.add_parser(
        "continue",
        help="train finished runs that were still climbing a few epochs past their budget "
        "(validation only; results and verdicts unchanged)",
    )
    con.add_argument("--profile", default="converged", help=f"one of: {', '.join(PROFILES)}")
    con.add_argument("--table", default="table1", choices=["table1", "table2"])
    con.add_argument("--datasets", nargs="+", default=None, help="SLURP and/or FSC (default: both)")
    con.add_argument("--seeds", nargs="+", type=int, default=None, help="default: every seed")
    con.add_argument("--epochs", type=int, default=3, help="epochs past the budget")
    con.add_argument(
        "--all", action="store_true", help="every trained run, not only the climbing ones"
    )
    con.add_argument(
        "--still-climbing",
        action="store_true",
        help="only the runs still climbing after the continuation check recorded in the "
        "--results folder (its continuation-<table>.json), e.g. to continue them to the cap "
        "into another --out folder",
    )
    con.add_argument(
        "--retrain",
        action="store_true",
        help="where a run's final state is not in the cache, train its budget again first "
        "(same configuration as its result file, else skipped; its curve is checked against "
        "the file's before it is continued)",
    )
    con.add_argument(
        "--twin",
        choices=[p for p in PRECISIONS if p != "auto"],
        help="train each run's budget again in this precision where its result file was made "
        "in another (e.g. fp32 on a CPU without native bf16) and continue that twin: evidence "
        "about the recipe in a report of its own, never read by the tables (implies --retrain)",
    )
    con.add_argument(
        "--results",
        type=Path,
        default=None,
        help="folder whose results/ (and continuation-<table>.json) are read (default: --out)",
    )
    con.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder of the result files and the report (default: the profile's reference)",
    )
    add_data_args(con)
    con.set_defaults(func=cmd_continue)

    aut = sub.add_parser(
        "authors-check",
        help="why the authors' recipe collapses: its head under fixed labels (validation split)",
    )
    aut.add_argument("--profile", default="converged", help=f"one of: {', '.join(PROFILES)}")
    aut.add_argument("--datasets", nargs="+", default=["FSC"], help="SLURP and/or FSC")
    aut.add_argument("--bits", type=int, default=8, help="a bit width of the authors' row (8 or 4)")
    aut.add_argument("--seed", type=int, default=0)
    aut.add_argument("--epochs", type=int, default=3, help="quantization epochs of each variant")
    aut.add_argument(
        "--long-epochs",
        type=int,
        default=0,
        help="continue the authors' variant (head covered) to this many epochs",
    )
    aut.add_argument("--every", type=int, default=1, help="validate every N epochs")
    aut.add_argument(
        "--report-only", action="store_true", help="re-render the report from its data file"
    )
    aut.add_argument(
        "--out", type=Path, default=None, help="report folder (default: the profile's reference)"
    )
    add_data_args(aut)
    aut.set_defaults(func=cmd_authors_check)

    rep = sub.add_parser("report", help="render the report from existing result files only")
    _add_run_args(rep)
    rep.add_argument("--print", action="store_true", help="print the Markdown report")
    rep.set_defaults(func=cmd_report)

    rob = sub.add_parser(
        "robustness",
        help="ours: every trained Table 1 row on its test set under unseen noise and reverberation",
    )
    rob.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    rob.add_argument("--out", type=Path, default=None, help="report folder (default: reports/)")
    rob.add_argument(
        "--datasets", nargs="+", action="extend", help="SLURP and/or FSC (default: both)"
    )
    rob.add_argument(
        "--conditions",
        nargs="+",
        action="extend",
        help="corruptions by name (default: all; e.g. babble-0dB reverb-0.7s)",
    )
    rob.add_argument(
        "--table1-results",
        type=Path,
        help="folder of the Table 1 result files to check the snapshots' clean predictions "
        "against (default: <out>/results)",
    )
    rob.add_argument("--batch-size", type=int, default=32, help="inference batch (default: 32)")
    rob.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="inference arithmetic, clean and under noise (default auto: bf16 autocast where "
        "the device has native bf16 matmuls, as training uses, else fp32; fp32 is how the test "
        "split was scored); the check against Table 1's predictions always runs in fp32",
    )
    rob.add_argument(
        "--seeds",
        choices=("claim", "all"),
        default="claim",
        help="claim (default): every seed of the claim's rows (QUADS 4 / 32 bit, the paper's "
        "baselines), the first seed of the other rows; all: every seed of every row",
    )
    rob.add_argument(
        "--report-only",
        action="store_true",
        help="evaluate nothing: render the report from the result files there are",
    )
    rob.add_argument(
        "--retrain",
        action="store_true",
        help="where the cache lost a run's snapshot, train its Table 1 run again first (only if "
        "a run here has its result file's configuration; the result files stay as written)",
    )
    rob.add_argument("--cache-dir", help="corpora, features, snapshots (or QUADS_CACHE_DIR)")
    rob.add_argument("--print", action="store_true", help="print the Markdown report at the end")
    rob.add_argument(
        "--as-reference",
        action="store_true",
        help="maintainers: write into reports/reference/ (beside the committed table1.md)",
    )
    rob.set_defaults(func=cmd_robustness)

    lst = sub.add_parser("list", help="list profiles, models and table rows with what they need")
    lst.add_argument("--profile", default="cpu", help=f"one of: {', '.join(PROFILES)}")
    lst.add_argument("--out", type=Path, default=None, help="report folder with result files")
    lst.set_defaults(func=cmd_list)

    exp = sub.add_parser(
        "export-corpus",
        help="write a synthetic corpus in the official FSC or SLURP layout (a real-layout copy)",
    )
    exp.add_argument("--layout", choices=("fsc", "slurp"), required=True)
    exp.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    exp.add_argument("--profile", default="cpu", help="whose synthetic corpus (default: cpu)")
    exp.add_argument("--subset", type=int, metavar="N", help="at most N utterances per split")
    exp.add_argument(
        "--missing", type=int, default=2, help="audio files listed but absent, per split"
    )
    exp.add_argument(
        "--headset-every",
        type=int,
        default=4,
        help="SLURP: every n-th recording gets a '-headset' close-talk copy (0: none)",
    )
    exp.add_argument("--cache-dir", help="corpora cache (or QUADS_CACHE_DIR)")
    exp.set_defaults(func=cmd_export_corpus)
    return parser


# the options `run --reference-only` reads; any other one given with it would be ignored
REFERENCE_ONLY_USES = ("command", "func", "table", "profile", "print", "reference_only")


def check_reference_only(args: argparse.Namespace) -> None:
    """``ValueError`` naming every flag given with ``run --reference-only`` that it would ignore
    (each option whose value differs from its default)."""
    defaults = vars(build_parser().parse_args(["run"]))
    ignored = [
        f"--{dest.replace('_', '-')}"
        for dest, value in vars(args).items()
        if dest not in REFERENCE_ONLY_USES and value != defaults.get(dest)
    ]
    if ignored:
        raise ValueError(
            f"--reference-only renders the committed reference (reports/reference/) and reads "
            f"only --table, --profile and --print; it would ignore {', '.join(ignored)}: drop "
            "them, or drop --reference-only to run"
        )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if "cache_dir" in args:
            args.cache_dir = check_cache_dir(args.cache_dir)
        if args.command == "run" and args.reference_only:
            check_reference_only(args)
        return args.func(args)
    except (ValueError, OSError) as err:
        print(f"quads-bench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # finished runs are complete files and half-built caches are temporary folders, so the
        # same command resumes (#25)
        print("\nquads-bench: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
