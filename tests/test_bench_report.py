"""benchmark/report/speed.py and speed_ratios.py: ratios, skipped list and byte-identical
rendering of a hand-made pytest-benchmark JSON document. No timing is measured here."""

from __future__ import annotations

import copy
import json

import pytest

from benchmark.report.speed import main, render_report
from benchmark.report.speed_ratios import NOT_MEASURED, ratios


def _bench(name: str, group: str, median: float, rounds: int = 3, **extra) -> dict:
    """One pytest-benchmark entry with the stats fields the report reads."""
    return {
        "group": group,
        "name": name,
        "fullname": f"benchmark/bench_x.py::{name}",
        "params": None,
        "param": None,
        "extra_info": extra,
        "options": {},
        "stats": {
            "min": median * 0.9,
            "max": median * 1.1,
            "mean": median,
            "median": median,
            "iqr": median * 0.05,
            "q1": median * 0.97,
            "q3": median * 1.02,
            "rounds": rounds,
            "iterations": 1,
        },
    }


def _inference(model: str, variant: str, batch: int, median: float, **extra) -> dict:
    name = f"test_inference[{model}-{variant}-3s-b{batch}]"
    info = {"kind": "inference", "model": model, "variant": variant, "n_frames": 300}
    info |= {"batch": batch, "utterances": batch, "params": 7_644_319, "gmacs": 1.23}
    info |= {"size_mb": 29.16} | extra
    return _bench(name, f"inference-3s-b{batch}", median, **info)


def document() -> dict:
    """A small run: train steps (4-bit paired, 8-bit not), a 4-bit codebook fit (no 8-bit),
    per-step work at 8 bits, inference of the student, Whisper base and the 4-bit export."""
    benchmarks = [
        _inference("whisper-tiny", "fp32", 1, 0.020),
        _inference("whisper-tiny", "export-4bit", 1, 0.021, size_mb=3.65, file_mb=3.73),
        _inference("whisper-base", "fp32", 1, 0.050, params=19_838_495),
        _inference("whisper-tiny", "fp32", 16, 0.32),
        _inference("whisper-base", "fp32", 16, 0.80),
        _bench("test_train_step[float]", "train-step", 1.0, 5, kind="train-step", bits=0),
        _bench(
            "test_train_step[4bit]",
            "train-step",
            1.10,
            5,
            kind="train-step",
            bits=4,
            paired_overhead=0.02,
            paired_float_median_s=1.05,
        ),
        _bench("test_train_step[8bit]", "train-step", 1.03, 5, kind="train-step", bits=8),
        _bench(
            "test_codebook_fit[ours-4bit]",
            "codebook-fit-4bit",
            0.2,
            kind="codebook-fit",
            impl="ours",
            bits=4,
            mse=1.0e-5,
        ),
        _bench(
            "test_codebook_fit[authors-4bit]",
            "codebook-fit-4bit",
            4.0,
            2,
            kind="codebook-fit",
            impl="authors",
            bits=4,
            mse=4.0e-5,
        ),
        _bench(
            "test_per_step_quantization[ours-8bit]",
            "per-step-quantization",
            0.025,
            kind="per-step",
            impl="ours",
            bits=8,
        ),
        _bench(
            "test_per_step_quantization[authors-8bit]",
            "per-step-quantization",
            2.5,
            kind="per-step",
            impl="authors",
            bits=8,
        ),
        _bench("test_log_mel[3s]", "data", 0.016, 5, kind="data", utterances=16),
    ]
    return {
        "machine_info": {
            "python_implementation": "CPython",
            "python_version": "3.11.7",
            "system": "Linux",
            "release": "6.1",
            "cpu": {"brand_raw": "Test CPU 9000", "arch": "X86_64", "count": 2},
            "quads": {"torch": "2.13.0+cpu", "threads": 1, "load_start": 0.5, "load_end": 0.7},
        },
        "commit_info": {"id": "0123456789abcdef", "branch": "main", "dirty": False},
        "benchmarks": benchmarks,
        "datetime": "2026-01-01T00:00:00+00:00",
        "version": "5.3.1",
        "suite_seconds": 321.0,
        "skipped": [
            {
                "name": "test_inference[whisper-large-fp32-30s-b16]",
                "fullname": "benchmark/bench_inference.py::test_inference[whisper-large-fp32-30s-b16]",
                "group": "inference-30s-b16",
                "reason": "~18191 GMACs per call; run with --bench-full",
            }
        ],
    }


def _by_name(data: dict) -> dict:
    return {r.name: r for r in ratios(data)}


