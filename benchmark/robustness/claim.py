"""The robustness claim: "QUADS keeps its accuracy under noise as well as the baselines do".

Rule (per dataset, for QUADS at 4 and at 32 bits; ``RULE_TEXT`` says it in the report):

    drop(row)   = mean over the sweep's conditions c of F1(row, clean) - F1(row, c),
                  F1 the seed-mean macro F1 (percent) on the same test utterances
    drop(base)  = mean of drop(row) over the trained paper baselines (claims.BASELINES) that are
                  above chance on clean speech (``learning_baselines``; all of them if none is)
    "as well as": drop(QUADS) - drop(base) <= LIMIT, judged by ``claims.drop_within``:
                  held if d + margin <= LIMIT, not held if d - margin > LIMIT, else inconclusive

with margin = ``claims.margin`` of the two drop cells: their 95 % paired bootstrap intervals over
test utterances (the same resampled utterances for clean and every condition) and their seed
spread. A QUADS model at chance on the clean split has nothing to lose, so with baselines also at
chance the comparison is inconclusive. The per-(dataset, bit width) verdicts combine as the
paper's claims do (``claims.combine``).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import numpy as np

from benchmark.metrics import chance_accuracy, resampled_f1
from benchmark.paper import DATASETS
from benchmark.report.cells import Cell
from benchmark.report.claims import NOT_MEASURABLE, Verdict, combine, drop_within, margin

CLAIM = "QUADS keeps its accuracy under noise as well as the baselines do"
LIMIT = 2.0  # F1 points: QUADS may lose up to 2 points more than the baselines, on average
QUADS_BITS = (4, 32)
N_RESAMPLES = 1000
RULE_TEXT = (
    "Rule: drop = mean over the conditions of (clean F1 − F1 under the condition), seed-mean "
    "macro F1 on the same test utterances. The claim holds for a QUADS bit width (4 and 32) on a "
    "dataset if drop(QUADS) − drop(baselines) + margin ≤ 2 F1 points, where drop(baselines) is "
    "the mean drop of the trained paper baselines above chance on clean speech (a baseline at "
    "chance has nothing to lose; all of them are used if none is above chance); it is not held if drop(QUADS) − "
    "drop(baselines) − margin > 2, else inconclusive. margin = sqrt(noise(a)² + noise(b)²) with "
    "noise = sqrt(hw² + (1.96·sd/√n)²): hw the half width of the drop's 95 % paired bootstrap "
    "interval over test utterances (1000 resamples, the same utterances for clean and every "
    "condition), sd, n the spread and number of its per-seed drops. Both sides at chance on "
    "clean speech: inconclusive. The verdicts of both bit widths and both datasets combine as "
    "the paper's claims do: any not held → not held, else any inconclusive → inconclusive."
)


def drop_cell(
    row: str,
    bits: int,
    dataset: str,
    runs: Sequence[object],
    conditions: Sequence[str],
    idx: np.ndarray,
) -> tuple[Cell, np.ndarray] | None:
    """The mean-drop cell of one row from its robustness results (one per seed) and its (R,)
    bootstrap drops, or None.

    measured: seed-mean drop; values: per-seed drops; ci: 95 % paired bootstrap interval of the
    seed-mean drop (resamples ``idx`` (R, N)); chance: clean accuracy's interval reaches chance."""
    runs = [r for r in runs if all(c in r.metrics for c in conditions)]
    if not runs or not conditions:
        return None
    truth = np.asarray(runs[0].predictions["truth"])
    if any(r.predictions["truth"] != runs[0].predictions["truth"] for r in runs):
        return None
    k = int(max(max(max(p) for p in r.predictions.values()) for r in runs)) + 1
    values, boot = [], np.zeros(idx.shape[0])
    clean_acc = np.zeros(idx.shape[0])
    for r in runs:
        clean = r.metrics["clean"]["f1"]
        values.append(statistics.fmean(clean - r.metrics[c]["f1"] for c in conditions))
        pc = np.asarray(r.predictions["clean"])
        b_clean = resampled_f1(truth, pc, idx, k)
        b_cond = np.mean(
            [resampled_f1(truth, np.asarray(r.predictions[c]), idx, k) for c in conditions], axis=0
        )
        boot += (b_clean - b_cond) / len(runs)
        clean_acc += (truth[idx] == pc[idx]).mean(1) * 100 / len(runs)
    lo, hi = np.percentile(boot, (2.5, 97.5))
    cell = Cell.of_our_seeds(
        row,
        bits,
        dataset,
        runs[0].corpus,
        "f1_drop",
        values,
        "",
        ci=(float(lo), float(hi)),
        chance=bool(np.percentile(clean_acc, 2.5) <= chance_accuracy(truth)),
    )
    return cell, boot


