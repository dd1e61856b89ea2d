"""What each `quads-bench` subcommand does (run, tune, report, list), given parsed arguments."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark.arguments import check_datasets, check_device, check_ray, check_seeds
from benchmark.paper import DATASETS
from benchmark.profiles import PROFILES, get_profile
from benchmark.rows import FRONTIER, TABLES, experiments

if TYPE_CHECKING:
    from benchmark.run.runner import RunOptions, TableRun


def default_out_dir(profile: str) -> Path:
    """``reports/`` for the default ``cpu`` profile, ``reports/<profile>/`` for the others."""
    return Path("reports") if profile == "cpu" else Path("reports") / profile


def _data_choice(args: argparse.Namespace):
    """Roots (flags, else environment), --subset and the loaders' options."""
    from benchmark.run.data_choice import DataChoice, roots_from

    return DataChoice(
        roots=roots_from(args.fsc_root, args.slurp_root),
        subset=args.subset,
        slurp_headset=args.slurp_headset,
        unseen_labels=args.unseen_labels,
    )


def out_dir_for(profile: str, replaced: dict[str, str]) -> Path:
    """The default report folder: ``default_out_dir``, or ``reports/<profile>+<corpus>...`` when
    a dataset runs on another corpus than the profile's (its results never overwrite those)."""
    base = default_out_dir(profile)
    if not replaced:
        return base
    return Path("reports") / "+".join([profile, *(replaced[d] for d in sorted(replaced))])


def _announce(md: Path, js: Path, show: bool, detail: str = "") -> int:
    """Where a report landed (and its Markdown, with ``--print``); the exit code 0."""
    print(f"report: {md}{detail}\ndata:   {js}")
    if show:
        print(md.read_text())
    return 0


def _reference_only(args: argparse.Namespace) -> int:
    """Render the committed reference alone, from its result files: seconds, no training."""
    from benchmark.report.tables import write_report
    from benchmark.results.files import scan_results
    from benchmark.results.reference import reference_dir_for

    profile = get_profile(args.profile)
    reference_dir = reference_dir_for(profile.name)
    if args.table == FRONTIER:
        from benchmark.frontier.run import report_frontier

        md, js = report_frontier(reference_dir, profile.name)
        return _announce(md, js, args.print, " (nothing trained)")
    scan = scan_results(reference_dir / "results", profile.name, args.table)
    results = scan.results
    if not results:
        raise ValueError(
            f"the reference ({reference_dir}) has no {args.table} results for profile "
            f"{profile.name!r}; run without --reference-only to train"
        )
    md, js = write_report(args.table, results, profile.name, reference_dir, excluded=scan.excluded)
    return _announce(md, js, args.print, f" ({len(results)} result files, nothing trained)")


PREDICTIONS_PATTERN = "<table>-slurp-<row slug>-seed<N>-<config digest>.jsonl"  # identity.run_id


def predictions_line(results) -> str | None:
    """Where the runs' SLURP scorer-format predictions are (each result file's
    ``artifacts["slurp_predictions"]``): one line naming the folder(s) and the file pattern; None
    when no result has any (synthetic corpora, FSC)."""
    paths = [r.artifacts.get("slurp_predictions") for r in results]
    folders = sorted({str(Path(p).parent) for p in paths if p})
    if not folders:
        return None
    where = ", ".join(f"{f}/" for f in folders)
    return f"SLURP scorer-format predictions: {where} (one .jsonl per run: {PREDICTIONS_PATTERN})"


def render_run(ran: TableRun, log: Callable[[str], None] = print) -> tuple[Path, Path]:
    """The report of what ``runner.run_table`` ran (``TableRun``): the frontier's study and
    report (``frontier.run.finish_frontier``), else the table's report beside the reference;
    then where the SLURP scorer-format predictions are, when the runs wrote any."""
    options = ran.options
    if ran.table == FRONTIER:
        from benchmark.frontier.run import finish_frontier

        paths = finish_frontier(
            list(ran.results), options.profile, ran.workspace, options, ran.seeds, log
        )
    else:
        from benchmark.report.cells import Selection
        from benchmark.report.tables import write_report

        paths = write_report(
            ran.table,
            list(ran.results),
            options.profile.name,
            options.out_dir,
            reference=list(ran.reference),
            excluded=list(ran.excluded),
            selection=Selection(options.rows, tuple(options.datasets)),
        )
    line = predictions_line(ran.results)
    if line:
        log(line)
    return paths


