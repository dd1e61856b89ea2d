"""The paper's Figure 3 from measured cells: F1 vs energy per utterance, bubble area = size.

Deterministic bytes for the same cells (Agg backend, fixed metadata), so regenerating a report
does not change the PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.paper import DATASETS, TABLE1_ROWS
from benchmark.report.claims import corpus_title


def figure_points(cells: Sequence) -> dict[str, list[tuple[str, float, float, float]]]:
    """dataset -> [(label, energy J/utt, F1, size MB)] for rows with all three measured."""
    index = {(c.row, c.bits, c.dataset, c.metric): c.measured for c in cells}
    out: dict[str, list[tuple[str, float, float, float]]] = {ds: [] for ds in DATASETS}
    for (row, bits, ds, metric), value in index.items():
        if metric != "f1" or value is None or row not in TABLE1_ROWS:  # the paper's rows only
            continue
        energy = index.get((row, bits, ds, "energy_j"))
        size = index.get((row, bits, ds, "size_mb"))
        if energy is None or size is None:
            continue
        label = f"{row} {bits}b" if row == "QUADS" else row
        out[ds].append((label, energy, value, size))
    return out


LABEL_GAP = 0.06  # axes fraction between stacked labels (7 pt text on a 4.5 in panel)
CLUSTER = 0.12  # axes fraction in x within which points share one label column
DEQUANTIZED_NOTE = (
    "QUADS 16b / 8b / 4b run with dequantized fp32 weights here: their energy is the float "
    "student's, not that of low-bit arithmetic"
)


def label_positions(
    points: Sequence[tuple[float, float]], gap: float = LABEL_GAP, cluster: float = CLUSTER
) -> list[tuple[float, float, str]]:
    """Where to write each point's label, in axes fractions: (x, y, horizontal alignment).

    points: (x, y) of each marker in axes fractions. Labels go right of their marker (left of it
    in the right third of the panel); markers within ``cluster`` in x share a label column, in
    which labels keep their markers' vertical order at least ``gap`` apart, pushed down from the
    top edge if needed. So no label covers another; a leader line joins each to its marker."""
    out: list[tuple[float, float, str] | None] = [None] * len(points)
    order = sorted(range(len(points)), key=lambda i: points[i][0])
    groups: list[list[int]] = []
    for i in order:
        if groups and points[i][0] - points[groups[-1][0]][0] <= cluster:
            groups[-1].append(i)
        else:
            groups.append([i])
    for members in groups:
        right = points[members[0]][0] > 0.67
        x = (
            min(points[i][0] for i in members) - 0.04
            if right
            else max(points[i][0] for i in members) + 0.04
        )
        ys: list[float] = []
        members = sorted(members, key=lambda i: points[i][1])
        for i in members:
            ys.append(max(points[i][1], ys[-1] + gap) if ys else max(points[i][1], 0.03))
        excess = ys[-1] - 0.95
        if excess > 0:
            ys = [y - excess for y in ys]
            for j in range(len(ys) - 2, -1, -1):  # keep the gap below the shifted labels
                ys[j] = min(ys[j], ys[j + 1] - gap)
        for i, y in zip(members, ys, strict=True):
            out[i] = (x, y, "right" if right else "left")
    return [o for o in out if o is not None]


def write_figure(cells: Sequence, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = figure_points(cells)
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(11, 4.8))
    for ax, ds in zip(axes, DATASETS, strict=True):
        pts = sorted(points[ds])
        if not pts:
            ax.text(0.5, 0.5, "no row with F1, energy and size measured", ha="center", va="center")
        for _, energy, f1, size in pts:
            ax.scatter(energy, f1, s=max(size, 1.0) * 3, alpha=0.35)
            ax.scatter(energy, f1, marker="*", color="black", s=25, zorder=3)
        ax.set_xscale("log")
        ax.autoscale_view()
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        to_axes = ax.transData + ax.transAxes.inverted()
        marks = [tuple(to_axes.transform((energy, f1))) for _, energy, f1, _ in pts]
        for (label, energy, f1, _), (x, y, ha) in zip(pts, label_positions(marks), strict=True):
            ax.annotate(
                f"{label} ({f1:.1f})",
                (energy, f1),
                xytext=(x, y),
                textcoords="axes fraction",
                fontsize=7,
                ha=ha,
                va="center",
                arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.4", "shrinkB": 3},
            )
        ax.set_xlabel("energy per utterance (J, codecarbon estimate)")
        ax.set_ylabel("macro F1 (%)")
        corpora = sorted({c.corpus for c in cells if c.dataset == ds and c.corpus})
        title = f"{ds} ({corpus_title(corpora)}; bubble area ∝ size MB; label: F1)"
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.text(0.5, 0.01, DEQUANTIZED_NOTE, ha="center", fontsize=8, style="italic")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
