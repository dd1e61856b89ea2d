"""The paper's published numbers, as data (QUADS, Interspeech 2025, Tables 1 and 2).

Transcribed from the paper's Tables 1 and 2. ``None`` marks a cell the paper leaves empty ("-").
Units are the paper's: #params in millions, size in "MB" (= MiB of the stated bit width: params x
bits / 8 / 2^20, no codebook overhead, which reproduces its sizes), GMACs, accuracy and F1 in
percent.
"""

from __future__ import annotations

from dataclasses import dataclass

DATASETS = ("SLURP", "FSC")
METRICS = ("params_m", "size_mb", "gmacs", "accuracy", "f1")


@dataclass(frozen=True)
class PaperCell:
    table: str  # "table1" | "table2"
    row: str  # the paper's row label
    bits: int
    dataset: str  # "SLURP" | "FSC"
    metric: str  # one of METRICS
    value: float | None
    init: str = "pretrained"  # Table 2 only: "random" | "pretrained"
    strategy: str = ""  # Table 2 only: "Distillation" | "Quantization after Distillation" | "MCT"


# Table 1: row -> bits -> dataset -> (params_m, size_mb, gmacs, accuracy, f1)
_TABLE1: dict[str, dict[int, dict[str, tuple[float | None, ...]]]] = {
    "CTL_pt": {
        32: {"SLURP": (127, 484.47, 143.2, 90.14, 82.27), "FSC": (None,) * 5},
    },
    "CTL": {
        32: {"SLURP": (127, 484.47, 143.2, 72.56, 43.34), "FSC": (None,) * 5},
    },
    "Whisper (large)": {
        32: {
            "SLURP": (634.94, 2422.10, 1136.58, 75.32, 71.11),
            "FSC": (634.90, 2421.97, 1136.58, 99.49, 99.44),
        },
    },
    "Whisper (small)": {
        32: {
            "SLURP": (87.05, 332.1, 172.14, 72.16, 69.73),
            "FSC": (87.03, 331.97, 172.13, 99.39, 99.31),
        },
    },
    "Whisper (base)": {
        32: {
            "SLURP": (19.85, 75.73, 43.71, 71.7, 65.48),
            "FSC": (19.84, 75.68, 43.70, 99.44, 99.4),
        },
    },
    "Prosody": {
        32: {
            "SLURP": (21.04, 80.27, 43.82, 68.23, 62.55),
            "FSC": (21.04, 80.27, 44.12, 97.80, 98.10),
        },
    },
    "Prosody + Distillation": {
        32: {
            "SLURP": (21.47, 81.92, 44.09, 76.26, 71.92),
            "FSC": (21.47, 81.92, 44.31, 99.10, 98.30),
        },
    },
    "QUADS": {
        32: {
            "SLURP": (7.25, 27.66, 15.6, 71.13, 65.07),
            "FSC": (7.64, 29.16, 18.48, 99.20, 99.10),
        },
        16: {
            "SLURP": (7.25, 13.83, 15.6, 70.48, 65.21),
            "FSC": (7.64, 14.58, 18.48, 98.78, 98.21),
        },
        8: {
            "SLURP": (7.25, 6.91, 15.6, 69.73, 64.87),
            "FSC": (7.64, 7.29, 18.48, 98.20, 97.87),
        },
        4: {
            "SLURP": (7.25, 3.46, 15.6, 68.98, 64.39),
            "FSC": (7.64, 3.65, 18.48, 97.39, 96.12),
        },
    },
}

TABLE1_ROWS: tuple[str, ...] = tuple(_TABLE1)

# Table 2: (init, bits, strategy) -> dataset -> (size_mb, f1)
_TABLE2: dict[tuple[str, int, str], dict[str, tuple[float, float]]] = {
    ("random", 16, "Distillation"): {"SLURP": (78.31, 26.59), "FSC": (137.39, 88.93)},
    ("random", 16, "Quantization after Distillation"): {
        "SLURP": (48.13, 12.91),
        "FSC": (72.31, 85.63),
    },
    ("random", 16, "MCT"): {"SLURP": (13.83, 39.78), "FSC": (37.83, 90.19)},
    ("random", 4, "MCT"): {"SLURP": (3.46, 29.61), "FSC": (9.4597, 89.71)},
    ("pretrained", 16, "Distillation"): {"SLURP": (78.31, 60.93), "FSC": (137.39, 98.71)},
    ("pretrained", 16, "Quantization after Distillation"): {
        "SLURP": (48.13, 53.79),
        "FSC": (72.31, 96.23),
    },
    ("pretrained", 16, "MCT"): {"SLURP": (13.83, 65.21), "FSC": (37.83, 98.21)},
    ("pretrained", 4, "MCT"): {"SLURP": (3.46, 64.39), "FSC": (9.4597, 96.12)},
}

TABLE2_ROWS: tuple[tuple[str, int, str], ...] = tuple(_TABLE2)


def table1_cells() -> tuple[PaperCell, ...]:
    """Every cell of Table 1, in the paper's row order."""
    cells = []
    for row, by_bits in _TABLE1.items():
        for bits, by_ds in by_bits.items():
            for ds in DATASETS:
                for metric, value in zip(METRICS, by_ds[ds], strict=True):
                    cells.append(PaperCell("table1", row, bits, ds, metric, value))
    return tuple(cells)


def table2_cells() -> tuple[PaperCell, ...]:
    """Every cell of Table 2 (size and F1 only), in the paper's row order."""
    cells = []
    for (init, bits, strategy), by_ds in _TABLE2.items():
        for ds in DATASETS:
            size, f1 = by_ds[ds]
            for metric, value in (("size_mb", size), ("f1", f1)):
                cells.append(PaperCell("table2", "QUADS", bits, ds, metric, value, init, strategy))
    return tuple(cells)


def paper_value(
    table: str,
    row: str,
    bits: int,
    dataset: str,
    metric: str,
    init: str = "pretrained",
    strategy: str = "",
) -> float | None:
    """The paper's number for one cell, or None where the paper has none."""
    if table not in ("table1", "table2"):
        return None
    cells = table1_cells() if table == "table1" else table2_cells()
    for c in cells:
        if (c.row, c.bits, c.dataset, c.metric) == (row, bits, dataset, metric) and (
            table == "table1" or (c.init, c.strategy) == (init, strategy)
        ):
            return c.value
    return None
