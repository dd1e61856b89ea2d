"""``quads-bench robustness``: plan, evaluate, report (``sweep`` + ``report``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmark.arguments import check_datasets
from benchmark.data.corruptions import CONDITIONS, Condition, get_condition
from benchmark.paper import DATASETS
from benchmark.profiles import Profile
from benchmark.results.reference import REFERENCE_DIR, check_out_dir
from benchmark.robustness.report import write_robustness_report
from benchmark.robustness.results import scan_robustness
from benchmark.robustness.sweep import SEED_POLICIES, Plan, SweepLog, plan, run_sweep
from benchmark.run.data_choice import DataChoice
from benchmark.run.workspace import Workspace
from quads.train import resolve_precision


@dataclass(frozen=True)
class RobustnessOptions:
    profile: Profile
    out_dir: Path  # reports land here, result files under out_dir / "results"
    datasets: tuple[str, ...] = DATASETS
    conditions: tuple[str, ...] = tuple(CONDITIONS)
    cache_dir: Path | None = None
    table1_results: Path | None = None  # Table 1 result files (default: out_dir / "results")
    as_reference: bool = False
    reference_dir: Path = REFERENCE_DIR
    batch_size: int = 32
    # inference arithmetic of the sweep: "fp32" | "bf16" (autocast) | "auto" (bf16 where the
    # device has native bf16 matmuls, as training does: quads.train.resolve_precision)
    precision: str = "auto"
    seeds: str = "claim"  # which seeds of each row (benchmark.robustness.sweep.SEED_POLICIES)
    report_only: bool = False  # render the report from existing result files, evaluate nothing
    # train a run again where its snapshot is missing (result files unchanged; robustness.retrain)
    retrain: bool = False


def run_robustness(
    options: RobustnessOptions, log: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """Evaluate every trained Table 1 row and seed of the profile; write the report."""
    start = time.perf_counter()
    check_out_dir(options.out_dir, options.as_reference, options.reference_dir)
    check_datasets(options.datasets)
    conditions = [get_condition(n) for n in dict.fromkeys(options.conditions)]
    if not conditions:
        raise ValueError("--conditions: name at least one condition")
    if options.precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"--precision must be auto, fp32 or bf16, got {options.precision!r}")
    if options.seeds not in SEED_POLICIES:
        raise ValueError(
            f"--seeds must be one of {', '.join(SEED_POLICIES)}, got {options.seeds!r}"
        )
    if options.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {options.batch_size}")
    profile = options.profile
    ws = Workspace(profile, DataChoice(), options.cache_dir)
    results_dir = options.out_dir / "results"
    table1_dir = options.table1_results or results_dir
    the_plan = plan(profile, options.datasets, ws.cache, results_dir, table1_dir, options.seeds)
    if options.report_only:
        log("robustness: --report-only: nothing evaluated; the report comes from the result files")
        sweep = SweepLog()
    else:
        if options.retrain and the_plan.no_snapshot:
            from benchmark.robustness.retrain import retrain_snapshots

            retrain_snapshots(profile, the_plan.no_snapshot, ws, table1_dir, log)
            the_plan = plan(
                profile, options.datasets, ws.cache, results_dir, table1_dir, options.seeds
            )
        sweep = _sweep(options, conditions, the_plan, ws, results_dir, table1_dir, start, log)
    results, excluded = scan_robustness(results_dir, profile.name)
    results = [r for r in results if r.experiment.dataset in options.datasets]
    for line in excluded:
        log(f"excluded from the report: {line}")
    # from the result files alone (not this machine's cache), so the report re-renders anywhere
    missing = [why for path, why in the_plan.unevaluated if not path.exists()]
    counts = [
        f"Rows evaluated: {len(results)} (row, seed) result files; skipped: "
        f"{profile.name} measures {the_plan.efficiency_only} (row, dataset) pairs for efficiency "
        f"only; {the_plan.left_out} (row, seed) runs are outside the seed policy "
        f"`--seeds {options.seeds}`; {len(missing)} (row, seed) runs were not evaluated"
        + (" (" + "; ".join(missing) + ")" if missing else ""),
        *(f"Damaged snapshot, not evaluated: {d}" for d in sweep.damaged),
    ]
    return write_robustness_report(results, profile.name, options.out_dir, counts, excluded)


def _sweep(
    options: RobustnessOptions,
    conditions: list[Condition],
    the_plan: Plan,
    ws: Workspace,
    results_dir: Path,
    table1_dir: Path,
    start: float,  # time.perf_counter() at the command's start
    log: Callable[[str], None],
) -> SweepLog:
    """Evaluate the plan's jobs (a complete result file of the same configuration is reused)."""
    precision = resolve_precision(options.precision, ws.device)
    log(
        f"robustness: {len(the_plan.jobs)} (row, seed) runs with a snapshot, "
        f"{len(the_plan.skipped)} without, {the_plan.left_out} outside --seeds {options.seeds}, "
        f"{the_plan.efficiency_only} efficiency-only rows; {len(conditions)} conditions + clean; "
        f"{precision} inference"
    )
    for line in the_plan.skipped:
        log(f"skipped: {line}")
    sweep = run_sweep(
        options.profile,
        conditions,
        the_plan,
        ws,
        results_dir,
        table1_dir,
        options.batch_size,
        precision,
        log,
    )
    wall = time.perf_counter() - start
    log(
        f"robustness: {sweep.evaluated} evaluated, {sweep.reused} reused, "
        f"{len(sweep.damaged)} damaged snapshots, {len(sweep.mismatches)} clean mismatches; "
        f"{wall:.0f} s (corrupted features built now: "
        + ", ".join(f"{d} {s:.0f} s" for d, s in sorted(sweep.feature_seconds.items()))
        + f"; inference {sweep.inference_seconds:.0f} s)"
    )
    return sweep
