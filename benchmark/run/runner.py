"""Run table rows, persist one result file per run, resume where a previous run stopped.

``run_table`` returns what it ran (``TableRun``); rendering the report (``benchmark.report``) or
a study's finishing step (``benchmark.frontier``) is the caller's (``benchmark.commands``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from benchmark.paper import DATASETS
from benchmark.profiles import Profile
from benchmark.results.files import Result, scan_results, write_result
from benchmark.results.reference import REFERENCE_DIR, check_out_dir
from benchmark.rows import FRONTIER
from benchmark.run import preflight
from benchmark.run.data_choice import DataChoice
from benchmark.run.experiment import run_experiment
from benchmark.run.plan import PlannedRun, make_plan, select, train_utterances
from benchmark.run.ray_executor import RayOptions
from benchmark.run.reference import (
    calibrate,
    estimate_line,
    plan_estimate,
    write_calibration,
)
from benchmark.run.workspace import Workspace


@dataclass(frozen=True)
class RunOptions:
    profile: Profile
    out_dir: Path  # reports land here; result files under out_dir / "results"
    seeds: tuple[int, ...] = ()  # empty: the profile's seeds
    rows: tuple[str, ...] | None = None  # paper row labels; None = all
    datasets: tuple[str, ...] = DATASETS
    data_roots: dict[str, str] = field(default_factory=dict)  # corpus name -> root folder
    data: DataChoice | None = None  # roots, --subset, loader options (None: data_roots alone)
    executor: str = "local"  # "local" | "ray" (benchmark.run.ray_executor)
    ray: RayOptions = field(default_factory=RayOptions)
    cache_dir: Path | None = None
    force: bool = False  # recompute even complete results
    as_reference: bool = False  # maintainers: (re)write the committed reference run
    reference_dir: Path = REFERENCE_DIR

    @property
    def results_dir(self) -> Path:
        return self.out_dir / "results"

    @property
    def choice(self) -> DataChoice:
        return self.data if self.data is not None else DataChoice(roots=self.data_roots)


def _plan_lines(todo: Sequence[PlannedRun], est) -> list[str]:
    counts: dict[str, int] = {}
    for exp in (r.exp for r in todo):
        label = f"{exp.row} {exp.bits} bit" + (
            f" ({exp.init}, {exp.strategy})" if exp.table == "table2" else ""
        )
        counts[f"{label} {exp.dataset}"] = counts.get(f"{label} {exp.dataset}", 0) + 1
    return [f"  {label}: {n} seed(s)" for label, n in counts.items()] + [estimate_line(est)]


def progress_bar(desc: str, est, n_runs: int) -> tuple[tqdm, list[int]]:
    """A bar counting estimated seconds (an ETA that weighs long and short runs), else runs, and
    the step to add after each run.

    Steps are whole estimated seconds per run and the total is their sum, so the count never
    passes the total (tqdm drops a total that the count exceeds, and a format using it fails)."""
    if est is None:
        return tqdm(total=n_runs, desc=desc, unit="run"), [1] * n_runs
    steps = [round(s) for s in est.per_run]
    bar = tqdm(
        total=sum(steps),
        desc=desc,
        unit="s",
        bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} est. s [{elapsed}<{remaining}]",
    )
    return bar, steps


EXECUTORS = ("local", "ray")


def _run_locally(todo: Sequence[PlannedRun], ws: Workspace):
    """The runs of ``todo`` one after the other in this process: (index, Result) as they end."""
    for i, run in enumerate(todo):
        exp, seed = run.exp, run.seed
        tqdm.write(
            f"== {exp.row} [{exp.bits} bit, {exp.init}, {exp.strategy}, {exp.dataset}, seed {seed}]"
        )
        yield i, run_experiment(exp, run.profile, seed, ws)


@dataclass(frozen=True)
class TableRun:
    """What ``run_table`` ran: everything the report or a study's finishing step reads."""

    table: str
    options: RunOptions
    results: tuple[Result, ...]  # the valid result files of the table, after the runs
    excluded: tuple[str, ...]  # one line per result file left out of the report, with why
    # the committed reference's results to compare with (empty: none, or this is the reference)
    reference: tuple[Result, ...]
    workspace: Workspace  # the data the runs shared (a study after the rows reuses it)
    seeds: tuple[int, ...]  # the seeds asked for (the profile's when none were)