def learning_baselines(
    drops: Sequence[tuple[Cell, np.ndarray]],
) -> tuple[list[tuple[Cell, np.ndarray]], list[str]]:
    """The baselines' drop cells the claim averages, and the rows left out: a baseline at chance
    on clean speech has nothing to lose, so its drop (about 0) would make the baselines look
    robust; it is left out unless every baseline is at chance."""
    kept = [d for d in drops if not d[0].chance]
    if not kept:
        return list(drops), []
    return kept, [c.row for c, _ in drops if c.chance]


def group_cell(
    drops: Sequence[tuple[Cell, np.ndarray]], left_out: Sequence[str], dataset: str
) -> Cell | None:
    """The baselines' mean drop from their ``drop_cell`` outputs: measured and per-seed values
    averaged over the rows (seeds every baseline has), interval from the mean of their paired
    bootstrap drops (the same resampled utterances). ``left_out``: baselines not averaged
    (``learning_baselines``), named in the cell's note."""
    if not drops:
        return None
    cells, boots = [c for c, _ in drops], [b for _, b in drops]
    n = min(len(c.values) for c in cells)
    values = tuple(statistics.fmean(c.values[i] for c in cells) for i in range(n))
    mean = np.mean(boots, axis=0)
    lo, hi = np.percentile(mean, (2.5, 97.5))
    return Cell(
        row="baselines",
        bits=32,
        dataset=dataset,
        corpus=cells[0].corpus,
        metric="f1_drop",
        measured=statistics.fmean(c.measured for c in cells),
        paper=None,
        note=", ".join(c.row for c in cells)
        + (f"; left out at chance: {', '.join(left_out)}" if left_out else ""),
        n_seeds=n,
        ci=(float(lo), float(hi)),
        values=values,
        chance=all(c.chance for c in cells),
    )


def judge(quads: Cell | None, base: Cell | None, bits: int) -> tuple[str, str]:
    """(status, detail) of one QUADS bit width on one dataset."""
    if quads is None or base is None:
        gone = "QUADS" if quads is None else "the baselines"
        return NOT_MEASURABLE, f"{bits}-bit: not measured ({gone})"
    status = drop_within(quads, base, LIMIT)
    d = quads.measured - base.measured
    detail = (
        f"{bits}-bit drop {quads.measured:.2f} vs baselines {base.measured:.2f} "
        f"({d:+.2f} ± {margin(quads, base):.2f}; limit {LIMIT:g})"
    )
    if quads.chance and base.chance:
        detail += ", both at chance"
    return status, detail


def robustness_verdict(drops: dict[tuple[str, int], Cell], bases: dict[str, Cell]) -> Verdict:
    """``drops``: (dataset, QUADS bits) -> drop cell; ``bases``: dataset -> baselines' cell."""
    subs, details = [], []
    for ds in DATASETS:
        parts = [judge(drops.get((ds, b)), bases.get(ds), b) for b in QUADS_BITS]
        subs += [(s, "") for s, _ in parts]
        details.append(f"{ds}: " + "; ".join(d for _, d in parts))
    status, scope = combine(subs)
    return Verdict(
        CLAIM,
        "contribution 3 (no experiment in the paper); ours",
        status,
        "; ".join(details),
        scope,
    )
