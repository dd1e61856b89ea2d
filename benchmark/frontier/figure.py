"""frontier.png: test F1 against measured model size (log x), one panel per dataset.

Deterministic bytes for the same points (Agg backend, no metadata), like Figure 3's
(``benchmark.report.figure``).
"""

from __future__ import annotations

from pathlib import Path

from benchmark.paper import DATASETS

STYLE = {"MCT (QUADS)": ("o-", "tab:blue"), "PTQ": ("s--", "tab:orange")}


def write_frontier_figure(points: dict, path: Path) -> Path:
    """``points``: ``benchmark.frontier.report.frontier_points``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(DATASETS), figsize=(11, 4.5))
    for ax, ds in zip(axes, DATASETS, strict=True):
        pts = points.get(ds, {})
        drawn = False
        for label, (fmt, color) in STYLE.items():
            line = sorted(pts.get(label, []), key=lambda p: p[1])
            if not line:
                continue
            drawn = True
            xs, ys, es = [p[1] for p in line], [p[2] for p in line], [p[3] for p in line]
            ax.errorbar(xs, ys, yerr=es, fmt=fmt, color=color, label=label, capsize=3, ms=5)
            for b, x, y, _ in line:
                ax.annotate(f"{b}b", (x, y), fontsize=7, xytext=(3, 4), textcoords="offset points")
        for key, marker, color, label in (
            ("mixed", "*", "tab:red", "mixed 2/3/4/8 PTQ"),
            ("uniform", "D", "tab:gray", "uniform 4-bit PTQ (study)"),
        ):
            if key in pts:
                drawn = True
                x, y, e = pts[key]
                ax.errorbar([x], [y], yerr=[e], fmt=marker, color=color, ms=11, label=label)
        if not drawn:
            ax.text(0.5, 0.5, "no row measured", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.set_xscale("log")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_xlabel("model size (MB, measured file; 32-bit: #params × 4 B)")
        ax.set_ylabel("test macro F1 (%)")
        ax.set_title(f"{ds} (stand-in corpus) — ours, not in the paper", fontsize=9)
        ax.grid(True, alpha=0.3, which="both")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
