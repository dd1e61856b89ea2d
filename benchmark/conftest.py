"""pytest configuration of the speed benchmarks: `pytest benchmark/ --benchmark-only`.

The benchmarks are in `benchmark/speed/`; this file stays in `benchmark/` because pytest reads
command-line options only from conftest files it loads at start-up (those of the folders given on
the command line), and `pytest benchmark/ --bench-full` must know `--bench-full`.

Options (registered here, so give `benchmark/` or a file in it on the command line):
    --bench-full       also run the benchmarks marked `bench_full` (minutes per call on a
                       small CPU); without it they are skipped with the marker's reason.
    --bench-threads N  torch intra-op threads for the whole run (default 1; 0 keeps torch's
                       default). One thread by default: on a machine shared with other jobs,
                       several threads can make a forward pass many times slower and erratic
                       (OpenMP threads waiting on a descheduled peer); one thread does not.

What it adds to pytest-benchmark's JSON (`--benchmark-json PATH`; PATH's folder is created):
    "skipped": [{"name", "fullname", "group", "reason"}, ...], every benchmark of this folder
        that was skipped (pytest-benchmark itself leaves skipped tests out), sorted by fullname;
    machine_info["quads"]: torch version, threads, load average at start and end, CPU count;
    "suite_seconds": wall time from session start to the JSON being written.

Every benchmark's `extra_info` also gets the 1-minute load average before and after it
("load_before", "load_after"), so a noisy number can be traced to a busy machine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

FULL_MARKER = "bench_full"
DEFAULT_THREADS = 1
_HERE = Path(__file__).resolve().parent
_STATE = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quads benchmarks")
    group.addoption(
        "--bench-full",
        action="store_true",
        default=False,
        help="also run the slow benchmarks (marked bench_full); skipped and listed otherwise",
    )
    group.addoption(
        "--bench-threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"torch intra-op threads (default {DEFAULT_THREADS}; 0 = torch's default)",
    )


def _load1() -> float:
    return round(os.getloadavg()[0], 2)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{FULL_MARKER}(reason): a slow benchmark, run only with --bench-full",
    )
    # fvcore traces with torch.jit, which torch 2.13 reports as deprecated on every count
    config.addinivalue_line(
        "filterwarnings", "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
    )
    json_path = config.getoption("benchmark_json", None)
    if json_path is not None:  # pytest-benchmark writes it at the end and does not create folders
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    threads = config.getoption("bench_threads", DEFAULT_THREADS)
    if threads is None or threads < 0:
        raise pytest.UsageError(f"--bench-threads must be >= 0, got {threads}")
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
    config.stash[_STATE] = {
        "start": time.perf_counter(),
        "load_start": _load1(),
        "threads": torch.get_num_threads(),
        "skipped": {},
    }


def _in_this_folder(path: Path) -> bool:
    path = Path(path).resolve()
    return _HERE in path.parents


def _group(item: pytest.Item) -> str | None:
    bench = item.get_closest_marker("benchmark")
    return bench.kwargs.get("group") if bench is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("bench_full", False):
        return
    for item in items:
        marker = item.get_closest_marker(FULL_MARKER)
        if marker is not None and _in_this_folder(item.path):
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "slow")
            item.add_marker(pytest.mark.skip(reason=f"{reason}; run with --bench-full"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and report.when in ("setup", "call") and _in_this_folder(item.path):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not reason.startswith("Skipping non-benchmark"):  # --benchmark-only on a plain test
            item.config.stash[_STATE]["skipped"][item.nodeid] = {
                "name": item.name,
                "fullname": item.nodeid,
                "group": _group(item),
                "reason": reason,
            }
    return report


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    import torch

    state = config.stash[_STATE]
    machine_info["quads"] = {
        "torch": torch.__version__,
        "threads": state["threads"],
        "cpu_count": os.cpu_count(),
        "load_start": state["load_start"],
        "load_end": _load1(),
    }


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list, output_json: dict
) -> None:
    state = config.stash[_STATE]
    output_json["skipped"] = [state["skipped"][k] for k in sorted(state["skipped"])]
    output_json["suite_seconds"] = round(time.perf_counter() - state["start"], 1)


@pytest.fixture(autouse=True)
def _record_load(request: pytest.FixtureRequest):
    """Put the 1-minute load average before/after each benchmark into its extra_info."""
    if "benchmark" not in request.fixturenames:
        yield
        return
    bench = request.getfixturevalue("benchmark")
    bench.extra_info["load_before"] = _load1()
    yield
    bench.extra_info["load_after"] = _load1()
