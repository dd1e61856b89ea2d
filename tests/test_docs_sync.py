"""Pages that name code stay true to it: the reliability matrix names tests that exist, and the
README's set-up commands are the ones CI (.ci/run) runs."""

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
