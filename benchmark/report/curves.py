"""Learning curves of the claim rows: validation accuracy per epoch, mean over seeds, one panel
per dataset (``<table>_curves.png`` beside the table).

The curve is every epoch of the row's schedule in order (``training.history``); hollow circles are
epochs that evaluate the float student (distillation, fine-tuning), filled squares the quantized
student (quantization phases), so MCT's alternation reads as such. Deterministic bytes for the
same result files (Agg backend, no software / date metadata), like ``figure.py``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmark.paper import DATASETS
from benchmark.report.claims import corpus_title
from benchmark.report.climbing import QUANTIZED, climbing_kinds, kind_of


def is_claim_row(exp) -> bool:
    """Rows the claims read: Table 1's QUADS bit widths (PTQ's student is the 32-bit row, the
    same curve, so it is not drawn twice) and every Table 2 row."""
    return exp.table == "table2" or exp.row == "QUADS"


DISTILLATION = "Dist."


def _label(e) -> str:
    if e.table == "table2":
        short = {"Quantization after Distillation": "QaD", "Distillation": DISTILLATION}
        return f"{short.get(e.strategy, e.strategy)} {e.bits}b ({e.init})"
    return f"{e.row} {e.bits}b"


def curve_points(table: str, results: Sequence) -> dict[str, list[tuple[str, list, bool]]]:
    """dataset -> [(label, [(epoch, mean valid accuracy, kind)], climbing)] in row order."""
    by_exp = defaultdict(list)
    for r in results:
        e = r.experiment
        if e.table == table and is_claim_row(e) and r.training.get("history"):
            by_exp[e].append(r)
    out: dict[str, list[tuple[str, list, bool]]] = {ds: [] for ds in DATASETS}
    for exp, runs in sorted(
        by_exp.items(),
        key=lambda t: (
            t[0].strategy == "Distillation",
            t[0].init or "",
            t[0].strategy or "",
            -t[0].bits,
        ),
    ):
        phases = runs[0].training.get("phases") or []
        per_epoch: dict[int, list[float]] = defaultdict(list)
        kinds: dict[int, str] = {}
        for r in runs:
            for h in r.training["history"]:
                per_epoch[h["epoch"]].append(float(h["valid_accuracy"]))
                i = int(h.get("phase", 0)) - 1
                kinds[h["epoch"]] = kind_of(phases[i] if 0 <= i < len(phases) else None)
        points = [(ep, statistics.fmean(v), kinds[ep]) for ep, v in sorted(per_epoch.items())]
        climbing = any(climbing_kinds(r) for r in runs)
        out.setdefault(exp.dataset, []).append((_label(exp), points, climbing))
    return out


def write_curves(table: str, results: Sequence, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    data = curve_points(table, results)
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(11, 4.2))
    colours = plt.get_cmap("tab10").colors
    for ax, ds in zip(axes, DATASETS, strict=True):
        rows = data.get(ds, [])
        if not rows:
            ax.text(0.5, 0.5, "no trained row", ha="center", va="center")
        for i, (label, points, climbing) in enumerate(rows):
            colour = colours[i % len(colours)]
            # Distillation shares QaD's first epochs (one computed prefix): dashed on top of it
            style = "--" if label.startswith(DISTILLATION) else "-"
            epochs = [p[0] for p in points]
            ax.plot(
                epochs,
                [p[1] for p in points],
                color=colour,
                lw=2.2 if style == "--" else 1.2,
                ls=style,
                alpha=0.8,
                label=label + (" ↗ climbing" if climbing else ""),
            )
            for kind, marker, face in ((QUANTIZED, "s", colour), ("float", "o", "white")):
                sel = [p for p in points if p[2] == kind]
                ax.scatter(
                    [p[0] for p in sel],
                    [p[1] for p in sel],
                    marker=marker,
                    s=22,
                    facecolors=face,
                    edgecolors=colour,
                    zorder=3,
                )
        ax.set_xlabel("epoch (○ float student, ■ quantized student)")
        ax.set_ylabel("validation accuracy (%, mean over seeds)")
        corpora = sorted({r.corpus for r in results if r.experiment.dataset == ds})
        ax.set_title(
            f"{ds} ({corpus_title(corpora)}): learning curves of the claim rows", fontsize=9
        )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if rows:
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
