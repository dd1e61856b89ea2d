"""Every table row as a frozen dataclass, and the run profiles (smoke / cpu / paper)."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmark.paper import DATASETS, TABLE1_ROWS, TABLE2_ROWS

BIT_LENGTHS = (32, 16, 8, 4)  # 32 = float: no quantization


@dataclass(frozen=True)
class Experiment:
    """One row of one table on one dataset (the unit a result file describes)."""

    table: str  # "table1" | "table2"
    row: str  # the paper's row label, e.g. "Whisper (base)" or "QUADS"
    dataset: str  # the paper's dataset this row is reported under: "SLURP" | "FSC"
    model: str  # baselines registry name
    bits: int = 32
    init: str = "pretrained"  # "pretrained" | "random"
    strategy: str = (
        "finetune"  # "finetune" | "Distillation" | "Quantization after Distillation" | "MCT"
    )
    needs: tuple[str, ...] = ()  # what must exist to train it, e.g. ("weights:large-v2",)

    @property
    def slug(self) -> str:
        clean = "".join(ch if ch.isalnum() else "-" for ch in self.row.lower()).strip("-")
        while "--" in clean:
            clean = clean.replace("--", "-")
        strategy = "".join(w[0] for w in self.strategy.split()).lower()
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

    QUADS at 32 bits is the distilled float student (MCT without quantization phases).
    """
    out = []
    for row, (model, init, strategy) in _TABLE1_MODELS.items():
        for bits in BIT_LENGTHS if row == "QUADS" else (32,):
            for ds in DATASETS:
                out.append(Experiment("table1", row, ds, model, bits, init, strategy))
    return tuple(out)


def table2_experiments() -> tuple[Experiment, ...]:
    """Table 2: random vs pre-trained init x Distillation / QaD / MCT at 16 bits, MCT at 4 bits."""
    return tuple(
        Experiment("table2", "QUADS", ds, "whisper-tiny", bits, init, strategy)
        for (init, bits, strategy) in TABLE2_ROWS
        for ds in DATASETS
    )


def experiments(table: str) -> tuple[Experiment, ...]:
    tables = {"table1": table1_experiments, "table2": table2_experiments}
    if table not in tables:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(tables)}")
    return tables[table]()


@dataclass(frozen=True)
class Profile:
    """How big a run is. Every number a report shows is tied to the profile that made it."""

    name: str
    description: str
    corpora: dict[str, str] = field(default_factory=dict)  # paper dataset -> corpus name
    n_frames: int = 300  # input length in 10 ms frames (3 s); the paper uses 3000 (30 s)
    energy_seconds: float = 2.0  # minimum inference time per energy measurement
    measure_energy: bool = True
    train: bool = True

    def corpus_for(self, dataset: str) -> str:
        if dataset not in self.corpora:
            raise ValueError(f"profile {self.name!r} has no corpus for {dataset!r}")
        return self.corpora[dataset]


_SYNTHETIC = {"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"}

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "CI check: tiny subsets, minutes; numbers are not meaningful",
            corpora=_SYNTHETIC,
            n_frames=200,
            energy_seconds=0.5,
        ),
        Profile(
            "cpu",
            "laptop default: synthetic corpora, 3 s inputs, budgets for a 2-core CPU",
            corpora=_SYNTHETIC,
            n_frames=300,
        ),
        Profile(
            "paper",
            "paper scale: real SLURP and FSC, 30 s inputs, the paper's schedule; wants a GPU",
            corpora={"FSC": "fsc", "SLURP": "slurp"},
            n_frames=3000,
            energy_seconds=5.0,
        ),
    )
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]
