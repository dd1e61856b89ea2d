"""F1 against SNR (and RT60), one line per Table 1 row, one panel per (dataset, corruption
family); QUADS at 4 and 32 bits highlighted. Deterministic bytes for the same cells (Agg backend,
no metadata), like ``benchmark.report.figure``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from benchmark.data.corruptions import FAMILIES
from benchmark.paper import DATASETS
from benchmark.report.claims import BASELINES

HIGHLIGHT = {("QUADS", 4): "tab:red", ("QUADS", 32): "tab:blue"}
# the other rows: colours other than the highlights', one per row in every panel; baselines dashed
OTHER_COLORS = (
    "tab:orange",
    "tab:green",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
    "black",
)
CLEAN_SNR = 30.0  # where "clean" sits on the SNR axis (dB)


def series(
    cells: Sequence[Mapping], conditions: Mapping[str, Mapping], dataset: str, family: str
) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """(row, bits) -> [(x, F1)] sorted by x: clean at CLEAN_SNR dB (noise) or 0 s (reverb)."""
    clean_x = 0.0 if family == "reverb" else CLEAN_SNR
    out: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for c in cells:
        if c["dataset"] != dataset:
            continue
        if c["condition"] == "clean":
            x = clean_x
        elif conditions[c["condition"]]["family"] == family:
            x = float(conditions[c["condition"]]["level"])
        else:
            continue
        out.setdefault((c["row"], c["bits"]), []).append((x, float(c["f1"])))
    return {k: sorted(v) for k, v in out.items() if len(v) > 1}


def write_figure(cells: Sequence[Mapping], conditions: Mapping[str, Mapping], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [f for f in FAMILIES if any(c["family"] == f for c in conditions.values())] or ["—"]
    fig, axes = plt.subplots(
        len(DATASETS),
        len(families),
        figsize=(3.6 * len(families), 3.4 * len(DATASETS)),
        squeeze=False,
    )
    others = sorted(
        {(c["row"], c["bits"]) for c in cells} - set(HIGHLIGHT),
        key=lambda rb: (rb[0] not in BASELINES, rb),
    )
    colour = {rb: OTHER_COLORS[k % len(OTHER_COLORS)] for k, rb in enumerate(others)}
    for i, ds in enumerate(DATASETS):
        for j, family in enumerate(families):
            ax = axes[i][j]
            lines = series(cells, conditions, ds, family) if family in FAMILIES else {}
            for (row, bits), pts in sorted(
                lines.items(), key=lambda kv: (kv[0] in HIGHLIGHT, kv[0])
            ):
                name = row if row in BASELINES else f"{row} {bits}-bit"
                xs, ys = zip(*pts, strict=True)
                if (row, bits) in HIGHLIGHT:
                    ax.plot(
                        xs,
                        ys,
                        "o-",
                        color=HIGHLIGHT[(row, bits)],
                        lw=2.5,
                        ms=4,
                        label=name,
                        zorder=3,
                    )
                else:
                    style = ".--" if row in BASELINES else ".-"
                    ax.plot(xs, ys, style, color=colour[(row, bits)], lw=0.9, alpha=0.7, label=name)
            if not lines:
                ax.text(0.5, 0.5, "no results", ha="center", va="center", transform=ax.transAxes)
            if family == "reverb":
                ax.set_xlabel("RT60 (s); 0 = clean")
            else:
                ax.set_xlabel(f"SNR (dB); {CLEAN_SNR:g} = clean")
                ax.invert_xaxis()
            ax.set_ylabel("macro F1 (%)")
            ax.set_title(f"{ds} (stand-in corpus): {family}", fontsize=9)
            ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=7)
    fig.suptitle(
        "Macro F1 under test-time noise and reverberation (ours, not in the paper)", fontsize=10
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path
