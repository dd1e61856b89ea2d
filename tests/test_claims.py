"""The paper's claims: noise-aware verdicts, scope, and what makes a claim unmeasurable."""

import math

import pytest

from benchmark.report.cells import Cell
from benchmark.report.claims import (
    BASELINES,
    HELD,
    INCONCLUSIVE,
    NOT_HELD,
    NOT_MEASURABLE,
    WHERE_MEASURED,
    Verdict,
    beats,
    combine,
    drop_within,
    render_claims,
    table1_claims,
    table2_claims,
)
from benchmark.results.noise import margin, noise

DS = ("SLURP", "FSC")
MCT, QAD, DIS = "MCT", "Quantization after Distillation", "Distillation"


def cell(row, bits, ds, metric, value, *, note="", ci=None, values=(), chance=False, **kw):
    return Cell(
        row, bits, ds, "c", metric, value, None, note, ci=ci, values=values, chance=chance, **kw
    )


def f1(row, bits, value, ds=DS, **kw):
    return [cell(row, bits, d, "f1", value, **kw) for d in ds]


def find(verdicts, prefix) -> Verdict:
    (v,) = [v for v in verdicts if v.claim.startswith(prefix)]
    return v


# --- the noise arithmetic -----------------------------------------------------------------------


def test_noise_combines_bootstrap_interval_and_seed_spread():
    c = cell("QUADS", 4, "FSC", "f1", 50.0, ci=(47.0, 53.0), values=(48.0, 50.0, 52.0))
    se = 1.96 * 2.0 / math.sqrt(3)  # sample std of (48, 50, 52) is 2
    assert noise(c) == pytest.approx(math.sqrt(3.0**2 + se**2))
    assert noise(cell("QUADS", 4, "FSC", "f1", 50.0, values=(50.0,))) == 0.0
    other = cell("QUADS", 4, "FSC", "f1", 50.0, ci=(46.0, 50.0))
    assert margin(c, other) == pytest.approx(math.hypot(noise(c), 2.0))


def test_beats_and_drop_within_use_the_margin():
    a = cell("x", 4, "FSC", "f1", 55.0, ci=(53.0, 57.0))  # noise 2
    b = cell("x", 4, "FSC", "f1", 50.0, ci=(48.5, 51.5))  # noise 1.5 -> margin 2.5
    assert beats(a, b) == HELD and beats(b, a) == NOT_HELD
    close = cell("x", 4, "FSC", "f1", 52.0, ci=(50.5, 53.5))  # +2.0 vs margin 2.12
    assert beats(close, b) == INCONCLUSIVE
    assert drop_within(a, b, 8.0) == HELD  # 5 + 2.5 <= 8
    assert drop_within(a, b, 6.0) == INCONCLUSIVE
    assert drop_within(a, b, 2.0) == NOT_HELD  # 5 - 2.5 > 2
    ca, cb = (cell("x", 4, "FSC", "f1", v, chance=True) for v in (90.0, 10.0))
    assert beats(ca, cb) == INCONCLUSIVE and drop_within(ca, cb, 100.0) == INCONCLUSIVE
    assert beats(ca, b) == HELD  # only one side at chance: judged as usual


def test_combine_rules():
    h, n, i, m = ((s, "") for s in (HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURABLE))
    assert combine([h, h]) == (HELD, "")
    assert combine([h, n]) == (NOT_HELD, "")
    assert combine([i, n]) == (NOT_HELD, "")
    assert combine([h, i]) == (INCONCLUSIVE, "")
    assert combine([h, m]) == (HELD, WHERE_MEASURED)
    assert combine([m, m]) == (NOT_MEASURABLE, "")
    assert combine([(HELD, WHERE_MEASURED), h]) == (HELD, WHERE_MEASURED)


# --- Table 1 ------------------------------------------------------------------------------------


