"""The paper's Figure 3 from measured cells: F1 vs energy per utterance, bubble area = size.

Deterministic bytes for the same cells (Agg backend, fixed metadata), so regenerating a report
does not change the PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.paper import DATASETS, TABLE1_ROWS


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


def write_figure(cells: Sequence, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = figure_points(cells)
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(11, 4.5))
    for ax, ds in zip(axes, DATASETS, strict=True):
        pts = sorted(points[ds])
        if not pts:
            ax.text(0.5, 0.5, "no row with F1, energy and size measured", ha="center", va="center")
        for label, energy, f1, size in pts:
            ax.scatter(energy, f1, s=max(size, 1.0) * 3, alpha=0.35)
            ax.scatter(energy, f1, marker="*", color="black", s=25)
            ax.annotate(label, (energy, f1), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("energy per utterance (J, codecarbon estimate)")
        ax.set_ylabel("macro F1 (%)")
        ax.set_title(f"{ds} (stand-in corpus; bubble area ∝ size MB)", fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
