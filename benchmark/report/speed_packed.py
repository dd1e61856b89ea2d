"""The "Packed inference" section of the speed report and its two lines in "Ratios" (ours,
beyond the paper), from the benchmarks of `benchmark/speed/bench_packed.py` in one
pytest-benchmark JSON document. Every ratio is to the fp32 student of the same run.
"""

from __future__ import annotations

from tabulate import tabulate

from benchmark.report.speed_ratios import NOT_MEASURED, Ratio, find, fmt_time

KIND = "packed-inference"
TITLE = "Packed inference (ours, beyond the paper)"
LOAD_PATH_TEXT = {
    "fp32": "float32 safetensors into a meta skeleton (`load_state_dict(assign=True)`)",
    "dequantized": "`quads.export.load_quantized`: W = C[I] in float32 on load",
    "packed": "`quads.packed.load_packed`: indices + codebook kept, W = C[I] per layer",
}


def _mb(kb: float) -> float:
    return kb / 1024


def _median(bench: dict) -> float:
    return float(bench["stats"]["median"])


def packed_ratios(benchmarks: list[dict]) -> list[Ratio]:
    """The packed 4-bit student's peak memory and latency, each as a ratio of the fp32 student's."""
    fp32 = find(benchmarks, kind=KIND, variant="fp32")
    packed = find(benchmarks, kind=KIND, variant="packed-4bit")
    mem_name = "Packed 4-bit student / fp32 peak memory, load + forward, batch 1, 3 s (ours)"
    mem_target = "memory added to the process by loading the model and running it (its weights)"
    lat_name = "Packed 4-bit student / fp32 latency, batch 1, 3 s (ours)"
    lat_target = "context: each weight is dequantized before its layer runs"
    if fp32 is None or packed is None:
        return [
            Ratio(mem_name, None, NOT_MEASURED, mem_target),
            Ratio(lat_name, None, NOT_MEASURED, lat_target),
        ]
    m_p, m_f = packed["extra_info"]["memory"], fp32["extra_info"]["memory"]
    mem = m_p["added_peak_kb"] / m_f["added_peak_kb"]
    process = m_p["process_peak_kb"] / m_f["process_peak_kb"]
    mem_text = (
        f"{mem:.2f}× (packed {_mb(m_p['added_peak_kb']):.1f} MB, fp32 "
        f"{_mb(m_f['added_peak_kb']):.1f} MB); whole process {process:.2f}× "
        f"({_mb(m_p['process_peak_kb']):.0f} vs {_mb(m_f['process_peak_kb']):.0f} MB); "
        f"model tensors {packed['extra_info']['tensor_bytes'] / fp32['extra_info']['tensor_bytes']:.2f}×"
    )
    paired = packed["extra_info"].get("paired_latency_ratio")
    medians = _median(packed) / _median(fp32)
    if paired is not None:
        lat_value = float(paired)
        lat_text = f"{paired:.2f}× paired; {medians:.2f}× from the medians "
    else:
        lat_value = medians
        lat_text = f"{medians:.2f}× from the medians "
    lat_text += f"(packed {fmt_time(_median(packed))}, fp32 {fmt_time(_median(fp32))})"
    return [
        Ratio(mem_name, mem, mem_text, mem_target),
        Ratio(lat_name, lat_value, lat_text, lat_target),
    ]


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}×" if base else "—"


def packed_section(benches: list[dict]) -> str:
    """The group's Markdown: what was measured, and one row per variant."""
    fp32 = find(benches, kind=KIND, variant="fp32")
    rows = []
    for b in benches:
        info = b["extra_info"]
        mem = info["memory"]
        added, lo_hi = mem["added_peak_kb"], mem["added_peak_kb_range"]
        paired = info.get("paired_latency_ratio")
        base = fp32["extra_info"] if fp32 else None
        rows.append(
            (
                info["variant"],
                LOAD_PATH_TEXT.get(info["load_path"], info["load_path"]),
                f"{info['file_bytes'] / 2**20:.2f}",
                f"{info['tensor_bytes'] / 2**20:.2f}",
                f"{_mb(added):.1f} ({_mb(lo_hi[0]):.1f}–{_mb(lo_hi[1]):.1f})",
                _ratio(added, base["memory"]["added_peak_kb"]) if base else "—",
                f"{_mb(mem['process_peak_kb']):.0f}",
                _ratio(mem["process_peak_kb"], base["memory"]["process_peak_kb"]) if base else "—",
                fmt_time(mem["load_s"]),
                fmt_time(_median(b)),
                _ratio(_median(b), _median(fp32)) if fp32 else "—",
                f"{paired:.2f}×" if paired is not None else "—",
            )
        )
    headers = (
        "Variant",
        "Load path",
        "File MB",
        "Tensors MB",
        "Peak added MB (range)",
        "× fp32",
        "Process peak MB",
        "× fp32",
        "Load",
        "Latency (median)",
        "× fp32 (medians)",
        "× fp32 (paired)",
    )
    method = benches[0]["extra_info"].get("memory_method", "?")
    note = (
        "Ours, beyond the paper. The whisper-tiny student (random init, seed 0; 4 and 8 bit: "
        "`CodebookQuantizer` codebooks, exported with `quads.export`), 300 frames, batch 1, "
        "one `inference_mode` forward. *Tensors*: the model's parameters and buffers (packed: "
        "indices and tables, not the weight materialised during a forward). *Peak added*: "
        f"memory the load and forwards added to the process ({method}); it includes torch's "
        "own first-forward costs (kernels, scratch), which every variant pays. *Process "
        "peak*: Python + torch + the model. *Paired*: median of the variant's forward time "
        "over the fp32 forward's just before it, alternating 20 times. The packed variants' "
        "logits were checked equal (`torch.equal`) to the dequantized variants' in the run."
    )
    table = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    return f"{note}\n\n{table}"
