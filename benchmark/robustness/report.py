"""Robustness result files -> ``robustness.md``, ``robustness.json`` and ``robustness.png``.

A pure function of the result files (and the sweep's counts passed in): regenerating from the
same files gives the same bytes. Every number is ours: the paper has no robustness experiment.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tabulate import tabulate

from benchmark.data.corruptions import CONDITIONS, FAMILIES
from benchmark.data.records import RECORDING
from benchmark.metrics import bootstrap_ci, resample_counts
from benchmark.paper import DATASETS
from benchmark.report.cells import Cell, round_value, shared_groups
from benchmark.report.claims import BASELINES, render_claims
from benchmark.report.strict_json import write_strict_json
from benchmark.report.tables import UNIT_TEXT, _provenance_lines
from benchmark.robustness.claim import (
    N_RESAMPLES,
    QUADS_BITS,
    RULE_TEXT,
    absolute_drop,
    drop_cell,
    group_cell,
    learning_baselines,
    robustness_verdict,
)
from benchmark.robustness.results import CLEAN, DIFFER, EQUAL, RobustnessResult
from benchmark.rows import Experiment, table1_experiments

MARK = "ours (not in the paper)"


@dataclass(frozen=True)
class F1Cell:
    """Macro F1 of one row under one condition: seed mean, std, 95 % bootstrap interval."""

    row: str
    bits: int
    dataset: str
    condition: str
    mean: float
    std: float | None
    ci: tuple[float, float]
    n_seeds: int

    def text(self) -> str:
        std = f" ± {self.std:.1f}" if self.std is not None else ""
        return f"{self.mean:.1f}{std} [{self.ci[0]:.1f}, {self.ci[1]:.1f}]"

    def to_json(self) -> dict[str, object]:
        return {
            "row": self.row,
            "bits": self.bits,
            "dataset": self.dataset,
            "condition": self.condition,
            "f1": round_value(self.mean),
            "std": round_value(self.std),
            "ci": [round_value(self.ci[0]), round_value(self.ci[1])],
            "n_seeds": self.n_seeds,
        }


def resampling(runs: Sequence[RobustnessResult]) -> tuple[str, list[int] | None]:
    """The bootstrap's resampling unit for these runs (all on one test set) and the sentence ids
    it draws, (N,); ("recording", None) unless every file stores the same ids."""
    groups = shared_groups([r.groups for r in runs])
    return (RECORDING, None) if groups is None else (runs[0].sentence_unit, groups)


def paired_counts(runs: Sequence[RobustnessResult]) -> np.ndarray:
    """(N_RESAMPLES, N) draws of the test recordings shared by every paired comparison on one
    test set (``metrics.resample_counts``, seed 0): by sentence where the files store ids."""
    _, groups = resampling(runs)
    n = len(runs[0].predictions["truth"])
    return resample_counts(range(n) if groups is None else groups, N_RESAMPLES, 0)


def units(by_exp: dict[Experiment, list[RobustnessResult]]) -> dict[str, str]:
    """dataset -> the bootstrap's resampling unit of its runs (``resampling``)."""
    out = {}
    for ds in DATASETS:
        runs = [r for e, rs in by_exp.items() if e.dataset == ds for r in rs]
        if runs:
            out[ds] = resampling(runs)[0]
    return out


def unit_line(by_exp: dict[Experiment, list[RobustnessResult]]) -> str:
    """The header's line naming each dataset's resampling unit."""
    text = "; ".join(f"{ds}: {UNIT_TEXT[u]}" for ds, u in units(by_exp).items())
    return f"- Bootstrap resampling unit: {text}."


def row_label(exp: Experiment) -> str:
    return f"{exp.row} {exp.bits}-bit" if exp.row not in BASELINES else exp.row


def drop_label(c: Cell) -> str:
    """The drop table's row label of a drop cell (a row's, or the baselines' group cell)."""
    if c.row == "baselines":
        return f"baselines ({c.note})"
    return c.row if c.row in BASELINES else f"{c.row} {c.bits}-bit"


def group(results: Sequence[RobustnessResult]) -> dict[Experiment, list[RobustnessResult]]:
    by: dict[Experiment, list[RobustnessResult]] = defaultdict(list)
    for r in results:
        by[r.experiment].append(r)
    return {e: sorted(by[e], key=lambda r: r.seed) for e in table1_experiments() if e in by}


def conditions_of(results: Sequence[RobustnessResult]) -> list[str]:
    """Conditions every result has, in the registry's order."""
    common = set(CONDITIONS)
    for r in results:
        common &= set(r.conditions)
    return [c for c in CONDITIONS if c in common] if results else []


