"""The harness's schedule builder: equal budgets for every strategy and bit width, per profile."""

import dataclasses

import pytest

from benchmark.profiles import PROFILES
from benchmark.rows import AUTHORS_STRATEGY, PTQ_ROW, table1_experiments, table2_experiments
from benchmark.run.recipe import schedule_for


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_quads_row_and_strategy_distills_for_the_same_epochs(profile):
    p = PROFILES[profile]
    students = [e for e in table1_experiments() if e.model == "whisper-tiny"]
    students += list(table2_experiments())
    schedules = {(e.row, e.bits, e.init, e.strategy): schedule_for(e, p) for e in students}
    distill = {
        k: s.epochs_of("distill") + s.epochs_of("authors-distill") for k, s in schedules.items()
    }
    assert set(distill.values()) == {p.budget.distill_epochs}, distill
    # QaD and MCT quantize equally long; the 32-bit row and the student of the PTQ control
    # fine-tune their float weights for as long (MCT's float twin); Distillation only distills
    for (row, bits, _, strategy), s in schedules.items():
        if strategy in ("MCT", "Quantization after Distillation") and bits < 32:
            assert s.epochs_of("quantize") == p.budget.quant_epochs
        elif strategy == AUTHORS_STRATEGY:  # the authors' recipe: as long as QaD and MCT
            assert s.authors and s.epochs_of("authors-quantize") == p.budget.quant_epochs
        elif strategy == "PTQ" or (strategy == "MCT" and bits == 32):
            assert s.epochs_of("quantize") == 0 and s.epochs_of("finetune") == p.budget.quant_epochs
            mct = schedule_for(dataclasses.replace(students[0], bits=4, strategy="MCT"), p)
            assert [ph.epochs for ph in s.phases] == [ph.epochs for ph in mct.phases]
        else:
            assert s.epochs_of("quantize") == 0, (row, bits, strategy)
    # every strategy shares the first distillation phase (computed once, prefix cache), except
    # the authors' recipe, whose weights are snapped to a k-means first
    assert len({s.phases[0] for s in schedules.values() if not s.authors}) == 1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_mct_rows_alternate_and_end_frozen(profile):
    p = PROFILES[profile]
    mct = next(e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4)
    kinds = [ph.kind for ph in schedule_for(mct, p).phases]
    # at least two distill -> quantize alternations before the final phase
    assert kinds.count("distill") >= 2
    assert kinds[:4] == ["distill", "quantize", "distill", "quantize"]
    assert schedule_for(mct, p).phases[-1].frozen


def test_claim_rows_run_every_seed_and_baselines_their_own():
    p = PROFILES["cpu"]
    assert len(p.seeds) >= 3
    for e in table1_experiments():
        if p.untrained_reason(e):  # efficiency only (CTL): one run, nothing depends on the seed
            assert p.seeds_for(e) == p.seeds[:1], e.row
            continue
        expected = p.seeds if e.row in ("QUADS", PTQ_ROW) else p.baseline_seeds
        assert p.seeds_for(e) == expected, e.row
    trained = [e for e in table2_experiments() if not p.untrained_reason(e)]
    assert trained and all(p.seeds_for(e) == p.seeds for e in trained)


def test_cpu_trains_every_pretrained_table2_row_and_random_distillation_only():
    cpu, paper = PROFILES["cpu"], PROFILES["paper"]
    untrained = {(e.init, e.strategy) for e in table2_experiments() if cpu.untrained_reason(e)}
    assert untrained == {
        ("random", "Quantization after Distillation"),
        ("random", "MCT"),
        ("pretrained", AUTHORS_STRATEGY),  # trained where students converge (issue 23)
    }
    random_mct = [e for e in table2_experiments() if (e.init, e.strategy) == ("random", "MCT")]
    assert "chance" in cpu.untrained_reason(random_mct[0])
    # the paper profile trains every row
    rows = table1_experiments() + table2_experiments()
    assert not [e for e in rows if paper.untrained_reason(e)]
