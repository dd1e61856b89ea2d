"""docs/deviations.md lists exactly the deviations the reports print."""

from pathlib import Path

from benchmark.report.deviations import DEVIATIONS, deviation_lines

PAGE = Path(__file__).resolve().parents[1] / "docs" / "deviations.md"


def test_the_deviations_page_shows_the_reports_deviation_table():
    table = deviation_lines()[2]
    assert table in PAGE.read_text(), f"{PAGE}'s deviation table is stale: copy deviation_lines()"
    assert len(table.splitlines()) == len(DEVIATIONS) + 2  # header, rule, one line each