def f1_cells(
    by_exp: dict[Experiment, list[RobustnessResult]], names: Sequence[str]
) -> list[F1Cell]:
    out = []
    for exp, runs in by_exp.items():
        truth = runs[0].predictions["truth"]
        if any(r.predictions["truth"] != truth for r in runs):
            continue
        k = runs[0].config.get("table1_config", {}).get("num_classes")  # None: not checked
        _, groups = resampling(runs)  # the same for every condition of the row
        for name in (CLEAN, *names):
            values = [r.metrics[name]["f1"] for r in runs]
            preds = [r.predictions[name] for r in runs]
            ci = bootstrap_ci(truth, preds, groups=groups, num_classes=k)["f1"]
            std = statistics.stdev(values) if len(values) > 1 else None
            out.append(
                F1Cell(
                    exp.row,
                    exp.bits,
                    exp.dataset,
                    name,
                    statistics.fmean(values),
                    std,
                    ci,
                    len(values),
                )
            )
    return out


def verdict_of(by_exp: dict[Experiment, list[RobustnessResult]], names: Sequence[str]):
    """The claim's verdict, the drop cells it used, the baselines' cells, and the absolute drops
    (F1 points, shown beside the relative ones) keyed by (row label, dataset)."""
    drops, bases, used, absolute = {}, {}, [], {}
    for ds in DATASETS:
        exps = {e: runs for e, runs in by_exp.items() if e.dataset == ds}
        if not exps:
            continue
        counts = paired_counts([r for runs in exps.values() for r in runs])
        base = []
        for exp, runs in exps.items():
            got = drop_cell(exp.row, exp.bits, ds, runs, names, counts)
            if got is None:
                continue
            used.append(got[0])
            absolute[(row_label(exp), ds)] = absolute_drop(runs, names)
            if exp.row == "QUADS" and exp.bits in QUADS_BITS:
                drops[(ds, exp.bits)] = got[0]
            elif exp.row in BASELINES:
                base.append(got)
        kept, left_out = learning_baselines(base)
        cell = group_cell(kept, left_out, ds)
        if cell is not None:
            bases[ds] = cell
            absolute[(drop_label(cell), ds)] = statistics.fmean(
                absolute[(c.row, ds)] for c, _ in kept
            )
    return robustness_verdict(drops, bases), used, bases, absolute


def _check_lines(results: Sequence[RobustnessResult]) -> list[str]:
    counts: dict[str, int] = defaultdict(int)
    differ = []
    for r in results:
        counts[r.clean_check["status"]] += 1
        if r.clean_check["status"] == DIFFER:
            e = r.experiment
            differ.append(
                f"{e.row} {e.bits} bit {e.dataset} seed {r.seed} ({r.clean_check['differing']} of "
                f"{r.clean_check['n']} utterances)"
            )
    text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    moved = [
        (r.clean_check[k], r.clean_check["n"])
        for r in results
        for k in r.clean_check
        if k.endswith("_vs_fp32_differing")
    ]
    lines = [
        f"- Clean predictions of each snapshot vs its Table 1 result file's test predictions: {text}."
    ]
    if moved:
        lines.append(
            f"- The sweep's reduced-precision arithmetic changes {sum(m for m, _ in moved)} of "
            f"{sum(n for _, n in moved)} clean predictions ({len(moved)} runs) against fp32; "
            "clean F1 and every corrupted F1 below use that arithmetic, so drops compare like with "
            "like."
        )
    if differ:
        lines.append(
            "- **MISMATCH: the snapshot is not the model its Table 1 row was scored with** for: "
            + "; ".join(differ)
            + ". Their robustness numbers do not describe the Table 1 row."
        )
    elif counts.get(EQUAL) == len(results) and results:
        lines.append("- Every snapshot reproduces its Table 1 row's test predictions exactly.")
    return lines


def cost_lines(results: Sequence[RobustnessResult]) -> list[str]:
    """Measured cost: corrupted features per corpus (built once, shared) and inference."""
    feats: dict[str, dict[str, float]] = defaultdict(dict)
    for r in results:
        for what, sec in r.feature_seconds.items():
            feats[r.experiment.dataset][what] = sec
    parts = [
        f"{ds} " + " + ".join(f"{w} {sec:.0f} s" for w, sec in sorted(feats[ds].items()))
        for ds in DATASETS
        if ds in feats
    ]
    inference = sum(r.wall_seconds for r in results)
    return [
        "- Cost (measured; see Hardware): corrupted test features, built once per corpus for all "
        f"conditions and shared by every row: {', '.join(parts) or '–'}; inference of all "
        f"(row, seed) runs on clean + every condition: {inference / 60:.1f} min in total."
    ]


