"""pytest-benchmark JSON -> Markdown report of the speed benchmarks (`reports/benchmarks.md`).

    pytest benchmark/ --benchmark-only --benchmark-json reports/benchmarks.json
    python -m benchmark.report.speed reports/benchmarks.json reports/benchmarks.md

`render_report(data)` is a pure function of the JSON: the same file renders to the same bytes.
It writes the machine description (pytest-benchmark's machine_info and commit_info, plus what
benchmark/conftest.py adds), a "Ratios" section computed from this run only, one table per
benchmark group, and the benchmarks that were skipped (the conftest's "skipped" list).
Benchmarks are found by their `extra_info` ("kind", "model", "bits", ...), not by test name.
The ratios and number formats are in `speed_ratios.py`. Targets are stated beside the ratios
as text; nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

from benchmark.report.speed_packed import KIND as PACKED_GROUP
from benchmark.report.speed_packed import TITLE as PACKED_TITLE
from benchmark.report.speed_packed import packed_ratios, packed_section
from benchmark.report.speed_ratios import fmt_count, fmt_num, fmt_pct, fmt_sci, fmt_time, ratios

# Groups in reading order; groups not listed follow in order of first appearance.
GROUP_ORDER = (
    "inference-3s-b1",
    "inference-3s-b16",
    "inference-30s-b1",
    "inference-30s-b16",
    PACKED_GROUP,
    "train-step",
    "codebook-fit-4bit",
    "codebook-fit-8bit",
    "per-step-quantization",
    "data",
)
GROUP_TITLES = {
    "inference-3s-b1": "Inference, 3 s input (300 frames), batch 1",
    "inference-3s-b16": "Inference, 3 s input (300 frames), batch 16",
    "inference-30s-b1": "Inference, 30 s input (3000 frames), batch 1",
    "inference-30s-b16": "Inference, 30 s input (3000 frames), batch 16",
    PACKED_GROUP: PACKED_TITLE,
    "train-step": "Training step of the student (batch 16, 3 s, Adam, CE)",
    "codebook-fit-4bit": "Codebook fitting, whole student, 4 bit",
    "codebook-fit-8bit": "Codebook fitting, whole student, 8 bit",
    "per-step-quantization": "Per-step quantization work (on top of a float step)",
    "data": "Data path",
}
GROUP_NOTES = {
    "inference-3s-b1": "One `inference_mode` forward, random weights (weights do not change "
    "the time). `export-Nbit`: the student saved with `quads.export` and loaded into a fresh "
    "float skeleton (W = C[I] dequantized on load), so it runs float kernels.",
    "train-step": "With codebooks attached the optimizer holds only centroids, biases and "
    "norms. Each quantized round runs right after a float step of the same batch; "
    "the notes give the paired overhead median(q_i / f_i) - 1.",
    "codebook-fit-4bit": "Ours: `CodebookQuantizer.attach` (sorted 1-D k-means, warm-startable). "
    "Authors: `fast_pytorch_kmeans` per parameter, as in their train.py. "
    "MSE = sum (W - C[I])^2 / numel over all covered weights.",
    "per-step-quantization": "Authors: `authors_requantize`, every covered weight reset to "
    "its cluster means after each optimizer step. Ours: the gather W = C[I] and its Eq. 4 "
    "backward (bincount) for every covered weight.",
    "data": "Per utterance = median / utterances per call.",
}


# ----------------------------------------------------------------------------- sections


def _machine(data: dict) -> str:
    mi = data.get("machine_info", {})
    cpu = mi.get("cpu", {})
    quads = mi.get("quads", {})
    commit = data.get("commit_info", {})
    rows = [
        (
            "CPU",
            f"{cpu.get('brand_raw', mi.get('processor') or '?')} ({cpu.get('arch', mi.get('machine', '?'))})",
        ),
        ("Cores (logical)", str(cpu.get("count", quads.get("cpu_count", "?")))),
        ("torch threads", str(quads.get("threads", "?"))),
        ("torch", str(quads.get("torch", "?"))),
        ("Python", f"{mi.get('python_implementation', '?')} {mi.get('python_version', '?')}"),
        ("System", f"{mi.get('system', '?')} {mi.get('release', '')}".strip()),
    ]
    if "load_start" in quads:
        rows.append(
            (
                "Load average (1 min), start → end",
                f"{quads['load_start']} → {quads.get('load_end', '?')}",
            )
        )
    if commit:
        dirty = " (uncommitted changes)" if commit.get("dirty") else ""
        rows.append(
            ("Commit", f"{str(commit.get('id', '?'))[:12]} on {commit.get('branch', '?')}{dirty}")
        )
    rows.append(
        ("Run", f"{data.get('datetime', '?')}, pytest-benchmark {data.get('version', '?')}")
    )
    if "suite_seconds" in data:
        rows.append(("Suite wall time", fmt_time(float(data["suite_seconds"]))))
    return tabulate(rows, headers=("Item", "Value"), tablefmt="github", disable_numparse=True)


def _notes(info: dict, median: float) -> str:
    notes = []
    if info.get("kind") == "data" and info.get("utterances") and median > 0:
        notes.append(f"{info['utterances'] / median:,.0f} utt/s")
    if info.get("kind") == "codebook-fit" and "mse" in info:
        notes.append(f"MSE {fmt_sci(info['mse'])} over {info.get('tensors', '?')} tensors")
    if "paired_overhead" in info:
        notes.append(f"paired overhead {fmt_pct(info['paired_overhead'])}")
    if "trainable_after_attach" in info:
        notes.append(f"{fmt_count(info['trainable_after_attach'])} trainable after attach")
    if "audio_seconds" in info and info.get("kind") == "data":
        notes.append(f"{info['audio_seconds']:.1f} s of audio per call")
    if "weights" in info:
        notes.append(str(info["weights"]))
    if "load_before" in info:
        notes.append(f"load {info['load_before']}→{info.get('load_after', '?')}")
    return "; ".join(notes)


def _size(info: dict) -> str:
    if "size_mb" not in info:
        return "—"
    text = f"{info['size_mb']:.2f}"
    if "file_mb" in info:
        text += f" (file {info['file_mb']:.2f})"
    return text


def _group_table(benches: list[dict]) -> str:
    rows = []
    for b in benches:
        st, info = b["stats"], b.get("extra_info", {})
        utts = info.get("utterances")
        per_utt = st["median"] / utts if utts else None
        gmacs = info.get("gmacs")
        rows.append(
            (
                b["name"].removeprefix("test_"),
                fmt_time(st["median"]),
                fmt_time(st.get("iqr")) if st.get("rounds", 0) > 1 else "—",
                str(st.get("rounds", "?")),
                fmt_time(per_utt),
                fmt_count(info.get("params")),
                fmt_num(gmacs),
                _size(info),
                _notes(info, st["median"]),
            )
        )
    headers = (
        "Benchmark",
        "Median",
        "IQR",
        "Rounds",
        "Per utterance",
        "Params",
        "GMACs/utt",
        "Size MB (paper formula)",
        "Notes",
    )
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def _groups(benchmarks: list[dict]) -> list[tuple[str, list[dict]]]:
    by_group: dict[str, list[dict]] = {}
    for b in benchmarks:
        by_group.setdefault(b.get("group") or "(no group)", []).append(b)
    known = [g for g in GROUP_ORDER if g in by_group]
    rest = [g for g in by_group if g not in GROUP_ORDER]
    return [(g, by_group[g]) for g in known + rest]


def _skipped(data: dict) -> str:
    if "skipped" not in data:
        return (
            "Not recorded: this JSON was not written through `benchmark/conftest.py`, "
            "so skipped benchmarks are unknown."
        )
    skipped = data["skipped"]
    if not skipped:
        return "None: every collected benchmark ran."
    rows = [
        (s.get("name", "?").removeprefix("test_"), s.get("group") or "—", s.get("reason", "?"))
        for s in skipped
    ]
    text = (
        f"{len(skipped)} benchmark(s) were skipped; `pytest benchmark/ --benchmark-only "
        "--bench-full` runs them.\n\n"
    )
    return text + tabulate(
        rows, headers=("Benchmark", "Group", "Reason"), tablefmt="github", disable_numparse=True
    )


def render_report(data: dict) -> str:
    """Markdown for one pytest-benchmark JSON document (see module docstring)."""
    benchmarks = list(data.get("benchmarks", []))
    parts = [
        "# Speed and efficiency benchmarks",
        "",
        "Generated by `python -m benchmark.report.speed` from the JSON of "
        "`pytest benchmark/ --benchmark-only`; do not edit by hand. Times are wall-clock "
        "medians over a few rounds (after one warm-up round) on the machine below; "
        "the targets are stated beside the ratios, not checked.",
        "",
        "## Machine",
        "",
        _machine(data),
        "",
        "## Ratios (from this run)",
        "",
        tabulate(
            [(r.name, r.text, r.target) for r in ratios(data) + packed_ratios(benchmarks)],
            headers=("Ratio", "Measured", "Target / note"),
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
    ]
    for group, benches in _groups(benchmarks):
        parts += [f"## {GROUP_TITLES.get(group, group)}", ""]
        if group == PACKED_GROUP:
            parts += [packed_section(benches), ""]
            continue
        note = GROUP_NOTES.get(group)
        if note is None and group.startswith("inference-"):
            note = GROUP_NOTES["inference-3s-b1"]
        if note:
            parts += [note, ""]
        parts += [_group_table(benches), ""]
    parts += ["## Skipped in this run", "", _skipped(data), ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmark.report.speed BENCH.json [OUT.md]`: render (to stdout without OUT)."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("json", type=Path, help="pytest-benchmark JSON (--benchmark-json)")
    ap.add_argument("markdown", type=Path, nargs="?", default=None, help="output .md")
    args = ap.parse_args(argv)
    data = json.loads(args.json.read_text(encoding="utf-8"))
    text = render_report(data)
    if args.markdown is None:
        print(text, end="")
        return 0
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text, encoding="utf-8")
    print(f"report: {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
