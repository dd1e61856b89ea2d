"""The README lists exactly the deviations the reports print."""

from pathlib import Path

from benchmark.report.deviations import DEVIATIONS, deviation_lines

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_shows_the_reports_deviation_table():
    table = deviation_lines()[2]
    assert table in README.read_text(), "README's deviation table is stale: copy deviation_lines()"
    assert len(table.splitlines()) == len(DEVIATIONS) + 2  # header, rule, one line each
