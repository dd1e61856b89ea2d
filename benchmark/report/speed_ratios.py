"""The "Ratios" section of the speed report, and the number formats of the report.

Each ratio is computed from one pytest-benchmark JSON document only, from benchmarks found by
their `extra_info` ("kind", "model", "bits", ...); a ratio whose inputs were not measured says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

NOT_MEASURED = "not measured in this run"
STUDENT = "whisper-tiny"
BASE = "whisper-base"


# ----------------------------------------------------------------------------- formatting


def fmt_time(seconds: float | None) -> str:
    """Seconds with 3 significant digits in s / ms / µs."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(seconds) >= scale or unit == "µs":
            value = seconds / scale
            digits = max(0, 2 - int(math.floor(math.log10(abs(value))))) if value else 0
            return f"{value:.{digits}f} {unit}"
    raise AssertionError("unreachable")


def fmt_count(n: float | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.2f} M" if n >= 1e5 else f"{int(n):,}"


def fmt_num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def fmt_pct(x: float) -> str:
    """A fraction as a signed percentage: 0.015 -> "+1.5 %"."""
    return f"{x * 100:+.1f} %".replace("-", "−")


def fmt_sci(x: float) -> str:
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e4 else f"{x:.2e}"


# ----------------------------------------------------------------------------- lookup


def _median(bench: dict) -> float:
    return float(bench["stats"]["median"])


def find(benchmarks: Iterable[dict], **match: object) -> dict | None:
    """The first benchmark whose extra_info has every key = value of `match`, else None."""
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if all(info.get(k) == v for k, v in match.items()):
            return bench
    return None


# ----------------------------------------------------------------------------- ratios


@dataclass(frozen=True)
class Ratio:
    """One line of the "Ratios" section; `value` is None when an input was not measured."""

    name: str
    value: float | None
    text: str  # the measured value with its inputs, or NOT_MEASURED
    target: str  # the target or what to read into it, as text


def _step_overhead(benchmarks: list[dict], bits: int) -> Ratio:
    name = f"Quantizer training-step overhead, {bits} bit"
    target = "target ≤ 5 % of a float step"
    quant = find(benchmarks, kind="train-step", bits=bits)
    flt = find(benchmarks, kind="train-step", bits=0)
    if quant is None:
        return Ratio(name, None, NOT_MEASURED, target)
    paired = quant["extra_info"].get("paired_overhead")
    if paired is not None:
        f_med = quant["extra_info"].get("paired_float_median_s")
        how = f"paired with a float step; quantized {fmt_time(_median(quant))}"
        how += f", float {fmt_time(f_med)}" if f_med is not None else ""
        return Ratio(name, float(paired), f"{fmt_pct(paired)} ({how})", target)
    if flt is None:
        return Ratio(name, None, NOT_MEASURED, target)
    value = _median(quant) / _median(flt) - 1.0
    text = (
        f"{fmt_pct(value)} (medians of separate benchmarks: quantized "
        f"{fmt_time(_median(quant))}, float {fmt_time(_median(flt))})"
    )
    return Ratio(name, value, text, target)


def _fit_speedup(benchmarks: list[dict], bits: int) -> tuple[Ratio, Ratio]:
    ours = find(benchmarks, kind="codebook-fit", impl="ours", bits=bits)
    theirs = find(benchmarks, kind="codebook-fit", impl="authors", bits=bits)
    s_name = f"Codebook fit speed-up over the authors, {bits} bit (their time / ours)"
    m_name = f"Codebook weight MSE, ours / authors, {bits} bit"
    s_target = "target ≥ 10×"
    m_target = "target ≤ 1 (equal or lower error)"
    if ours is None or theirs is None:
        return (
            Ratio(s_name, None, NOT_MEASURED, s_target),
            Ratio(m_name, None, NOT_MEASURED, m_target),
        )
    speed = _median(theirs) / _median(ours)
    speed_text = (
        f"{speed:.1f}× (authors {fmt_time(_median(theirs))}, ours {fmt_time(_median(ours))})"
    )
    mse_o, mse_a = ours["extra_info"].get("mse"), theirs["extra_info"].get("mse")
    if mse_o is None or mse_a is None or mse_a == 0:
        mse = Ratio(m_name, None, NOT_MEASURED, m_target)
    else:
        value = mse_o / mse_a
        text = f"{value:.3g} (ours {fmt_sci(mse_o)}, authors {fmt_sci(mse_a)})"
        mse = Ratio(m_name, value, text, m_target)
    return Ratio(s_name, speed, speed_text, s_target), mse


