"""Pages that name code stay true to it: the reliability matrix names tests that exist, the
README's set-up commands are the ones CI (.ci/run) runs, and the README's verdicts are those of
the reports it links."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def missing_tests(matrix: str, tests_dir: Path) -> list[str]:
    """Test names (`test_...`) and test files (`tests/....py`) in ``matrix`` that do not exist."""
    sources = "\n".join(p.read_text() for p in tests_dir.glob("test_*.py"))
    missing = []
    for name in sorted(set(re.findall(r"`(tests/[\w/]+\.py)`", matrix))):
        if not (tests_dir.parent / name).is_file():
            missing.append(name)
    for name in sorted(set(re.findall(r"`(test_\w+)`", matrix))):
        if not re.search(rf"^\s*def {name}\(", sources, re.M):
            missing.append(name)
    return missing


def test_missing_tests_are_found(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_a.py").write_text("def test_here():\n    pass\n")
    matrix = "| x | y | `test_here`, `test_gone`, `tests/test_a.py`, `tests/test_b.py` |"
    assert missing_tests(matrix, tests) == ["tests/test_b.py", "test_gone"]


def test_the_reliability_matrix_names_only_existing_tests():
    matrix = (ROOT / "docs" / "reliability.md").read_text()
    assert matrix.count("\n| ") >= 20  # the matrix is there, one line per case
    assert missing_tests(matrix, ROOT / "tests") == []


def test_the_readme_set_up_commands_are_the_ones_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    for env in ("reproduce-table1", "py"):
        assert f"python3 -m pip install tox && tox -e {env}" in readme
    # .ci/run: the same install, the same test command, then the main job (smoke profile)
    assert re.search(r"^python3 -m pip install tox$", ci, re.M)
    assert re.search(r"^tox -e py$", ci, re.M)
    assert re.search(r"^tox -e reproduce-table1\b", ci, re.M)


def glance_mismatches(readme: str, root: Path) -> list[str]:
    """README "Results at a glance" rows whose verdict and numbers are not those of the report
    they link: each row's linked report must hold a table line with that verdict as a cell and
    every number of the row's "Measured" cell; a row naming the `converged` reference must link
    into reports/reference/converged/, a `cpu` row outside it."""
    section = readme.split("## Results at a glance", 1)[1].split("\n## ", 1)[0]
    out = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 5 or cells[1] == "Verdict":
            continue
        claim, verdict, measured, reference, link = cells
        target = re.search(r"\]\(([^)]+)\)", link)
        if target is None or not (root / target.group(1)).is_file():
            out.append(f"{claim}: no report linked")
            continue
        converged = "reports/reference/converged/" in target.group(1)
        if ("`converged`" in reference) != converged:
            out.append(f"{claim}: reference {reference} but links {target.group(1)}")
        numbers = re.findall(r"\d+(?:\.\d+)?", measured)
        lines = (root / target.group(1)).read_text().splitlines()
        if not any(
            t.startswith("|")
            and verdict in [c.strip() for c in t.split("|")]
            and all(n in t for n in numbers)
            for t in lines
        ):
            out.append(f"{claim}: no line of {target.group(1)} reads {verdict} with {numbers}")
    return out


def test_the_readme_verdicts_are_those_of_the_reports():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("\n| ", readme.index("## Results at a glance")) >= 10
    assert glance_mismatches(readme, ROOT) == []


def test_a_readme_verdict_that_drifted_from_its_report_is_found(tmp_path):
    (tmp_path / "t.md").write_text("| claim a | held | 1.5 vs 2.25 |\n")
    readme = (
        "## Results at a glance\n\n| Claim | Verdict | Measured | Reference | Full table |\n"
        "|---|---|---|---|---|\n"
        "| a | held | 1.5 vs 2.25 | `cpu` (quick) | [t](t.md) |\n"
        "| b | held | 1.5 vs 2.26 | `cpu` (quick) | [t](t.md) |\n"
        "| c | not held | 1.5 | `cpu` (quick) | [t](t.md) |\n"
        "| d | held | 1.5 | `converged` | [t](t.md) |\n"
        "\n## Next\n"
    )
    got = glance_mismatches(readme, tmp_path)
    assert [g.split(":")[0] for g in got] == ["b", "c", "d"]
