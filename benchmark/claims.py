"""The paper's claims, one by one, checked against measured cells: held / not held / not measurable.

Each claim is a pure function of report cells (``benchmark.report.Cell``); the paper's own numbers
are quoted in the claim's text, the verdict uses only measured values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmark.paper import DATASETS

HELD, NOT_HELD, NOT_MEASURABLE = "held", "not held", "not measurable here"


@dataclass(frozen=True)
class Verdict:
    claim: str
    source: str  # where in the paper
    status: str
    detail: str


Lookup = Callable[..., float | None]


def _lookup(cells: Sequence) -> Lookup:
    index = {
        (c.row, c.bits, c.dataset, c.metric, c.init or "pretrained", c.strategy or ""): c.measured
        for c in cells
    }

    def get(row, bits, dataset, metric, init="pretrained", strategy=""):
        return index.get((row, bits, dataset, metric, init, strategy))

    return get


def _verdict(claim, source, pairs, holds, fmt) -> Verdict:
    """pairs: per dataset the measured values; holds(values) -> bool; fmt(values) -> str."""
    details, statuses = [], []
    for ds, values in pairs.items():
        if any(v is None for v in values):
            details.append(f"{ds}: not measured")
            statuses.append(NOT_MEASURABLE)
            continue
        ok = holds(*values)
        statuses.append(HELD if ok else NOT_HELD)
        details.append(f"{ds}: {fmt(*values)}")
    if NOT_HELD in statuses:
        status = NOT_HELD
    elif statuses and all(s == HELD for s in statuses):
        status = HELD
    elif HELD in statuses:
        status = f"{HELD} where measured"
    else:
        status = NOT_MEASURABLE
    return Verdict(claim, source, status, "; ".join(details))


def _f1_drop(get: Lookup, bits: int, limit: float, paper: str) -> Verdict:
    """QUADS at ``bits`` loses at most ``limit`` F1 points to the 32-bit student."""
    return _verdict(
        f"{bits}-bit QUADS is within ~{limit:g} F1 points of the 32-bit student (paper: {paper})",
        "Table 1",
        {ds: (get("QUADS", 32, ds, "f1"), get("QUADS", bits, ds, "f1")) for ds in DATASETS},
        lambda f32, fq: f32 - fq <= limit,
        lambda f32, fq: f"{f32:.2f} -> {fq:.2f} ({fq - f32:+.2f})",
    )


def table1_claims(cells: Sequence) -> list[Verdict]:
    get = _lookup(cells)
    out = [
        _verdict(
            "QUADS needs 60-73x fewer GMACs than Whisper (large) (paper: 61.5x FSC, 72.9x SLURP)",
            "abstract; Table 1",
            {
                ds: (get("Whisper (large)", 32, ds, "gmacs"), get("QUADS", 4, ds, "gmacs"))
                for ds in DATASETS
            },
            lambda big, small: 60 <= big / small <= 73.5,
            lambda big, small: f"{big / small:.1f}x ({big:.1f} / {small:.2f} GMACs)",
        ),
        _verdict(
            "QUADS is 83-700x smaller than Whisper (large) (fp32 student to 4-bit student)",
            "abstract; Table 1",
            {
                ds: (
                    get("Whisper (large)", 32, ds, "size_mb"),
                    get("QUADS", 32, ds, "size_mb"),
                    get("QUADS", 4, ds, "size_mb"),
                )
                for ds in DATASETS
            },
            lambda big, f32, q4: big / f32 >= 80 and big / q4 <= 710,
            lambda big, f32, q4: f"{big / f32:.0f}x to {big / q4:.0f}x",
        ),
        _f1_drop(get, 8, 2.0, "0.20 SLURP, 1.23 FSC"),
        _f1_drop(get, 4, 4.0, "0.68 SLURP, 2.98 FSC"),
        _verdict(
            "QUADS (best bit width) loses at most 5.56 F1 points to the best baseline",
            "Figure 3 caption; Sec. 4.1",
            {
                ds: (
                    max(
                        (v for b in (32, 16, 8, 4) if (v := get("QUADS", b, ds, "f1")) is not None),
                        default=None,
                    ),
                    max(
                        (
                            v
                            for row in (
                                "CTL_pt",
                                "CTL",
                                "Whisper (large)",
                                "Whisper (small)",
                                "Whisper (base)",
                                "Prosody",
                                "Prosody + Distillation",
                            )
                            if (v := get(row, 32, ds, "f1")) is not None
                        ),
                        default=None,
                    ),
                )
                for ds in DATASETS
            },
            lambda q, best: best - q <= 5.56,
            lambda q, best: f"QUADS {q:.2f} vs best measured baseline {best:.2f} ({q - best:+.2f})",
        ),
        _verdict(
            "8-bit QUADS uses 83x (SLURP) / 3637x (FSC) less energy per utterance than "
            "Whisper (base)",
            "Sec. 4.1, Figure 3",
            {
                ds: (get("Whisper (base)", 32, ds, "energy_j"), get("QUADS", 8, ds, "energy_j"))
                for ds in DATASETS
            },
            lambda base, q8: base / q8 >= 80,
            lambda base, q8: (
                f"{base / q8:.1f}x ({base:.3f} vs {q8:.3f} J/utt; the 8-bit "
                "model computes in fp32 here)"
            ),
        ),
    ]
    return out


def table2_claims(cells: Sequence) -> list[Verdict]:
    get = _lookup(cells)
    q, mct, qad, dis = "QUADS", "MCT", "Quantization after Distillation", "Distillation"
    out = [
        _verdict(
            "MCT beats Quantization after Distillation at 16 bits (pre-trained; paper: "
            "65.21 vs 53.79 SLURP, 98.21 vs 96.23 FSC)",
            "Table 2",
            {
                ds: (
                    get(q, 16, ds, "f1", "pretrained", mct),
                    get(q, 16, ds, "f1", "pretrained", qad),
                )
                for ds in DATASETS
            },
            lambda a, b: a > b,
            lambda a, b: f"MCT {a:.2f} vs QaD {b:.2f}",
        ),
        _verdict(
            "MCT beats Quantization after Distillation at 16 bits (random init; paper: "
            "39.78 vs 12.91 SLURP, 90.19 vs 85.63 FSC)",
            "Table 2",
            {
                ds: (get(q, 16, ds, "f1", "random", mct), get(q, 16, ds, "f1", "random", qad))
                for ds in DATASETS
            },
            lambda a, b: a > b,
            lambda a, b: f"MCT {a:.2f} vs QaD {b:.2f}",
        ),
    ]
    for strategy, bits in ((dis, 16), (qad, 16), (mct, 16), (mct, 4)):
        out.append(
            _verdict(
                f"Pre-trained initialisation beats random for {strategy} ({bits} bit)",
                "Table 2, Sec. 4.2",
                {
                    ds: (
                        get(q, bits, ds, "f1", "pretrained", strategy),
                        get(q, bits, ds, "f1", "random", strategy),
                    )
                    for ds in DATASETS
                },
                lambda a, b: a > b,
                lambda a, b: f"pre-trained {a:.2f} vs random {b:.2f}",
            )
        )
    out.append(
        _verdict(
            "MCT 16 -> 4 bit costs little F1 (paper, pre-trained: -0.82 SLURP, -2.09 FSC; "
            "checked as a drop of at most 2.1 points)",
            "Table 2, Sec. 4.2",
            {
                ds: (
                    get(q, 16, ds, "f1", "pretrained", mct),
                    get(q, 4, ds, "f1", "pretrained", mct),
                )
                for ds in DATASETS
            },
            lambda a, b: a - b <= 2.1,
            lambda a, b: f"{a:.2f} -> {b:.2f} ({b - a:+.2f})",
        )
    )
    return out


def render_claims(verdicts: Sequence[Verdict]) -> list[str]:
    from tabulate import tabulate

    rows = [[v.claim, v.source, v.status, v.detail] for v in verdicts]
    return [
        "## The paper's claims, checked",
        "",
        "Measured on this run's corpora and profile (see the header): a claim about the paper's "
        "datasets is only tested here as far as the stand-in corpora allow.",
        "",
        tabulate(rows, headers=["Claim", "Where", "Verdict", "Measured"], tablefmt="github"),
        "",
    ]
