"""Run table rows, persist one result file per run, resume where a previous run stopped.

``run_table`` returns what it ran (``TableRun``); rendering the report (``benchmark.report``) or
a study's finishing step (``benchmark.frontier``) is the caller's (``benchmark.commands``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from benchmark.data.integrity import exported_model_problem
from benchmark.paper import DATASETS
from benchmark.profiles import Profile
from benchmark.results.files import (
    Result,
    read_for_reuse,
    read_result,
    result_path,
    scan_results,
    write_result,
)
from benchmark.results.identity import config_differences, differs_only_in_code
from benchmark.results.reference import REFERENCE_DIR, check_out_dir
from benchmark.rows import FRONTIER, Experiment, experiments
from benchmark.run import preflight
from benchmark.run.data_choice import DataChoice
from benchmark.run.experiment import run_config, run_experiment
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


def select(table: str, rows: Sequence[str] | None, datasets: Sequence[str]) -> list[Experiment]:
    """Experiments of a table filtered by row label and dataset; unknown names list valid ones."""
    exps = experiments(table)
    known_rows = sorted({e.row for e in exps})
    for r in rows or ():
        if r not in known_rows:
            raise ValueError(f"unknown row {r!r} for {table}; known: {', '.join(known_rows)}")
    for d in datasets:
        if d not in DATASETS:
            raise ValueError(f"unknown dataset {d!r}; known: {', '.join(DATASETS)}")
    return [e for e in exps if (not rows or e.row in rows) and e.dataset in datasets]


def _is_current(
    path: Path, config: dict[str, object], results_dir: Path, log: Callable[[str], None] = print
) -> bool:
    """Whether the result file at ``path`` is complete and made with ``config``. A file that
    cannot be trusted (``read_result`` refuses it) or whose exported model is damaged
    (``exported_model_problem``) is recomputed, with one line naming it."""
    stored = read_for_reuse(path, read_result, results_dir, log)
    if stored is None:
        return False
    if stored.config != config:
        if differs_only_in_code(stored.config, config):
            diffs = "; ".join(config_differences(stored.config, config)[:2])
            log(f"recomputing {path}: made by other training code ({diffs})")
        return False
    model = stored.artifacts.get("model")
    # a deleted model file leaves the measurement valid; a damaged one means the run broke
    problem = exported_model_problem(Path(model)) if model and Path(model).exists() else None
    if problem:
        log(f"recomputing: the exported model of result file {path} is damaged: {problem}")
        return False
    return True


def config_conflicts(
    results_dir: Path,
    profile: str,
    exp: Experiment,
    config: dict[str, object],
    seeds: Sequence[int],
    force: bool,
) -> list[preflight.Problem]:
    """One problem per stored result of ``exp`` (any seed) in ``results_dir`` that a run with
    ``config`` would silently replace or be averaged with: made with another configuration (other
    precision, corpus, teacher, profile settings ...; ``identity.differs_only_in_code`` runs,
    made by older training code, are recomputed instead). ``force`` replaces the runs of
    ``seeds``; a conflicting file of another seed is never replaced implicitly."""
    folder = result_path(results_dir, exp, profile, 0).parent
    lines = []
    for path in sorted(folder.glob(f"{exp.slug}-seed*.json")) if folder.is_dir() else ():
        try:
            stored = read_result(path, results_dir)
        except ValueError:
            continue  # recomputed, or left out of the report, with its own line
        if stored.config == config or differs_only_in_code(stored.config, config):
            continue
        if force and stored.seed in seeds:
            continue
        diffs = "; ".join(config_differences(stored.config, config)[:4])
        fix = (
            "pass --force to replace it"
            if stored.seed in seeds
            else f"pass --force with --seeds including {stored.seed} to replace it"
        )
        lines.append(
            preflight.Problem(
                f"{path} holds a run of another configuration ({diffs})",
                f"write this run to another --out to keep both, or {fix}",
            )
        )
    return lines


def _plan_lines(todo: list, est) -> list[str]:
    counts: dict[str, int] = {}
    for exp, _seed, _path in todo:
        label = f"{exp.row} {exp.bits} bit" + (
            f" ({exp.init}, {exp.strategy})" if exp.table == "table2" else ""
        )
        counts[f"{label} {exp.dataset}"] = counts.get(f"{label} {exp.dataset}", 0) + 1
    return [f"  {label}: {n} seed(s)" for label, n in counts.items()] + [estimate_line(est)]


def train_utterances(data: Sequence[preflight.DataNeed]) -> dict[str, int | None]:
    """Training utterances per dataset that a run will read (usable, else listed; None:
    unknown): what ``reference.plan_estimate`` scales the reference's wall times by."""
    return {d.dataset: d.usable.get("train") or d.utterances.get("train") for d in data}


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


def _run_locally(todo: list, profile: Profile, choice: DataChoice, ws: Workspace):
    """The runs of ``todo`` one after the other in this process: (index, Result) as they end."""
    for i, (exp, seed, _path) in enumerate(todo):
        tqdm.write(
            f"== {exp.row} [{exp.bits} bit, {exp.init}, {exp.strategy}, {exp.dataset}, seed {seed}]"
        )
        yield i, run_experiment(exp, choice.profile_for(profile, exp.dataset), seed, ws)


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
    todo, done, conflicts = [], 0, []
    for exp in exps:
        config = run_config(exp, profile, choice, ws)
        seeds = options.seeds or profile.seeds_for(exp)
        conflicts += config_conflicts(
            options.results_dir, profile.name, exp, config, seeds, options.force
        )
        for seed in seeds:
            path = result_path(options.results_dir, exp, profile.name, seed)
            if not options.force and _is_current(path, config, options.results_dir, log):
                done += 1
            else:
                todo.append((exp, seed, path))
    preflight.require_none(conflicts)
    log(f"{table}: {len(todo)} runs to do, {done} complete results reused ({options.results_dir})")
    # the reference machine's yardstick, measured before training while the machine is quiet
    # (not for the frontier: its rows are ours, and its run may share the machine with another
    # job, so it leaves the reference's yardstick alone)
    step_seconds = calibrate() if options.as_reference and todo and table != FRONTIER else None
    # cells are compared with the reference only where both ran on the same corpus
    replaced = choice.replaced(profile, {e.dataset for e in exps})
    reference = []
    if not options.as_reference and len(replaced) < len({e.dataset for e in exps}):
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
        est = plan_estimate(table, todo, profile, train_utterances(pf.data), options.reference_dir)
    if todo:
        for line in _plan_lines(todo, est):
            log(line)
    bar, steps = progress_bar(table, est, len(todo))
    trained_seconds = 0.0
    if options.executor == "ray":
        from benchmark.run.ray_executor import run_on_ray

        finished = run_on_ray(todo, profile, choice, ws.cache, options.ray, log=log)
    else:
        finished = _run_locally(todo, profile, choice, ws)
    for i, result in finished:
        write_result(todo[i][2], result)
        trained_seconds += result.wall_seconds
        bar.update(steps[i])
    bar.close()
    for ds in sorted({e.dataset for e in exps}):
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