def test_gmacs_ratio():
    def cells(big, small):
        return [cell("Whisper (large)", 32, d, "gmacs", big) for d in DS] + [
            cell("QUADS", 4, d, "gmacs", small) for d in DS
        ]

    claim = "QUADS needs 60-73x fewer GMACs"
    assert find(table1_claims(cells(1136.58, 18.48)), claim).status == HELD
    assert find(table1_claims(cells(1136.58, 10.0)), claim).status == NOT_HELD
    assert find(table1_claims(cells(None, 18.48)), claim).status == NOT_MEASURABLE
    v = find(table1_claims(cells(1136.58, 18.48)[:-1]), claim)  # FSC QUADS cell missing
    assert (v.status, v.scope) == (HELD, WHERE_MEASURED) and "FSC: not measured" in v.detail


def size_cells(big=2422.0, f32=29.16, q4_file=3.65):
    out = []
    for d in DS:
        out.append(cell("Whisper (large)", 32, d, "size_mb", big))
        out.append(cell("QUADS", 32, d, "size_mb", f32))
        out.append(cell("QUADS", 4, d, "size_mb", 3.65))  # the paper's formula, never used
        out.append(cell("QUADS", 4, d, "size_file_mb", q4_file))
    return out


def test_size_claim_uses_the_exported_file_and_both_ends():
    claim = "QUADS is 83-700x smaller"
    assert find(table1_claims(size_cells()), claim).status == HELD
    # an uncompressed 4-bit file (fp32-sized codes) used to pass `big / q4 <= 710`
    v = find(table1_claims(size_cells(q4_file=14.0)), claim)
    assert v.status == NOT_HELD and "173x" in v.detail
    assert find(table1_claims(size_cells(q4_file=1.0)), claim).status == NOT_HELD  # too small
    assert find(table1_claims(size_cells(f32=10.0)), claim).status == NOT_HELD  # low end off
    assert find(table1_claims(size_cells(q4_file=None)), claim).status == NOT_MEASURABLE
    no_file = [c for c in size_cells() if c.metric != "size_file_mb"]
    assert find(table1_claims(no_file), claim).status == NOT_MEASURABLE


@pytest.mark.parametrize(("bits", "limit"), [(8, 2.0), (4, 4.0)])
def test_bit_width_drop(bits, limit):
    claim = f"{bits}-bit QUADS is within ~{limit:g} F1 points"

    def status(f32, fq, **kw):
        return find(table1_claims(f1("QUADS", 32, f32, **kw) + f1("QUADS", bits, fq)), claim)

    assert status(90.0, 90.0 - limit + 0.5).status == HELD
    assert status(90.0, 90.0 - limit - 0.5).status == NOT_HELD
    assert status(90.0, 90.0 - limit - 0.5, ci=(88.0, 92.0)).status == INCONCLUSIVE
    assert status(None, 89.0).status == NOT_MEASURABLE
    v = status(90.0, 90.0 - limit + 0.5)
    assert f"32-bit 90.00 -> {bits}-bit" in v.detail and "± 0.00" in v.detail


def baseline_cells(quads=70.0, rows=("Whisper (base)", "Prosody"), best=74.0, chance=False):
    out = f1("QUADS", 32, quads, chance=chance) + f1("QUADS", 4, quads - 1.0, chance=chance)
    for i, row in enumerate(rows):
        out += f1(row, 32, best - i, chance=chance)
    return out


