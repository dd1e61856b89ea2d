"""Every table row as a frozen dataclass (``Experiment``), and the rows of Table 1 and Table 2."""

from __future__ import annotations

import re
from dataclasses import dataclass

from benchmark.paper import DATASETS, TABLE1_ROWS, TABLE2_ROWS

BIT_LENGTHS = (32, 16, 8, 4)  # 32 = float: no quantization
# Our control rows (not in the paper): k-means post-training quantization of the distilled float
# student (no retraining), so the pure quantization error sits beside MCT's
PTQ_ROW = "PTQ control (ours)"
PTQ_BITS = (16, 8, 4)
# The bit-width frontier (ours, not in the paper): MCT and the PTQ control below Table 1's
# 4 bits; Table 1's 32/16/8/4-bit rows complete it (``benchmark.frontier``)
FRONTIER = "frontier"
FRONTIER_BITS = (3, 2)
# The authors' recipe (ours, not the paper's rows): their train.py (github BASHLab/QUADS) as a
# strategy of its own (``quads.mct.Budget.authors_mct``: fixed labels from one k-means, cluster-mean
# reset after every quantization step), beside our reading of MCT in Table 1 and Table 2
AUTHORS_STRATEGY = "MCT (authors' recipe)"
AUTHORS_ROW = "QUADS (authors' recipe, ours)"
AUTHORS_BITS = (8, 4)  # 8: the authors' setting; 4: the paper's smallest
# rows whose numbers carry claims about QUADS: they run every seed of the profile
CLAIM_ROWS = ("QUADS", PTQ_ROW, AUTHORS_ROW)


@dataclass(frozen=True)
class Experiment:
    """One row of one table on one dataset (the unit a result file describes)."""

    table: str  # "table1" | "table2" | "frontier" (ours)
    row: str  # the paper's row label, e.g. "Whisper (base)" or "QUADS"
    dataset: str  # the paper's dataset this row is reported under: "SLURP" | "FSC"
    model: str  # baselines registry name
    bits: int = 32
    init: str = "pretrained"  # "pretrained" | "random"
    # "finetune" | "Distillation" | "Quantization after Distillation" | "MCT" | "PTQ"
    # | AUTHORS_STRATEGY
    strategy: str = "finetune"

    @property
    def slug(self) -> str:
        clean = "".join(ch if ch.isalnum() else "-" for ch in self.row.lower()).strip("-")
        while "--" in clean:
            clean = clean.replace("--", "-")
        strategy = "".join(w[0] for w in re.findall(r"[A-Za-z0-9]+", self.strategy)).lower()
        return f"{clean}-{self.bits}b-{self.init}-{strategy}"


# Table 1 rows: paper label -> (model, init, strategy)
_TABLE1_MODELS: dict[str, tuple[str, str, str]] = {
    "CTL_pt": ("ctl", "pretrained", "finetune"),
    "CTL": ("ctl", "random", "finetune"),
    "Whisper (large)": ("whisper-large", "pretrained", "finetune"),
    "Whisper (small)": ("whisper-small", "pretrained", "finetune"),
    "Whisper (base)": ("whisper-base", "pretrained", "finetune"),
    "Prosody": ("prosody", "pretrained", "finetune"),
    "Prosody + Distillation": ("prosody-distill", "pretrained", "finetune"),
    "QUADS": ("whisper-tiny", "pretrained", "MCT"),
}
assert tuple(_TABLE1_MODELS) == TABLE1_ROWS


def table1_experiments() -> tuple[Experiment, ...]:
    """Table 1 in the paper's order: each row on SLURP and FSC; QUADS at 32/16/8/4 bits.

    QUADS at 32 bits is the distilled float student (MCT without quantization phases). The
    ``PTQ_ROW`` control rows and the authors' recipe (``AUTHORS_ROW``) follow, marked as ours.
    """
    out = []
    for row, (model, init, strategy) in _TABLE1_MODELS.items():
        for bits in BIT_LENGTHS if row == "QUADS" else (32,):
            for ds in DATASETS:
                out.append(Experiment("table1", row, ds, model, bits, init, strategy))
    for bits in PTQ_BITS:
        for ds in DATASETS:
            out.append(Experiment("table1", PTQ_ROW, ds, "whisper-tiny", bits, "pretrained", "PTQ"))
    for bits in AUTHORS_BITS:
        for ds in DATASETS:
            out.append(
                Experiment(
                    "table1", AUTHORS_ROW, ds, "whisper-tiny", bits, "pretrained", AUTHORS_STRATEGY
                )
            )
    return tuple(out)


def table2_experiments() -> tuple[Experiment, ...]:
    """Table 2: random vs pre-trained init x Distillation / QaD / MCT at 16 bits, MCT at 4 bits;
    then the authors' recipe (ours) at ``AUTHORS_BITS``, pre-trained."""
    ours = tuple(("pretrained", bits, AUTHORS_STRATEGY) for bits in AUTHORS_BITS)
    return tuple(
        Experiment("table2", "QUADS", ds, "whisper-tiny", bits, init, strategy)
        for (init, bits, strategy) in TABLE2_ROWS + ours
        for ds in DATASETS
    )


def frontier_experiments() -> tuple[Experiment, ...]:
    """The frontier's own rows: QUADS (MCT) and the PTQ control at ``FRONTIER_BITS``, each on
    SLURP and FSC, with Table 1's QUADS model, init and budget."""
    model, init, strategy = _TABLE1_MODELS["QUADS"]
    out = []
    for bits in FRONTIER_BITS:
        for row, strat in (("QUADS", strategy), (PTQ_ROW, "PTQ")):
            for ds in DATASETS:
                out.append(Experiment(FRONTIER, row, ds, model, bits, init, strat))
    return tuple(out)


TABLES = ("table1", "table2", FRONTIER)


def experiments(table: str) -> tuple[Experiment, ...]:
    tables = {"table1": table1_experiments, "table2": table2_experiments}
    tables[FRONTIER] = frontier_experiments
    if table not in tables:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(tables)}")
    return tables[table]()
