"""The committed reports are what the code renders from the committed result files: a change of
the report code (or of a result file) that is not followed by a re-render fails here, so the
reports a reader opens never drift from the result files they name."""

import shutil
from pathlib import Path

import pytest

from benchmark.report.continued import load_evidence, load_twins
from benchmark.report.tables import write_report
from benchmark.results.files import scan_results
from benchmark.results.reference import reference_dir_for

ROOT = Path(__file__).resolve().parent.parent


def _assert_renders_as(md: Path, js: Path, committed_md: Path, command: str) -> None:
    """A fresh render (``md`` and its ``js``) equals the committed Markdown and its JSON twin,
    byte for byte; the failure names ``command``, which re-renders the committed one."""
    assert md.read_text() == committed_md.read_text(), (
        f"{committed_md} differs from a render of its result files: run `{command}`"
    )
    assert js.read_bytes() == committed_md.with_suffix(".json").read_bytes()


@pytest.mark.parametrize("profile", ["cpu", "converged"])
@pytest.mark.parametrize("table", ["table1", "table2"])
def test_a_committed_report_re_renders_byte_identical(profile, table, tmp_path):
    folder = reference_dir_for(profile)  # absolute: <repo>/reports/reference[/converged]
    committed_md = folder / f"{table}.md"
    assert committed_md.is_file(), f"{committed_md} is missing"
    scan = scan_results(folder / "results", profile, table)
    assert scan.results, f"no result files under {folder / 'results'}"
    continued = load_evidence(folder, table, profile)  # the continuations' evidence
    twins = load_twins(folder, table, profile)
    md, js = write_report(
        table,
        scan.results,
        profile,
        tmp_path,
        excluded=scan.excluded,
        continued=continued,
        twins=twins,
    )
    _assert_renders_as(
        md,
        js,
        committed_md,
        f"quads-bench report --table {table} --profile {profile} --out {folder.relative_to(ROOT)}",
    )


# checks beside the reference: a user's run kept as evidence (folder under reports/, profile,
# table), rendered with the reference beside it, as `quads-bench report` does
CHECKS = [("checks/cpu-fp32-fsc", "cpu", "table1")]


@pytest.mark.parametrize("folder,profile,table", CHECKS)
def test_a_committed_check_re_renders_byte_identical(folder, profile, table, tmp_path):
    from benchmark.results.files import read_results

    folder = ROOT / "reports" / folder
    scan = scan_results(folder / "results", profile, table)
    assert scan.results and not scan.excluded, f"no usable result files under {folder}"
    reference = read_results(reference_dir_for(profile) / "results", profile, table)
    md, js = write_report(table, scan.results, profile, tmp_path, reference=reference)
    _assert_renders_as(
        md,
        js,
        folder / f"{table}.md",
        f"quads-bench report --table {table} --profile {profile} --out {folder.relative_to(ROOT)}",
    )


def test_the_committed_frontier_report_re_renders_byte_identical(tmp_path):
    from benchmark.frontier.run import report_frontier

    folder = reference_dir_for("cpu")
    shutil.copytree(folder / "results", tmp_path / "results")
    md, js = report_frontier(tmp_path, "cpu", log=lambda line: None)
    _assert_renders_as(
        md,
        js,
        folder / "frontier.md",
        "quads-bench report --table frontier --profile cpu --out reports/reference",
    )


@pytest.mark.parametrize("profile", ["cpu", "converged"])
def test_a_committed_robustness_report_re_renders_byte_identical(profile, tmp_path):
    """From its result files alone, with an empty cache: what the report lists as not evaluated
    must not depend on the machine's cache (snapshots there or not)."""
    from benchmark.profiles import get_profile
    from benchmark.robustness.run import RobustnessOptions, run_robustness

    folder = reference_dir_for(profile)
    shutil.copytree(folder / "results", tmp_path / "results")
    options = RobustnessOptions(
        get_profile(profile), tmp_path, cache_dir=tmp_path / "cache", report_only=True
    )
    md, js = run_robustness(options, log=lambda line: None)
    _assert_renders_as(
        md,
        js,
        folder / "robustness.md",
        f"quads-bench robustness --profile {profile} --as-reference "
        f"--out {folder.relative_to(ROOT)} --report-only",
    )


@pytest.mark.parametrize(
    "payload",
    sorted(reference_dir_for("converged").rglob("continuation-*.json")),
    ids=lambda p: str(p.relative_to(reference_dir_for("converged"))),
)
def test_a_committed_continuation_report_re_renders_from_its_json(payload):
    import json

    from benchmark.continuation import continuation_lines

    md = payload.with_suffix(".md")
    assert (
        md.read_text() == "\n".join(continuation_lines(json.loads(payload.read_text()))) + "\n"
    ), f"{md} differs from a render of {payload.name}"