def run_and_render(
    table: str, options: RunOptions, log: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """Run (or resume) the selected rows of ``table``, then render: the report's paths."""
    from benchmark.run.runner import run_table

    return render_run(run_table(table, options, log), log)


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark.results.reference import reference_dir_for
    from benchmark.run.ray_executor import RayOptions
    from benchmark.run.runner import RunOptions

    if args.reference_only:
        return _reference_only(args)
    check_ray(args.executor, args.ray_address, args.ray_cpus, args.ray_gpus)
    profile = get_profile(args.profile)
    seeds = check_seeds(args.seeds or ())
    if args.device:
        check_device(args.device)
    overrides = {
        k: getattr(args, k) for k in ("precision", "device", "teacher") if getattr(args, k)
    }
    if "teacher" in overrides:
        from baselines.whisper import WHISPER_MODELS

        if args.teacher not in WHISPER_MODELS:
            raise ValueError(
                f"unknown --teacher {args.teacher!r}; known: {', '.join(WHISPER_MODELS)}"
            )
    if overrides:
        profile = dataclasses.replace(profile, **overrides)
    choice = _data_choice(args)
    datasets = tuple(dict.fromkeys(args.datasets or DATASETS))
    replaced = choice.replaced(profile, datasets)
    if args.as_reference and replaced:
        raise ValueError(
            f"--as-reference writes the reference of profile {profile.name!r} on its own corpora; "
            f"this run replaces {', '.join(f'{d} by {c}' for d, c in sorted(replaced.items()))} "
            "(drop the root flags, QUADS_FSC_ROOT / QUADS_SLURP_ROOT and --subset)"
        )
    default = out_dir_for(profile.name, replaced)
    reference_dir = reference_dir_for(profile.name)
    out = args.out or (reference_dir if args.as_reference else default)
    options = RunOptions(
        reference_dir=reference_dir,
        profile=profile,
        out_dir=out,
        seeds=seeds,
        rows=tuple(dict.fromkeys(args.rows)) if args.rows else None,
        datasets=datasets,
        data=choice,
        executor=args.executor,
        ray=RayOptions(args.ray_address, args.ray_cpus, args.ray_gpus),
        cache_dir=args.cache_dir,
        force=args.force,
        as_reference=args.as_reference,
    )

    if args.dry_run:
        from benchmark.run.dry_run import dry_run

        text, code = dry_run(args.table, options)
        print(text)
        return code
    md, js = run_and_render(args.table, options)
    return _announce(md, js, args.print)


def cmd_tune(args: argparse.Namespace) -> int:
    from benchmark.run.tune import tune
    from benchmark.run.workspace import Workspace

    profile = get_profile(args.profile)
    ws = Workspace(profile, _data_choice(args), args.cache_dir)
    md, js = tune(profile, tuple(args.datasets), ws, args.out or Path("reports"))
    return _announce(md, js, show=True)


def cmd_plateau(args: argparse.Namespace) -> int:
    from benchmark.results.reference import reference_dir_for
    from benchmark.run.plateau import find_plateaus
    from benchmark.run.workspace import Workspace

    profile = get_profile(args.profile)
    check_datasets(args.datasets)
    ws = Workspace(profile, _data_choice(args), args.cache_dir)
    out = args.out or reference_dir_for(profile.name)
    md, js = find_plateaus(
        profile, tuple(args.datasets), ws, out, args.seed, args.cap, args.patience
    )
    return _announce(md, js, show=True)


def cmd_continue(args: argparse.Namespace) -> int:
    from benchmark.continuation import continue_runs
    from benchmark.results.reference import reference_dir_for
    from benchmark.run.workspace import Workspace

    profile = get_profile(args.profile)
    if args.datasets:
        check_datasets(args.datasets)
    if args.twin:
        profile = dataclasses.replace(profile, precision=args.twin)
    ws = Workspace(profile, _data_choice(args), args.cache_dir)
    out = args.out or reference_dir_for(profile.name)
    source = args.results or out
    if args.twin and out.resolve() == source.resolve():
        raise ValueError(
            f"--twin: write the twins' report to another --out than {source} (the tables read "
            "continuation evidence there, and a twin is not evidence for their cells)"
        )
    evidence = None
    if args.still_climbing:
        from benchmark.report.continued import continuation_path, load_continued

        if not continuation_path(source, args.table).is_file():
            raise ValueError(
                f"--still-climbing: no {continuation_path(source, args.table)}; run the "
                f"continuation check first (`quads-bench continue --out {source}`)"
            )
        evidence = load_continued(source, args.table, profile.name)
    md, js = continue_runs(
        profile,
        args.table,
        ws,
        source / "results",
        out,
        args.epochs,
        datasets=args.datasets,
        seeds=args.seeds,
        every_run=args.all,
        evidence=evidence,
        retrain=args.retrain or bool(args.twin),
        twin=bool(args.twin),
    )
    return _announce(md, js, show=True)


def cmd_authors_check(args: argparse.Namespace) -> int:
    from benchmark.results.reference import reference_dir_for
    from benchmark.rows import AUTHORS_BITS
    from benchmark.run.authors_check import check_authors, check_path, render_check
    from benchmark.run.workspace import Workspace

    profile = get_profile(args.profile)
    check_datasets(args.datasets)
    if args.bits not in AUTHORS_BITS:
        raise ValueError(f"--bits {args.bits}: the authors' row runs at {AUTHORS_BITS}")
    for flag, value in (("--epochs", args.epochs), ("--every", args.every)):
        if value < 1:
            raise ValueError(f"{flag} {value}: must be at least 1")
    out = args.out or reference_dir_for(profile.name)
    if args.report_only:
        js = check_path(out, profile.name, args.bits)
        return _announce(render_check(js), js, show=True)
    ws = Workspace(profile, _data_choice(args), args.cache_dir)
    md, js = check_authors(
        profile,
        tuple(args.datasets),
        args.bits,
        ws,
        out,
        seed=args.seed,
        epochs=args.epochs,
        long_epochs=args.long_epochs,
        every=args.every,
    )
    return _announce(md, js, show=True)


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark.report.tables import write_report
    from benchmark.results.files import read_results, scan_results
    from benchmark.results.reference import is_inside, reference_dir_for

    profile = get_profile(args.profile)
    reference_dir = reference_dir_for(profile.name)
    out = args.out or default_out_dir(profile.name)
    if args.table == FRONTIER:
        from benchmark.frontier.run import report_frontier

        md, js = report_frontier(out, profile.name, log=lambda line: print(line, file=sys.stderr))
        return _announce(md, js, args.print)
    scan = scan_results(out / "results", profile.name, args.table)
    results = scan.results
    for line in scan.excluded:
        print(f"excluded from the report: {line}", file=sys.stderr)
    reference = (
        None
        if is_inside(out, reference_dir)
        else read_results(reference_dir / "results", profile.name, args.table)
    )
    md, js = write_report(
        args.table, results, profile.name, out, reference=reference, excluded=scan.excluded
    )
    return _announce(md, js, args.print, f" ({len(results)} result files)")


def cmd_robustness(args: argparse.Namespace) -> int:
    """Inference-only noise-robustness sweep of the trained Table 1 rows (ours)."""
    from benchmark.data.corruptions import CONDITIONS
    from benchmark.results.reference import reference_dir_for
    from benchmark.robustness.run import RobustnessOptions, run_robustness

    profile = get_profile(args.profile)
    reference_dir = reference_dir_for(profile.name)
    options = RobustnessOptions(
        profile=profile,
        out_dir=args.out or (reference_dir if args.as_reference else default_out_dir(profile.name)),
        reference_dir=reference_dir,
        datasets=tuple(dict.fromkeys(args.datasets or DATASETS)),
        conditions=tuple(args.conditions or CONDITIONS),
        cache_dir=args.cache_dir,
        table1_results=args.table1_results,
        as_reference=args.as_reference,
        batch_size=args.batch_size,
        precision=args.precision,
        seeds=args.seeds,
        report_only=args.report_only,
        retrain=args.retrain,
    )
    md, js = run_robustness(options)
    return _announce(md, js, args.print)


def cmd_list(args: argparse.Namespace) -> int:
    from baselines.registry import MODELS
    from baselines.weights import available_offline
    from benchmark.results.files import read_results

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


def cmd_export_corpus(args: argparse.Namespace) -> int:
    """Write a synthetic corpus in the official FSC or SLURP layout."""
    from benchmark.data.cache import cache_root
    from benchmark.data.corpora import get_corpus
    from benchmark.data.export import check_out, export_corpus
    from benchmark.data.subset import stratified_subset

    profile = get_profile(args.profile)
    check_out(args.out)  # before a corpus is generated
    name = f"synthetic-{args.layout}"
    options = {"config": profile.synthetic[name]} if name in profile.synthetic else {}
    cache = (args.cache_dir or cache_root()) / "corpora"
    corpus = get_corpus(name, cache_dir=cache, **options)
    if args.subset is not None:
        corpus = stratified_subset(corpus, args.subset)
    done = export_corpus(corpus, args.layout, args.out, args.missing, args.headset_every)
    root_flag = "--fsc-root" if args.layout == "fsc" else "--slurp-root"
    print(
        f"{done.root}: {corpus.name} in the {args.layout.upper()} layout, {done.audio_files} "
        f"audio files ({done.headset_copies} close-talk copies), {done.missing} listed but "
        f"missing\nuse it with: quads-bench run {root_flag} {done.root}"
    )
    return 0
