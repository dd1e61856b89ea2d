"""The paper's claims, one by one, checked against measured cells, with noise margins.

Each claim is a pure function of report cells (``benchmark.report.cells.Cell``); the paper's own numbers
are quoted in the claim's text, the verdict uses only measured values. A verdict is one of
``held``, ``not held``, ``inconclusive`` or ``not measurable``. Each claim gets a sub-verdict per
dataset (SLURP, FSC); they combine as: any not held -> not held; else any inconclusive ->
inconclusive; else any held -> held; none measured -> not measurable. When some inputs are
unmeasured but the others decide the claim, the verdict carries ``scope="where measured"``.

Noise margin (accuracy / F1 comparisons; efficiency metrics are deterministic, no margin;
``benchmark.results.noise``, shared with the agreement check against the reference)::

    noise(c)     = sqrt(hw^2 + (1.96 * sd / sqrt(n))^2)
                   hw = half width of c.ci (95 % bootstrap over the test set; 0 if None),
                   sd, n = sample std and count of c.values (one per seed; 0 if n < 2)
    margin(a, b) = sqrt(noise(a)^2 + noise(b)^2)

    "a beats b":         held if a - b > margin, not held if a - b < -margin, else inconclusive
    "a - b <= limit":    held if (a - b) + margin <= limit, not held if (a - b) - margin > limit,
                         else inconclusive

If both compared cells are at chance (``cell.chance``) the comparison is inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmark.paper import DATASETS, TABLE1_ROWS
from benchmark.results.noise import margin
from benchmark.rows import AUTHORS_BITS, AUTHORS_ROW
from benchmark.rows import PTQ_ROW as PTQ

HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURABLE = "held", "not held", "inconclusive", "not measurable"
WHERE_MEASURED = "where measured"
BASELINES = tuple(row for row in TABLE1_ROWS if row != "QUADS")  # the paper's Table 1 order
NOISE_TEXT = (
    "Accuracy / F1 comparisons are noise-aware: noise(c) = sqrt(hw² + (1.96·sd/√n)²), with hw the "
    "half width of the cell's 95 % bootstrap interval over the test set (resampled by the unit "
    "the header names) and sd, n the std and number of its per-seed values; the margin of a − b "
    "is sqrt(noise(a)² + noise(b)²). "
    "'a beats b' is held if a − b > margin, not held if a − b < −margin, else inconclusive; "
    "'a − b ≤ limit' is held if a − b + margin ≤ limit, not held if a − b − margin > limit, else "
    "inconclusive. Two cells both at chance are inconclusive. Details read "
    "`a vs b (a − b ± margin)`."
)


@dataclass(frozen=True)
class Verdict:
    claim: str
    source: str  # where in the paper
    status: str  # one of HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURABLE
    detail: str
    scope: str = ""  # WHERE_MEASURED when some inputs were not measured

    @property
    def label(self) -> str:
        return f"{self.status} {self.scope}".strip()


Sub = tuple[str, str, str]  # (status, detail, scope) of one dataset
Get = Callable[..., object]


def _lookup(cells: Sequence) -> Get:
    index = {(c.row, c.bits, c.dataset, c.metric, c.init, c.strategy): c for c in cells}

    def get(row, bits, dataset, metric, init=None, strategy=None, raw=False):
        """The cell if measured (``raw``: the cell even if unmeasured), else None."""
        c = index.get((row, bits, dataset, metric, init, strategy))
        return c if c is not None and (raw or c.measured is not None) else None

    return get


def beats(a, b) -> str:
    """Noise-aware verdict on 'a.measured > b.measured'."""
    if a.chance and b.chance:
        return INCONCLUSIVE
    d, m = a.measured - b.measured, margin(a, b)
    return HELD if d > m else NOT_HELD if d < -m else INCONCLUSIVE


def drop_within(a, b, limit: float) -> str:
    """Noise-aware verdict on 'a.measured - b.measured <= limit'."""
    if a.chance and b.chance:
        return INCONCLUSIVE
    d, m = a.measured - b.measured, margin(a, b)
    return HELD if d + m <= limit else NOT_HELD if d - m > limit else INCONCLUSIVE


def combine(subs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """(status, scope) per dataset -> (status, scope) of the claim."""
    measured = [s for s, _ in subs if s != NOT_MEASURABLE]
    if not measured:
        return NOT_MEASURABLE, ""
    partial = len(measured) < len(subs) or any(scope for _, scope in subs)
    status = (
        NOT_HELD if NOT_HELD in measured else INCONCLUSIVE if INCONCLUSIVE in measured else HELD
    )
    return status, WHERE_MEASURED if partial else ""


def _verdict(claim: str, source: str, judge: Callable[[str], Sub]) -> Verdict:
    """judge(dataset) -> that dataset's sub-verdict; the claim's verdict combines them."""
    per_ds = {ds: judge(ds) for ds in DATASETS}
    status, scope = combine([(s, sc) for s, _, sc in per_ds.values()])
    detail = "; ".join(f"{ds}: {d}" for ds, (_, d, _) in per_ds.items())
    return Verdict(claim, source, status, detail, scope)


def _side(label: str, c) -> str:
    """``label value``, then ``(chance)`` for a cell at chance and ``↗`` for a climbing one."""
    marks = (" (chance)" if c.chance else "") + (" ↗" if c.climbing else "")
    return f"{label} {c.measured:.2f}{marks}"


def _text(la: str, a, lb: str, b, sep: str = "vs", extra: str = "") -> str:
    text = f"{_side(la, a)} {sep} {_side(lb, b)} ({a.measured - b.measured:+.2f} ± "
    text += f"{margin(a, b):.2f}{extra})"
    if a.chance and b.chance:
        text += ", both at chance"
    if a.schedule and b.schedule and a.schedule != b.schedule:
        text += f", schedules differ: {a.schedule} vs {b.schedule}"
    return text


def _missing(**named) -> Sub:
    gone = ", ".join(k for k, v in named.items() if v is None)
    return NOT_MEASURABLE, f"not measured ({gone})", ""


def _beats(la: str, a, lb: str, b) -> Sub:
    if a is None or b is None:
        return _missing(**{la: a, lb: b})
    return beats(a, b), _text(la, a, lb, b), ""


def _drop(la: str, a, lb: str, b, limit: float) -> Sub:
    """a = reference, b = compressed; the detail shows a - b, the drop."""
    if a is None or b is None:
        return _missing(**{la: a, lb: b})
    return drop_within(a, b, limit), _text(la, a, lb, b, "->", f"; limit {limit:g}"), ""


def _gmacs(big, small) -> Sub:
    if big is None or small is None:
        return _missing(**{"Whisper (large)": big, "QUADS 4-bit": small})
    r = big.measured / small.measured
    text = f"{r:.1f}x ({big.measured:.1f} / {small.measured:.2f} GMACs)"
    return (HELD if 60 <= r <= 73.5 else NOT_HELD), text, ""


def _size(big, f32, q4_file) -> Sub:
    if big is None or f32 is None or q4_file is None:
        named = {"Whisper (large)": big, "QUADS 32-bit": f32, "QUADS 4-bit file": q4_file}
        return _missing(**named)
    lo, hi = big.measured / f32.measured, big.measured / q4_file.measured
    ok = 0.9 * 83 <= lo <= 1.1 * 83 and 0.9 * 663 <= hi <= 1.1 * 700
    text = (
        f"{lo:.0f}x (fp32 {f32.measured:.2f} MB) to {hi:.0f}x (4-bit file "
        f"{q4_file.measured:.2f} MB), Whisper (large) {big.measured:.2f} MB"
    )
    return (HELD if ok else NOT_HELD), text, ""


def _best_baseline(get: Get, ds: str) -> Sub:
    quads = [(c, b) for b in (32, 16, 8, 4) if (c := get("QUADS", b, ds, "f1")) is not None]
    base = [(c, r) for r in BASELINES if (c := get(r, 32, ds, "f1")) is not None]
    gone = [r for r in BASELINES if get(r, 32, ds, "f1") is None]
    if not quads or not base:
        return NOT_MEASURABLE, "not measured (" + ("QUADS" if not quads else "baselines") + ")", ""
    q, qb = max(quads, key=lambda t: t[0].measured)
    b, row = max(base, key=lambda t: t[0].measured)
    status, text, _ = _drop(f"best baseline {row}", b, f"QUADS {qb}-bit", q, 5.56)
    if gone:
        return status, f"{text} [baselines not measured: {', '.join(gone)}]", WHERE_MEASURED
    return status, text, ""


def _energy(get: Get, ds: str) -> Sub:
    q8 = get("QUADS", 8, ds, "energy_j", raw=True)
    if q8 is not None and "dequantized" in (q8.note or ""):
        return (
            NOT_MEASURABLE,
            "8-bit QUADS runs with dequantized fp32 weights here, so its energy is the float "
            "student's",
            "",
        )
    base, q8 = get("Whisper (base)", 32, ds, "energy_j"), get("QUADS", 8, ds, "energy_j")
    if base is None or q8 is None:
        return _missing(**{"Whisper (base)": base, "QUADS 8-bit": q8})
    r = base.measured / q8.measured
    text = f"{r:.1f}x ({base.measured:.3f} vs {q8.measured:.3f} J/utt)"
    return (HELD if r >= 80 else NOT_HELD), text, ""


def table1_claims(cells: Sequence) -> list[Verdict]:
    get = _lookup(cells)

    def authors_vs_ours(bits: int) -> Verdict:
        return _verdict(
            f"The authors' recipe (fixed k-means labels, cluster-mean reset) beats our reading "
            f"of MCT at {bits} bits (our question, not the paper's claim)",
            "github BASHLab/QUADS train.py; our rows",
            lambda ds: _beats(
                f"authors {bits}-bit",
                get(AUTHORS_ROW, bits, ds, "f1"),
                f"QUADS {bits}-bit",
                get("QUADS", bits, ds, "f1"),
            ),
        )

    def drop(bits: int, limit: float, paper: str) -> Verdict:
        return _verdict(
            f"{bits}-bit QUADS is within ~{limit:g} F1 points of the 32-bit student (paper: {paper})",
            "Table 1",
            lambda ds: _drop(
                "32-bit",
                get("QUADS", 32, ds, "f1"),
                f"{bits}-bit",
                get("QUADS", bits, ds, "f1"),
                limit,
            ),
        )

    return [
        _verdict(
            "QUADS needs 60-73x fewer GMACs than Whisper (large) (paper: 61.5x FSC, 72.9x SLURP)",
            "abstract; Table 1",
            lambda ds: _gmacs(
                get("Whisper (large)", 32, ds, "gmacs"), get("QUADS", 4, ds, "gmacs")
            ),
        ),
        _verdict(
            "QUADS is 83-700x smaller than Whisper (large) (fp32 student: 83x; exported 4-bit "
            "file: 663x FSC, 700x SLURP; checked as 83x ±10 % and 663x -10 % to 700x +10 %)",
            "abstract; Table 1, Figure 3",
            lambda ds: _size(
                get("Whisper (large)", 32, ds, "size_mb"),
                get("QUADS", 32, ds, "size_mb"),
                get("QUADS", 4, ds, "size_file_mb"),
            ),
        ),
        drop(8, 2.0, "0.20 SLURP, 1.23 FSC"),
        drop(4, 4.0, "0.68 SLURP, 2.98 FSC"),
        _verdict(
            "QUADS (best bit width) loses at most 5.56 F1 points to the best baseline",
            "Figure 3 caption; Sec. 4.1",
            lambda ds: _best_baseline(get, ds),
        ),
        _verdict(
            "8-bit QUADS uses 83x (SLURP) / 3637x (FSC) less energy per utterance than "
            "Whisper (base) (checked as at least 80x)",
            "Sec. 4.1, Figure 3",
            lambda ds: _energy(get, ds),
        ),
        _verdict(
            "MCT at 4 bits beats k-means post-training quantization of the same distilled "
            "student at 4 bits (the paper: MCT mitigates the degradation quantization "
            "introduces, Sec. 4.2)",
            "Sec. 4.2; our PTQ control",
            lambda ds: _beats(
                "QUADS 4-bit", get("QUADS", 4, ds, "f1"), "PTQ 4-bit", get(PTQ, 4, ds, "f1")
            ),
        ),
        *(authors_vs_ours(bits) for bits in AUTHORS_BITS),
    ]


def table2_claims(cells: Sequence) -> list[Verdict]:
    get = _lookup(cells)
    mct, qad, dis = "MCT", "Quantization after Distillation", "Distillation"

    def f1(bits: int, ds: str, init: str, strategy: str):
        return get("QUADS", bits, ds, "f1", init, strategy)

    def pre_vs_random(strategy: str, bits: int) -> Verdict:
        return _verdict(
            f"Pre-trained initialisation beats random for {strategy} ({bits} bit)",
            "Table 2, Sec. 4.2",
            lambda ds: _beats(
                "pre-trained",
                f1(bits, ds, "pretrained", strategy),
                "random",
                f1(bits, ds, "random", strategy),
            ),
        )

    def mct_vs_qad(init: str, name: str, paper: str) -> Verdict:
        return _verdict(
            f"MCT beats Quantization after Distillation at 16 bits ({name}; paper: {paper})",
            "Table 2",
            lambda ds: _beats("MCT", f1(16, ds, init, mct), "QaD", f1(16, ds, init, qad)),
        )

    return [
        mct_vs_qad("pretrained", "pre-trained", "65.21 vs 53.79 SLURP, 98.21 vs 96.23 FSC"),
        mct_vs_qad("random", "random init", "39.78 vs 12.91 SLURP, 90.19 vs 85.63 FSC"),
        *(pre_vs_random(s, b) for s, b in ((dis, 16), (qad, 16), (mct, 16), (mct, 4))),
        _verdict(
            "MCT 16 -> 4 bit costs little F1 (paper, pre-trained: -0.82 SLURP, -2.09 FSC; "
            "checked as a drop of at most 2.1 points)",
            "Table 2, Sec. 4.2",
            lambda ds: _drop(
                "16-bit", f1(16, ds, "pretrained", mct), "4-bit", f1(4, ds, "pretrained", mct), 2.1
            ),
        ),
    ]


def _synthetic(corpus: str) -> bool | None:
    """Whether a result's ``corpus`` (e.g. ``fsc-subset50``) is a synthetic stand-in; None:
    not in the registry."""
    from benchmark.data.corpora import CORPORA

    name = corpus.split("-subset")[0]
    return CORPORA[name].synthetic if name in CORPORA else None


def corpus_title(corpora: Sequence[str]) -> str:
    """A figure panel's corpus: "stand-in corpus" for synthetic ones, else the corpus names."""
    if not corpora or all(_synthetic(c) is not False for c in corpora):
        return "stand-in corpus"
    return ", ".join(corpora)