def render(
    results: Sequence[RobustnessResult],
    profile: str,
    counts: Sequence[str] = (),
    excluded: Sequence[str] = (),
) -> tuple[str, dict[str, object]]:
    by_exp = group(results)
    names = conditions_of(results)
    cells = f1_cells(by_exp, names)
    verdict, drops, bases, absolute = verdict_of(by_exp, names)
    index = {(c.row, c.bits, c.dataset, c.condition): c for c in cells}
    lines = [
        f"# Noise robustness of the Table 1 rows — {MARK}",
        "",
        "Generated by `quads-bench robustness` from result files; do not edit by hand. The paper "
        "claims robust generalization in diverse acoustic environments but measures none; every "
        "number below is ours.",
        "",
        "**Test sets are the synthetic stand-in corpora** of the profile (espeak-ng speech, "
        "`synthetic-fsc` / `synthetic-slurp`), corrupted at test time only with noise the "
        "training data never contains (training mixes white / pink / brown noise and babble of "
        "separate babble voices at 20 / 10 / 5 dB): babble of 4 other test utterances, blue "
        "(∝ f) and violet (∝ f²) noise at 20 / 10 / 5 / 0 dB SNR relative to the utterance's "
        "speech power, and reverberation with a synthetic room impulse response (Polack's "
        "exponentially decaying noise, RT60 0.3 s and 0.7 s). Each corruption is a deterministic "
        "function of the utterance id.",
        "",
        *_provenance_lines(list(results), profile),
        *(f"- {line}" for line in counts),
        *cost_lines(results),
        "- Inference arithmetic under noise: "
        + (", ".join(sorted({str(r.config.get("precision")) for r in results})) or "–")
        + " (the clean check against Table 1 always in fp32, as the test split was scored)",
        *_check_lines(results),
        *([unit_line(by_exp)] if results else []),
        "",
        "Cells: macro F1 (%) `seed mean ± std [95 % bootstrap interval over the test set, "
        "resampled by the unit the header names]`.",
        "",
    ]
    for ds in DATASETS:
        exps = [e for e in by_exp if e.dataset == ds]
        if not exps:
            continue
        corpora = sorted({r.corpus for e in exps for r in by_exp[e]})
        lines += [f"## {ds} (ran on {', '.join(f'`{c}`' for c in corpora)})", ""]
        for family in FAMILIES:
            cols = [n for n in names if CONDITIONS[n].family == family]
            if not cols:
                continue
            rows = []
            for e in exps:
                seeds = len(by_exp[e])
                row = [row_label(e), seeds]
                row += [index[(e.row, e.bits, ds, n)].text() for n in (CLEAN, *cols)]
                rows.append(row)
            headers = ["Row", "Seeds", "clean", *cols]
            lines += [f"### {family}", "", tabulate(rows, headers=headers, tablefmt="github"), ""]

    def drop_row(c: Cell) -> list[object]:
        label = drop_label(c)
        return [
            label,
            c.dataset,
            f"{c.measured:.1f}",
            f"[{c.ci[0]:.1f}, {c.ci[1]:.1f}]",
            f"{absolute[(label, c.dataset)]:.2f}",
            c.n_seeds,
            "yes" if c.chance else "",
        ]

    drop_rows = [drop_row(c) for c in [*drops, *bases.values()]]
    lines += [
        "## Mean F1 drop from clean (over all conditions)",
        "",
        "Relative drop: the share of its clean macro F1 a row loses, averaged over the conditions "
        "(the claim's measure, with its 95 % paired bootstrap interval); absolute drop: clean F1 "
        "minus the mean F1 over the conditions, in F1 points.",
        "",
        tabulate(
            drop_rows,
            headers=[
                "Row",
                "Dataset",
                "Drop (% of clean F1)",
                "95 % CI",
                "Drop (F1 points)",
                "Seeds",
                "Clean at chance",
            ],
            tablefmt="github",
        ),
        "",
    ]
    claim_lines = render_claims([verdict])
    claim_lines[0] = f"## The robustness claim — {MARK}"
    claim_lines[2] = RULE_TEXT
    lines += claim_lines
    lines += ["## Figure", "", "![F1 vs SNR / RT60](robustness.png)", ""]
    if excluded:
        lines += ["## Excluded result files", "", *(f"- {x}" for x in excluded), ""]
    data = {
        "note": MARK,
        "profile": profile,
        "conditions": {
            n: {"family": CONDITIONS[n].family, "level": CONDITIONS[n].level} for n in names
        },
        "resampling_unit": units(by_exp),
        "cells": [c.to_json() for c in cells],
        "drops": [
            {
                "row": c.row,
                "bits": c.bits,
                "dataset": c.dataset,
                "drop_percent_of_clean": round_value(c.measured),
                "drop_f1_points": round_value(absolute[(drop_label(c), c.dataset)]),
                "ci": [round_value(c.ci[0]), round_value(c.ci[1])],
                "n_seeds": c.n_seeds,
                "chance": c.chance,
            }
            for c in [*drops, *bases.values()]
        ],
        "claim": {"claim": verdict.claim, "verdict": verdict.label, "detail": verdict.detail},
        "clean_check": {
            f"{r.experiment.dataset} {row_label(r.experiment)} seed {r.seed}": r.clean_check[
                "status"
            ]
            for r in results
        },
    }
    return "\n".join(lines), data


def write_robustness_report(
    results: Sequence[RobustnessResult],
    profile: str,
    out_dir: Path,
    counts: Sequence[str] = (),
    excluded: Sequence[str] = (),
) -> tuple[Path, Path]:
    from benchmark.robustness.figure import write_figure

    markdown, data = render(results, profile, counts, excluded)
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "robustness.md", out_dir / "robustness.json"
    md.write_text(markdown)
    write_strict_json(js, data, indent=1, ensure_ascii=False)
    write_figure(data["cells"], data["conditions"], out_dir / "robustness.png")
    return md, js