def _per_step(benchmarks: list[dict], bits: int) -> Ratio:
    name = f"Per-step quantization work, authors / ours, {bits} bit"
    target = "context: the authors re-quantize after every step of a quantization epoch"
    theirs = find(benchmarks, kind="per-step", impl="authors", bits=bits)
    ours = find(benchmarks, kind="per-step", impl="ours", bits=bits)
    if theirs is None or ours is None:
        return Ratio(name, None, NOT_MEASURED, target)
    value = _median(theirs) / _median(ours)
    flt = find(benchmarks, kind="train-step", bits=0)
    parts = []
    for who, bench in (("authors", theirs), ("ours", ours)):
        share = f" = {_median(bench) / _median(flt) * 100:.1f} % of a float step" if flt else ""
        parts.append(f"{who} {fmt_time(_median(bench))}{share}")
    return Ratio(name, value, f"{value:.1f}× ({'; '.join(parts)})", target)


def _student_vs_base(benchmarks: list[dict], batch: int) -> Ratio:
    name = f"Whisper base / student latency, batch {batch}, 3 s (speed-up of the student)"
    target = "context: the paper reports size and GMACs, not latency"
    common = {"kind": "inference", "variant": "fp32", "n_frames": 300, "batch": batch}
    student = find(benchmarks, model=STUDENT, **common)
    base = find(benchmarks, model=BASE, **common)
    if student is None or base is None:
        return Ratio(name, None, NOT_MEASURED, target)
    value = _median(base) / _median(student)
    text = f"{value:.2f}× (base {fmt_time(_median(base))}, student {fmt_time(_median(student))})"
    return Ratio(name, value, text, target)


def _export_vs_fp32(benchmarks: list[dict], bits: int) -> Ratio:
    name = f"Exported {bits}-bit student / fp32 latency, batch 1, 3 s"
    target = (
        "context: weights are dequantized on load, so no speed-up is expected; the gain is size"
    )
    common = {"kind": "inference", "model": STUDENT, "n_frames": 300, "batch": 1}
    exported = find(benchmarks, variant=f"export-{bits}bit", **common)
    fp32 = find(benchmarks, variant="fp32", **common)
    if exported is None or fp32 is None:
        return Ratio(name, None, NOT_MEASURED, target)
    value = _median(exported) / _median(fp32)
    text = f"{value:.2f}× (exported {fmt_time(_median(exported))}, fp32 {fmt_time(_median(fp32))})"
    file_mb = exported["extra_info"].get("file_mb")
    if file_mb is not None:
        text += f"; file {file_mb:.2f} MB vs {fp32['extra_info'].get('size_mb', 0):.2f} MB fp32"
    return Ratio(name, value, text, target)


def ratios(data: dict) -> list[Ratio]:
    """Every ratio of the "Ratios" section, from one pytest-benchmark JSON document."""
    benchmarks = list(data.get("benchmarks", []))
    out = [_step_overhead(benchmarks, b) for b in (4, 8)]
    for bits in (4, 8):
        out.extend(_fit_speedup(benchmarks, bits))
    out += [_per_step(benchmarks, b) for b in (4, 8)]
    out += [_student_vs_base(benchmarks, b) for b in (1, 16)]
    out += [_export_vs_fp32(benchmarks, b) for b in (4, 8)]
    return out
