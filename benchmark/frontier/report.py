"""frontier.md / frontier.json / frontier.png: a pure function of result files and study records.

Rows: QUADS (MCT) and the PTQ control at 32/16/8/4 bits from Table 1's result files, at 3/2 bits
from the frontier's result files (same profile and out dir), and the study's uniform 4-bit and
mixed-precision PTQ (``benchmark.frontier.study``). Everything here is ours, not in the paper.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from benchmark.data.records import RECORDING
from benchmark.frontier.figure import write_frontier_figure
from benchmark.frontier.study import StudyRecord
from benchmark.frontier.verdicts import mct_vs_ptq, mixed_vs_uniform
from benchmark.metrics import at_chance, bootstrap_ci
from benchmark.paper import DATASETS
from benchmark.report.cells import Cell, build_cells, round_value, shared_groups
from benchmark.report.claims import NOISE_TEXT
from benchmark.report.strict_json import write_strict_json
from benchmark.report.tables import _provenance_lines, resampling_lines
from benchmark.results.files import Result
from benchmark.rows import FRONTIER, PTQ_ROW

OURS = "ours (not in the paper)"
MIXED = "Mixed-precision PTQ (ours)"
UNIFORM = "Uniform 4-bit PTQ (study)"
LINES = (("QUADS", "MCT (QUADS)", (32, 16, 8, 4, 3, 2)), (PTQ_ROW, "PTQ", (16, 8, 4, 3, 2)))


def study_cell(row: str, bits: int, dataset: str, records: Sequence[StudyRecord], key: str):
    """Test-F1 cell of the study's ``key`` ("uniform" | "mixed") over the dataset's seeds."""
    recs = sorted((r for r in records if r.dataset == dataset), key=lambda r: r.seed)
    if not recs:
        return None
    values = [float(getattr(r, key)["test_f1"]) for r in recs]
    truth = recs[0].test_truth
    groups = shared_groups([r.test_group for r in recs])  # None: resample recordings
    ci = bootstrap_ci(truth, [getattr(r, key)["test_pred"] for r in recs], groups=groups)
    return Cell.of_our_seeds(
        row,
        bits,
        dataset,
        recs[0].corpus,
        "f1",
        values,
        OURS,
        ci=ci["f1"],
        chance=at_chance(truth, ci["accuracy"][0], ci["f1"][0]),
        resampled_by=RECORDING if groups is None else recs[0].sentence_unit,
    )


def _f1_text(c) -> str:
    if c is None or c.measured is None:
        return "n/m"
    text = f"{c.measured:.2f}"
    text += f" ± {c.std:.2f}" if c.std is not None else ""
    text += f" [{c.ci[0]:.1f}, {c.ci[1]:.1f}]" if c.ci is not None else ""
    return text + (" (chance)" if c.chance else "")


def frontier_points(cells: Sequence[Cell], records: Sequence[StudyRecord]) -> dict:
    """dataset -> {"MCT (QUADS)" | "PTQ": [(bits, size MB, F1, std)], "mixed" | "uniform":
    (size MB, F1, std)}. Sizes: measured file MB; the 32-bit float student's is #params x 4 B
    (it is not exported), and the PTQ line starts at that float student."""
    index = {(c.row, c.bits, c.dataset, c.metric): c for c in cells}
    out: dict = {}
    for ds in DATASETS:
        pts: dict = {}
        for row, label, bits_list in LINES:
            line = []
            for b in (32, *bits_list) if row == PTQ_ROW else bits_list:
                src = "QUADS" if b == 32 else row
                f1 = index.get((src, b, ds, "f1"))
                size = index.get((src, b, ds, "size_mb" if b == 32 else "size_file_mb"))
                if f1 and size and f1.measured is not None and size.measured is not None:
                    line.append((b, size.measured, f1.measured, f1.std or 0.0))
            pts[label] = line
        for key, row in (("mixed", MIXED), ("uniform", UNIFORM)):
            f1 = study_cell(row, 4, ds, records, key)
            recs = [r for r in records if r.dataset == ds]
            if f1 is not None:
                size = statistics.fmean(getattr(r, key)["size_bytes"] for r in recs) / 2**20
                pts[key] = (size, f1.measured, f1.std or 0.0)
        out[ds] = pts
    return out


def render_frontier(
    table1: Sequence[Result],
    frontier: Sequence[Result],
    records: Sequence[StudyRecord],
    profile: str,
) -> tuple[str, dict]:
    cells = [
        c
        for c in build_cells("table1", table1) + build_cells(FRONTIER, frontier)
        if c.row in ("QUADS", PTQ_ROW)
    ]
    index = {(c.row, c.bits, c.dataset, c.metric): c for c in cells}
    study = {
        (key, ds): study_cell(row, 4, ds, records, key)
        for key, row in (("mixed", MIXED), ("uniform", UNIFORM))
        for ds in DATASETS
    }
    sizes = {}
    for ds in DATASETS:
        recs = [r for r in records if r.dataset == ds]
        if recs:
            sizes[ds] = (
                max(r.mixed["size_bytes"] for r in recs),
                min(r.uniform["size_bytes"] for r in recs),
            )
    verdicts = [
        mixed_vs_uniform(
            {ds: study[("mixed", ds)] for ds in DATASETS},
            {ds: study[("uniform", ds)] for ds in DATASETS},
            sizes,
        ),
        mct_vs_ptq(cells),
    ]
    lines = [
        "# The bit-width frontier — ours (not in the paper)",
        "",
        "Generated by `quads-bench run --table frontier` from result files and study records; do "
        "not edit by hand. Every row and number here is ours (not in the paper).",
        "",
        *_provenance_lines([*table1, *frontier, *records], profile),
        "- Sources: 32/16/8/4-bit rows from Table 1's result files of this out dir "
        f"(`results/{profile}/table1/`); 3/2-bit rows from `results/{profile}/frontier/`; the "
        f"sensitivity scan, uniform and mixed PTQ from `results/{profile}/frontier-study/`.",
        *resampling_lines([*cells, *(c for c in study.values() if c is not None)]),
        "",
        "## Test F1 and measured size",
        "",
        "F1 cells read `mean ± std over seeds [95 % bootstrap interval over the test set, "
        "resampled by the unit the header names]`. "
        "Size: MB (2^20 bytes) of the exported file as measured (`quads.export`: packed indices "
        "+ codebooks + the rest in fp16 where lossless); the 32-bit float student is not "
        "exported, its size is #params × 4 bytes. PTQ = k-means post-training quantization of "
        "the float QUADS student (no retraining); MCT = QUADS trained with the same budget.",
        "",
    ]
    headers = ["Row", "Bits"] + [f"{ds} {h}" for ds in DATASETS for h in ("F1", "MB")]
    rows = []
    for row, label, bits_list in LINES:
        for b in bits_list:
            cols = [label if row == "QUADS" else PTQ_ROW, b]
            for ds in DATASETS:
                f1 = index.get((row, b, ds, "f1"))
                size = index.get((row, b, ds, "size_mb" if b == 32 else "size_file_mb"))
                mb = size.measured if size is not None else None
                cols += [_f1_text(f1), "n/m" if mb is None else f"{mb:.3f}"]
            rows.append(cols)
    for key, row, bits_label in (("uniform", UNIFORM, "4"), ("mixed", MIXED, "2/3/4/8")):
        cols = [row, bits_label]
        for ds in DATASETS:
            recs = [r for r in records if r.dataset == ds]
            mb = (
                statistics.fmean(getattr(r, key)["size_bytes"] for r in recs) / 2**20
                if recs
                else None
            )
            cols += [_f1_text(study[(key, ds)]), "n/m" if mb is None else f"{mb:.3f}"]
        rows.append(cols)
    lines += [tabulate(rows, headers=headers, tablefmt="github"), ""]
    lines += [_uniform_check(table1, records), ""]
    lines += [
        "## Claims (ours), checked",
        "",
        NOISE_TEXT,
        "",
        tabulate(
            [[v.claim, v.source, v.label, v.detail] for v in verdicts],
            headers=["Claim", "Where", "Verdict", "Measured"],
            tablefmt="github",
        ),
        "",
        "## Figure",
        "",
        "Test F1 against measured size (log x) per dataset: MCT and PTQ at every bit width, the "
        "mixed assignment (star) and uniform 4-bit PTQ (square) from the study.",
        "",
        "![F1 vs model size](frontier.png)",
        "",
    ]
    lines += _sensitivity_lines(records)
    data = {
        "note": OURS,
        "profile": profile,
        "cells": [c.to_json("table2") | {"source": _source(c)} for c in cells],
        "study": {
            f"{key} {ds}": (c.to_json("table2") if c is not None else None)
            for (key, ds), c in study.items()
        },
        "sizes_bytes": {ds: list(v) for ds, v in sizes.items()},
        "sensitivity": _sensitivity_json(records),
        "claims": [v.__dict__ | {"label": v.label} for v in verdicts],
    }
    return "\n".join(lines), data


def _uniform_check(table1: Sequence[Result], records: Sequence[StudyRecord]) -> str:
    """Whether the study's uniform 4-bit PTQ (same student, same k-means) scored as Table 1's
    PTQ 4-bit row, (dataset, seed) by (dataset, seed)."""
    t1 = {
        (r.experiment.dataset, r.seed): r.predictions.get("pred")
        for r in table1
        if r.experiment.row == PTQ_ROW and r.experiment.bits == 4
    }
    pairs = [(r, t1.get((r.dataset, r.seed))) for r in records]
    pairs = [(r, p) for r, p in pairs if p is not None]
    same = sum(1 for r, p in pairs if r.uniform["test_pred"] == p)
    return (
        f"Check: the study's uniform 4-bit PTQ gives the same test predictions as Table 1's PTQ "
        f"4-bit row for {same} of {len(pairs)} (dataset, seed) pairs found in both."
    )


def _source(c: Cell) -> str:
    return "table1" if c.bits in (32, 16, 8, 4) else FRONTIER


def _sensitivity_json(records: Sequence[StudyRecord]) -> list[dict]:
    out = []
    for r in sorted(records, key=lambda r: (r.dataset, r.seed)):
        for row in r.scan:
            out.append(
                {
                    "dataset": r.dataset,
                    "seed": r.seed,
                    "tensor": row["tensor"],
                    "numel": row["numel"],
                    "valid_drop": round_value(row["valid_drop"]),
                    "mixed_bits": r.mixed["bits"][row["tensor"]],
                }
            )
    return out


def _sensitivity_lines(records: Sequence[StudyRecord]) -> list[str]:
    if not records:
        return ["## Per-tensor sensitivity", "", "No study records yet.", ""]
    order = [row["tensor"] for row in records[0].scan]
    # (dataset -> numel) per tensor: the head's size depends on the dataset's class count
    sizes: dict[str, dict[str, int]] = {}
    for r in records:
        for row in r.scan:
            sizes.setdefault(row["tensor"], {})[r.dataset] = row["numel"]
    numel = {
        name: next(iter(by_ds.values()))
        if len(set(by_ds.values())) == 1
        else " / ".join(f"{ds} {by_ds[ds]}" for ds in DATASETS if ds in by_ds)
        for name, by_ds in sizes.items()
    }
    headers = ["Tensor", "#weights"]
    for ds in DATASETS:
        headers += [f"{ds} valid drop", f"{ds} mixed bits (per seed)"]
    rows = []
    for name in order:
        cols = [f"`{name}`", numel[name]]
        for ds in DATASETS:
            recs = sorted((r for r in records if r.dataset == ds), key=lambda r: r.seed)
            drops = [next(x for x in r.scan if x["tensor"] == name) for r in recs]
            vals = [d["valid_drop"] for d in drops]
            cols.append(f"{statistics.fmean(vals):+.2f}" if vals else "n/m")
            cols.append("/".join(str(r.mixed["bits"][name]) for r in recs) or "n/m")
        rows.append(cols)
    seeds = sorted({r.seed for r in records})
    return [
        "## Per-tensor sensitivity (ours)",
        "",
        "Validation macro-F1 drop (points, mean over seeds "
        f"{seeds}) when this tensor alone is k-means-quantized to 2 bits and every other weight "
        "stays float (no retraining), against the float QUADS student; the mixed assignment is "
        "chosen from the validation drops only (`benchmark.frontier.assign`: greedy, most "
        "sensitive tensors get more bits, the F1 drop at 3/4/8 bits estimated from each "
        "tensor's k-means error), its measured file no larger than the uniform 4-bit file.",
        "",
        tabulate(rows, headers=headers, tablefmt="github"),
        "",
    ]


def write_frontier_report(
    table1: Sequence[Result],
    frontier: Sequence[Result],
    records: Sequence[StudyRecord],
    profile: str,
    out_dir: Path,
) -> tuple[Path, Path]:
    md, data = render_frontier(table1, frontier, records, profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, js_path = out_dir / "frontier.md", out_dir / "frontier.json"
    md_path.write_text(md + "\n")
    write_strict_json(js_path, data, indent=1, sort_keys=True, ensure_ascii=False)
    cells = build_cells("table1", table1) + build_cells(FRONTIER, frontier)
    write_frontier_figure(frontier_points(cells, records), out_dir / "frontier.png")
    return md_path, js_path