def test_ratios_from_one_run() -> None:
    r = _by_name(document())
    # paired overhead is taken as recorded; 8 bit falls back to the medians 1.03 / 1.0 - 1
    assert r["Quantizer training-step overhead, 4 bit"].value == pytest.approx(0.02)
    assert "+2.0 %" in r["Quantizer training-step overhead, 4 bit"].text
    assert r["Quantizer training-step overhead, 8 bit"].value == pytest.approx(0.03)
    assert "medians" in r["Quantizer training-step overhead, 8 bit"].text
    speed = r["Codebook fit speed-up over the authors, 4 bit (their time / ours)"]
    assert speed.value == pytest.approx(20.0)
    assert speed.text.startswith("20.0×")
    assert "≥ 10×" in speed.target
    mse = r["Codebook weight MSE, ours / authors, 4 bit"]
    assert mse.value == pytest.approx(0.25)
    assert r["Per-step quantization work, authors / ours, 8 bit"].value == pytest.approx(100.0)
    # 2.5 s of re-quantization against a 1.0 s float step
    assert "250.0 % of a float step" in r["Per-step quantization work, authors / ours, 8 bit"].text
    assert r[
        "Whisper base / student latency, batch 1, 3 s (speed-up of the student)"
    ].value == pytest.approx(2.5)
    assert r[
        "Whisper base / student latency, batch 16, 3 s (speed-up of the student)"
    ].value == pytest.approx(2.5)
    export = r["Exported 4-bit student / fp32 latency, batch 1, 3 s"]
    assert export.value == pytest.approx(1.05)
    assert "file 3.73 MB" in export.text


def test_missing_inputs_are_not_measured() -> None:
    r = _by_name(document())
    for name in (
        "Codebook fit speed-up over the authors, 8 bit (their time / ours)",
        "Codebook weight MSE, ours / authors, 8 bit",
        "Per-step quantization work, authors / ours, 4 bit",
        "Exported 8-bit student / fp32 latency, batch 1, 3 s",
    ):
        assert r[name].value is None
        assert r[name].text == NOT_MEASURED
    empty = _by_name({"benchmarks": []})
    assert all(x.value is None and x.text == NOT_MEASURED for x in empty.values())
    # without a float step and without pairing, the overhead cannot be computed
    data = document()
    data["benchmarks"] = [b for b in data["benchmarks"] if b["name"] != "test_train_step[float]"]
    assert _by_name(data)["Quantizer training-step overhead, 8 bit"].text == NOT_MEASURED


def test_markdown_sections_and_skipped_list() -> None:
    md = render_report(document())
    assert md.startswith("# Speed and efficiency benchmarks\n")
    assert "| Test CPU 9000 (X86_64)" in md
    assert "0123456789ab on main" in md
    assert "| torch threads " in md
    # targets are stated as text beside the ratios, never as a verdict
    assert "target ≤ 5 % of a float step" in md
    assert not any(word in md for word in ("PASS", "FAIL", "✅", "❌"))
    assert md.count(NOT_MEASURED) == 6  # 4 + the two packed-inference ratios
    # one table per group, in reading order; per-utterance time = median / utterances
    assert md.index("## Inference, 3 s input (300 frames), batch 1") < md.index(
        "## Training step of the student"
    )
    assert "| inference[whisper-tiny-fp32-3s-b16] | 320 ms " in md
    assert "| 20.0 ms " in md  # 0.32 s / 16
    assert "3.65 (file 3.73)" in md
    skipped = md.split("## Skipped in this run", 1)[1]
    assert "1 benchmark(s) were skipped" in skipped
    assert "inference[whisper-large-fp32-30s-b16]" in skipped
    assert "~18191 GMACs per call" in skipped


def test_skipped_list_absent_or_empty() -> None:
    data = document()
    data["skipped"] = []
    assert "None: every collected benchmark ran." in render_report(data)
    del data["skipped"]
    assert "Not recorded" in render_report(data)


def test_rendering_is_deterministic(tmp_path) -> None:
    data = document()
    first = render_report(data)
    assert render_report(copy.deepcopy(data)) == first
    # through a JSON file and the CLI, byte for byte
    src = tmp_path / "bench.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    out = tmp_path / "out" / "benchmarks.md"
    assert main([str(src), str(out)]) == 0
    assert out.read_bytes() == first.encode("utf-8")
    assert main([str(src), str(out)]) == 0
    assert out.read_bytes() == first.encode("utf-8")
    # the report depends on the data: another median changes it
    data["benchmarks"][0]["stats"]["median"] = 0.040
    assert render_report(data) != first
