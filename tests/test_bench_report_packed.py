"""benchmark/report/speed_packed.py: the "Packed inference" section and its ratios, from a
hand-made pytest-benchmark JSON document. No timing or memory is measured here."""

from __future__ import annotations

import copy

import pytest

from benchmark.report.speed import render_report
from benchmark.report.speed_packed import TITLE, packed_ratios
from benchmark.report.speed_ratios import NOT_MEASURED


def _packed(variant: str, load_path: str, bits: int, median: float, added_mb: float, **extra):
    process_kb = 400 * 1024 + added_mb * 1024
    info = {
        "kind": "packed-inference",
        "model": "whisper-tiny",
        "variant": variant,
        "load_path": load_path,
        "bits": bits,
        "file_bytes": int(29.4 * 2**20 * min(bits, 32) / 32),
        "tensor_bytes": int(29.4 * 2**20 * min(bits, 32) / 32) + 2**18,
        "memory_method": "median of 3 fresh processes",
        "memory": {
            "added_peak_kb": added_mb * 1024,
            "added_peak_kb_range": [added_mb * 1024 - 512, added_mb * 1024 + 512],
            "process_peak_kb": process_kb,
            "process_peak_kb_range": [process_kb, process_kb],
            "rss_imports_kb": 400 * 1024,
            "load_s": 0.02,
            "runs": [],
        },
    } | extra
    return {
        "group": "packed-inference",
        "name": f"test_packed_inference[{variant}]",
        "fullname": f"benchmark/speed/bench_packed.py::test_packed_inference[{variant}]",
        "extra_info": info,
        "stats": {"median": median, "iqr": median * 0.05, "rounds": 20, "mean": median},
    }


def document() -> dict:
    return {
        "benchmarks": [
            _packed("fp32", "fp32", 32, 0.020, 60.0),
            _packed("dequantized-4bit", "dequantized", 4, 0.021, 180.0, paired_latency_ratio=1.01),
            _packed("packed-4bit", "packed", 4, 0.026, 30.0, paired_latency_ratio=1.2),
        ],
        "skipped": [],
    }


def test_ratios_are_to_the_fp32_student_of_the_same_run() -> None:
    memory, latency = packed_ratios(document()["benchmarks"])
    assert memory.value == pytest.approx(0.5)  # 30 MB / 60 MB added
    assert "packed 30.0 MB, fp32 60.0 MB" in memory.text
    assert "whole process 0.93× (430 vs 460 MB)" in memory.text
    assert latency.value == pytest.approx(1.2)  # the paired ratio, not the medians' 1.3
    assert "1.20× paired; 1.30× from the medians" in latency.text
    without_pairing = document()
    del without_pairing["benchmarks"][2]["extra_info"]["paired_latency_ratio"]
    assert packed_ratios(without_pairing["benchmarks"])[1].value == pytest.approx(1.3)


def test_missing_fp32_or_packed_is_not_measured() -> None:
    data = document()
    for drop in ("fp32", "packed-4bit"):
        benches = [b for b in data["benchmarks"] if b["extra_info"]["variant"] != drop]
        assert [r.text for r in packed_ratios(benches)] == [NOT_MEASURED, NOT_MEASURED]


def test_section_is_marked_ours_with_one_row_per_variant() -> None:
    md = render_report(document())
    section = md.split(f"## {TITLE}", 1)[1].split("\n## ", 1)[0]
    assert "Ours, beyond the paper" in section
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert [r.split("|")[1].strip() for r in rows] == ["fp32", "dequantized-4bit", "packed-4bit"]
    dequantized = rows[1].split("|")
    assert dequantized[6].strip() == "3.00×"  # 180 MB added / 60 MB
    assert dequantized[12].strip() == "1.01×"
    assert "| 30.0 (29.5–30.5) " in rows[2]
    # the Ratios section lists both packed lines, measured
    ratios = md.split("## Ratios (from this run)", 1)[1].split("\n## ", 1)[0]
    assert "Packed 4-bit student / fp32 peak memory" in ratios
    assert "| 1.20× paired" in ratios
    assert render_report(copy.deepcopy(document())) == md