def corpora_text(corpora: Sequence[str]) -> str:
    """How far a claim about the paper's datasets is tested on ``corpora`` (the results'
    ``corpus`` names, e.g. ``synthetic-fsc``, ``slurp``, ``fsc-subset50``): by what ran, synthetic
    stand-ins or real corpora (``benchmark.data.corpora.CORPORA[name].synthetic``)."""
    kinds = {c: _synthetic(c) for c in corpora}
    real = [f"`{c}`" for c, k in kinds.items() if k is False]
    stand_ins = [f"`{c}`" for c, k in kinds.items() if k is True]
    if real and not stand_ins and None not in kinds.values():
        return f"tested here on the real corpora ({', '.join(real)}), at this profile's budget"
    if real:
        return (
            f"tested here on the real corpora ({', '.join(real)}) and only as far as the "
            f"synthetic stand-ins ({', '.join(stand_ins) or 'the others'}) allow"
        )
    return "only tested here as far as the stand-in corpora allow"


def render_claims(verdicts: Sequence[Verdict], corpora: Sequence[str] = ()) -> list[str]:
    """The claims section; ``corpora``: what the results ran on (empty: the stand-ins)."""
    from tabulate import tabulate

    rows = [[v.claim, v.source, v.label, v.detail] for v in verdicts]
    return [
        "## The paper's claims, checked",
        "",
        "Measured on this run's corpora and profile (see the header): a claim about the paper's "
        f"datasets is {corpora_text(corpora)}.",
        "",
        NOISE_TEXT,
        "",
        tabulate(rows, headers=["Claim", "Where", "Verdict", "Measured"], tablefmt="github"),
        "",
    ]
