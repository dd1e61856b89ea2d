"""The frontier after its rows ran (``runner.run_table("frontier")``, then ``commands.render_run``): the
study of each
(dataset, seed), then the report; ``report_frontier`` renders from existing files only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from benchmark.frontier.report import write_frontier_report
from benchmark.frontier.study import read_records, run_study
from benchmark.profiles import Profile
from benchmark.results.files import Result, scan_results
from benchmark.rows import FRONTIER


def _table1(results_dir: Path, profile: str, log: Callable[[str], None]) -> list[Result]:
    scan = scan_results(results_dir, profile, "table1")
    for line in scan.excluded:
        log(f"excluded from the frontier report: {line}")
    if not scan.results:
        log(
            f"frontier: no Table 1 result files in {results_dir / profile / 'table1'}: its "
            "32/16/8/4-bit rows are n/m (run `quads-bench run --table table1 --rows QUADS "
            "'PTQ control (ours)'` with the same --out)"
        )
    return scan.results


def finish_frontier(
    results: Sequence[Result],
    profile: Profile,
    ws,
    options,
    seeds: Sequence[int],
    log: Callable[[str], None] = print,
) -> tuple[Path, Path]:
    """Study every (dataset, seed) (resumable), then write frontier.md / .json / .png."""
    records = run_study(profile, ws, options.results_dir, options.datasets, seeds, log=log)
    table1 = _table1(options.results_dir, profile.name, log)
    return write_frontier_report(table1, results, records, profile.name, options.out_dir)


def report_frontier(
    out_dir: Path, profile: str, log: Callable[[str], None] = print
) -> tuple[Path, Path]:
    """The report from the result files and study records already in ``out_dir``."""
    results_dir = out_dir / "results"
    scan = scan_results(results_dir, profile, FRONTIER)
    for line in scan.excluded:
        log(f"excluded from the frontier report: {line}")
    table1 = _table1(results_dir, profile, log)
    records = read_records(
        results_dir, profile, lambda x: log(f"excluded from the frontier report: {x}")
    )
    return write_frontier_report(table1, scan.results, records, profile, out_dir)