def test_best_baseline_gap_and_where_measured():
    claim = "QUADS (best bit width) loses at most 5.56"
    v = find(table1_claims(baseline_cells(rows=BASELINES)), claim)
    assert (v.status, v.scope) == (HELD, "") and "not measured" not in v.detail
    assert "best baseline CTL_pt 74.00 -> QUADS 32-bit 70.00" in v.detail
    v = find(table1_claims(baseline_cells()), claim)
    assert (v.status, v.scope, v.label) == (HELD, WHERE_MEASURED, "held where measured")
    assert "baselines not measured: CTL_pt, CTL, Whisper (large), Whisper (small)" in v.detail
    v = find(table1_claims(baseline_cells(best=80.0)), claim)
    assert (v.status, v.scope) == (NOT_HELD, WHERE_MEASURED)
    assert find(table1_claims(baseline_cells(best=80.0, chance=True)), claim).status == INCONCLUSIVE
    assert "both at chance" in find(table1_claims(baseline_cells(chance=True)), claim).detail
    assert find(table1_claims(baseline_cells(rows=())), claim).status == NOT_MEASURABLE


def energy_cells(base=1.0, q8=0.01, note=""):
    return [cell("Whisper (base)", 32, d, "energy_j", base) for d in DS] + [
        cell("QUADS", 8, d, "energy_j", q8, note=note) for d in DS
    ]


def test_energy_is_not_measurable_on_dequantized_weights():
    claim = "8-bit QUADS uses 83x"
    assert find(table1_claims(energy_cells()), claim).status == HELD
    assert find(table1_claims(energy_cells(q8=0.5)), claim).status == NOT_HELD
    v = find(table1_claims(energy_cells(note="codecarbon; weights dequantized on load")), claim)
    assert v.status == NOT_MEASURABLE and "dequantized fp32 weights" in v.detail
    v = find(table1_claims(energy_cells(q8=None, note="weights dequantized")), claim)
    assert v.status == NOT_MEASURABLE
    assert find(table1_claims(energy_cells(base=None)), claim).status == NOT_MEASURABLE


def test_mct_beats_post_training_quantization_control():
    claim = "MCT at 4 bits beats k-means post-training quantization"
    ptq = "PTQ control (ours)"
    s1, s2 = "D4 + Q3", "D4"

    def verdict(q, p, ci=None, chance=False, sched=(s1, s1)):
        cells = f1("QUADS", 4, q, ci=ci, chance=chance, schedule=sched[0])
        cells += f1(ptq, 4, p, ci=ci, chance=chance, schedule=sched[1])
        return find(table1_claims(cells), claim)

    v = verdict(60.0, 40.0)
    assert v.status == HELD and "QUADS 4-bit 60.00 vs PTQ 4-bit 40.00 (+20.00 ± 0.00)" in v.detail
    assert "schedules differ" not in v.detail
    assert verdict(40.0, 60.0).status == NOT_HELD
    assert verdict(51.0, 50.0, ci=(40.0, 60.0)).status == INCONCLUSIVE
    v = verdict(60.0, 40.0, chance=True)
    assert v.status == INCONCLUSIVE and "(chance)" in v.detail and "both at chance" in v.detail
    assert verdict(None, 40.0).status == NOT_MEASURABLE
    v = verdict(60.0, 40.0, sched=(s1, s2))
    assert v.status == HELD and "schedules differ: D4 + Q3 vs D4" in v.detail


def test_authors_recipe_against_our_mct_at_8_and_4_bits():
    row = "QUADS (authors' recipe, ours)"
    for bits in (8, 4):
        claim = f"The authors' recipe (fixed k-means labels, cluster-mean reset) beats our reading of MCT at {bits} bits"
        cells = f1(row, bits, 70.0) + f1("QUADS", bits, 50.0)
        v = find(table1_claims(cells), claim)
        assert (
            v.status == HELD and f"authors {bits}-bit 70.00 vs QUADS {bits}-bit 50.00" in v.detail
        )
        assert (
            find(table1_claims(f1(row, bits, 40.0) + f1("QUADS", bits, 50.0)), claim).status
            == NOT_HELD
        )
        assert find(table1_claims(f1("QUADS", bits, 50.0)), claim).status == NOT_MEASURABLE


# --- Table 2 ------------------------------------------------------------------------------------


def t2(bits, init, strategy, value, **kw):
    return f1("QUADS", bits, value, init=init, strategy=strategy, **kw)


