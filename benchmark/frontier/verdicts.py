"""The frontier's two claims (ours, not the paper's), as pure functions of report cells.

Same rules as the paper's claims (``benchmark.report.claims``): the noise margin of a − b from the
cells' bootstrap intervals and seed spreads; per dataset (and bit width) a sub-verdict, combined:
any not held -> not held; else any inconclusive -> inconclusive; else held; none measured -> not
measurable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchmark.paper import DATASETS
from benchmark.report.claims import (
    NOT_HELD,
    NOT_MEASURABLE,
    Verdict,
    _text,
    beats,
    combine,
)

MIXED_CLAIM = "mixed precision beats uniform 4-bit at the same size"
MCT_CLAIM = "MCT beats PTQ at 2 and 3 bits"
SOURCE = "ours (not in the paper)"


def _sub(la: str, a, lb: str, b) -> tuple[str, str, str]:
    if a is None or b is None:
        gone = ", ".join(label for label, c in ((la, a), (lb, b)) if c is None)
        return NOT_MEASURABLE, f"not measured ({gone})", ""
    return beats(a, b), _text(la, a, lb, b), ""


def _verdict(claim: str, subs: Mapping[str, tuple[str, str, str]]) -> Verdict:
    status, scope = combine([(s, sc) for s, _, sc in subs.values()])
    detail = "; ".join(f"{k}: {d}" for k, (_, d, _) in subs.items())
    return Verdict(claim, SOURCE, status, detail, scope)


def mixed_vs_uniform(
    mixed: Mapping[str, object], uniform: Mapping[str, object], sizes: Mapping[str, tuple]
) -> Verdict:
    """Test-F1 cells of the mixed assignment and of uniform 4-bit PTQ per dataset; ``sizes``:
    dataset -> (largest mixed file bytes, smallest uniform file bytes) over seeds. A dataset whose
    mixed file is larger than the uniform one is not held (not at the same size)."""
    subs = {}
    for ds in DATASETS:
        status, detail, scope = _sub("mixed", mixed.get(ds), "uniform 4-bit", uniform.get(ds))
        size = sizes.get(ds)
        if size is not None and status != NOT_MEASURABLE:
            detail += f", files ≤ {size[0] / 2**20:.3f} vs ≥ {size[1] / 2**20:.3f} MB"
            if size[0] > size[1]:
                status, detail = NOT_HELD, detail + " (mixed file larger)"
        subs[ds] = (status, detail, scope)
    return _verdict(MIXED_CLAIM, subs)


def mct_vs_ptq(cells: Sequence, bits: Sequence[int] = (3, 2)) -> Verdict:
    """Test-F1 cells (``row`` "QUADS" = MCT, ``row`` "PTQ control (ours)") at each of ``bits``."""
    from benchmark.rows import PTQ_ROW

    index = {
        (c.row, c.bits, c.dataset): c for c in cells if c.metric == "f1" and c.measured is not None
    }
    subs = {
        f"{ds} {b}-bit": _sub(
            "MCT", index.get(("QUADS", b, ds)), "PTQ", index.get((PTQ_ROW, b, ds))
        )
        for b in bits
        for ds in DATASETS
    }
    return _verdict(MCT_CLAIM, subs)