def run_table(table: str, options: RunOptions, log: Callable[[str], None] = print) -> TableRun:
    """Run (or resume) every selected row of ``table``; what it ran, for the report.

    Before training, prints what will run and an estimate of how long it takes here; the report
    shows the committed reference beside each cell (``benchmark.results.reference``), from
    ``TableRun.reference``."""
    profile = options.profile
    if options.executor not in EXECUTORS:
        raise ValueError(f"unknown executor {options.executor!r}; known: {', '.join(EXECUTORS)}")
    check_out_dir(options.out_dir, options.as_reference, options.reference_dir)
    exps = select(table, options.rows, options.datasets)
    started = time.perf_counter()
    choice = options.choice
    ws = Workspace(profile, choice, options.cache_dir)
    # everything the runs need, checked in seconds before any corpus is generated or loaded
    pf = preflight.check(exps, profile, choice, options.out_dir, ws.cache, options.rows or ())
    preflight.require(pf)
    plan = make_plan(table, options, ws, log, exps=exps)
    preflight.require_none(plan.conflicts)
    todo = plan.todo
    log(
        f"{table}: {len(todo)} runs to do, {plan.done} complete results reused "
        f"({options.results_dir})"
    )
    # the reference machine's yardstick, measured before training while the machine is quiet
    # (not for the frontier: its rows are ours, and its run may share the machine with another
    # job, so it leaves the reference's yardstick alone)
    step_seconds = calibrate() if options.as_reference and todo and table != FRONTIER else None
    # cells are compared with the reference only where both ran on the same corpus
    replaced = choice.replaced(profile, plan.profiles)
    reference = []
    if not options.as_reference and len(replaced) < len(plan.profiles):
        ref_scan = scan_results(options.reference_dir / "results", profile.name, table)
        reference = [r for r in ref_scan.results if r.experiment.dataset not in replaced]
        if ref_scan.excluded:
            log(
                f"the reference's {len(ref_scan.excluded)} unusable result file(s) are left out "
                f"of the comparison (first: {ref_scan.excluded[0]})"
            )
    est = None
    if todo and not options.as_reference:
        # the same estimate as --dry-run's (reference.plan_estimate), so the ETA bar is the plan's
        est = plan_estimate(
            table,
            [(r.exp, r.seed) for r in todo],
            profile,
            train_utterances(pf.data, profile.subset),
            options.reference_dir,
            precision=ws.precision,
        )
    if todo:
        for line in _plan_lines(todo, est):
            log(line)
    bar, steps = progress_bar(table, est, len(todo))
    trained_seconds = 0.0
    if options.executor == "ray":
        from benchmark.run.ray_executor import run_on_ray

        jobs = [(r.exp, r.seed, r.result_path) for r in todo]
        finished = run_on_ray(jobs, profile, choice, ws.cache, options.ray, log=log)
    else:
        finished = _run_locally(todo, ws)
    for i, result in finished:
        write_result(todo[i].result_path, result)
        trained_seconds += result.wall_seconds
        bar.update(steps[i])
    bar.close()
    for ds in plan.profiles:  # sorted by name
        notes = ws.data_notes(ds)
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(notes["skipped"].items())) or "none"
        converted = {
            k: sum(int(n.get(k, 0)) for n in notes["features"].values())
            for k in ("unreadable", "resampled", "downmixed")
        }
        log(
            f"{ds} ({notes['corpus']}): skipped in the manifest: {skipped}; "
            + ", ".join(f"{k}: {v}" for k, v in converted.items())
        )
    if step_seconds is not None:
        setup = time.perf_counter() - started - trained_seconds
        write_calibration(step_seconds, table, setup, options.reference_dir)
    scan = scan_results(options.results_dir, profile.name, table)
    for line in scan.excluded:
        log(f"excluded from the report: {line}")
    return TableRun(
        table=table,
        options=options,
        results=tuple(scan.results),
        excluded=tuple(scan.excluded),
        reference=tuple(reference),
        workspace=ws,
        seeds=tuple(options.seeds or profile.seeds),
    )