@pytest.mark.parametrize("init", ["pretrained", "random"])
def test_mct_beats_qad(init):
    claim = "MCT beats Quantization after Distillation at 16 bits (" + (
        "pre-trained" if init == "pretrained" else "random"
    )

    def verdict(mct, qad, **kw):
        return find(table2_claims(t2(16, init, MCT, mct, **kw) + t2(16, init, QAD, qad)), claim)

    v = verdict(45.10, 41.30, ci=(41.0, 49.2))
    assert v.status == INCONCLUSIVE and "MCT 45.10 vs QaD 41.30 (+3.80 ± 4.10)" in v.detail
    assert verdict(45.0, 41.0, values=(44.0, 45.0, 46.0)).status == HELD
    assert verdict(41.0, 45.0).status == NOT_HELD
    assert verdict(None, 45.0).status == NOT_MEASURABLE


@pytest.mark.parametrize(("strategy", "bits"), [(DIS, 16), (QAD, 16), (MCT, 16), (MCT, 4)])
def test_pretrained_beats_random(strategy, bits):
    claim = f"Pre-trained initialisation beats random for {strategy} ({bits} bit)"

    def verdict(pre, rnd, chance=False, sched=("D4 + Q3", "D4 + Q3")):
        cells = t2(bits, "pretrained", strategy, pre, chance=chance, schedule=sched[0])
        cells += t2(bits, "random", strategy, rnd, chance=chance, schedule=sched[1])
        return find(table2_claims(cells), claim)

    assert verdict(70.0, 60.0).status == HELD
    assert verdict(60.0, 70.0).status == NOT_HELD
    assert verdict(70.0, 60.0, chance=True).status == INCONCLUSIVE
    assert verdict(70.0, None).status == NOT_MEASURABLE
    assert "schedules differ" not in verdict(70.0, 60.0).detail
    assert "schedules differ: D8 vs D4" in verdict(70.0, 60.0, sched=("D8", "D4")).detail


def test_mct_16_to_4_drop():
    claim = "MCT 16 -> 4 bit costs little F1"

    def verdict(f16, f4, **kw):
        cells = t2(16, "pretrained", MCT, f16, **kw) + t2(4, "pretrained", MCT, f4)
        return find(table2_claims(cells), claim)

    assert verdict(65.0, 64.0).status == HELD
    assert verdict(65.0, 62.0).status == NOT_HELD
    assert verdict(65.0, 62.0, ci=(62.0, 68.0)).status == INCONCLUSIVE
    assert verdict(65.0, None).status == NOT_MEASURABLE
    # one dataset measured: held where measured
    cells = t2(16, "pretrained", MCT, 65.0, ds=("FSC",)) + t2(4, "pretrained", MCT, 64.5)
    v = find(table2_claims(cells), claim)
    assert (v.status, v.label) == (
        HELD,
        "held where measured",
    ) and "SLURP: not measured" in v.detail


def test_every_claim_is_not_measurable_without_cells_and_render_explains_the_margin():
    verdicts = table1_claims([]) + table2_claims([])
    assert len(verdicts) == 9 + 7
    assert all(v.status == NOT_MEASURABLE and v.scope == "" for v in verdicts)
    text = "\n".join(render_claims(table1_claims(baseline_cells())))
    assert "sqrt(noise(a)² + noise(b)²)" in text and "1.96" in text
    assert "held where measured" in text


def test_a_verdict_detail_marks_each_climbing_cell_it_reads():
    claim = "MCT at 4 bits beats k-means post-training quantization"
    cells = f1("QUADS", 4, 60.0, climbing=True) + f1("PTQ control (ours)", 4, 40.0)
    detail = find(table1_claims(cells), claim).detail
    assert "QUADS 4-bit 60.00 ↗ vs PTQ 4-bit 40.00 (+20.00" in detail
    assert "PTQ 4-bit 40.00 ↗" not in detail
