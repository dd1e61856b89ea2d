"""The report words a run by what ran: real corpora or synthetic stand-ins, rows not selected,
and when the run started and ended (issue 25)."""

from benchmark.report.cells import Selection, build_cells
from benchmark.report.claims import corpora_text, corpus_title
from benchmark.report.tables import render_table1, run_span
from benchmark.results.files import Result
from benchmark.rows import experiments


def _result(exp, corpus: str, date: str = "2026-01-01T01:00:00Z", wall: float = 600.0, seed=0):
    truth = [i % 3 for i in range(30)]
    return Result(
        experiment=exp,
        profile="p",
        seed=seed,
        corpus=corpus,
        metrics={"f1": 50.0, "accuracy": 50.0, "params_m": 7.64},
        config={"num_classes": 3},
        provenance={
            "commit": "abc",
            "date": date,
            "hardware": {"cpu": "x", "cpu_count": 2, "torch_threads": 2, "gpu": None},
            "versions": {"torch": "1"},
        },
        wall_seconds=wall,
        predictions={"truth": truth, "pred": truth},
    )


def _quads(bits: int, dataset: str = "FSC"):
    return next(
        e
        for e in experiments("table1")
        if e.row == "QUADS" and e.bits == bits and e.dataset == dataset
    )


def test_claims_and_figures_name_real_corpora_and_stand_ins_by_what_ran():
    assert "stand-in corpora" in corpora_text(["synthetic-fsc", "synthetic-slurp"])
    real = corpora_text(["fsc-subset50", "slurp"])
    assert "real corpora (`fsc-subset50`, `slurp`)" in real and "stand-in" not in real
    mixed = corpora_text(["fsc", "synthetic-slurp"])
    assert "real corpora (`fsc`)" in mixed and "stand-ins (`synthetic-slurp`)" in mixed
    assert corpus_title(["synthetic-fsc"]) == "stand-in corpus"
    assert corpus_title(["slurp"]) == "slurp"


def test_a_real_corpus_report_never_speaks_of_stand_ins():
    results = [_result(_quads(4), "fsc"), _result(_quads(4, "SLURP"), "slurp")]
    markdown, _ = render_table1(results, "p")
    assert "stand-in" not in markdown.split("## Deviations")[0]
    assert "tested here on the real corpora (`fsc`, `slurp`)" in markdown


def test_cells_not_run_say_whether_they_were_selected():
    results = [_result(_quads(4), "fsc")]
    ctl = next(e for e in experiments("table1") if e.row == "CTL" and e.dataset == "FSC")
    slurp = _quads(4, "SLURP")

    def note(selection, exp):
        cells = build_cells("table1", results, selection)
        return next(
            c.note
            for c in cells
            if (c.row, c.bits, c.dataset, c.metric) == (exp.row, exp.bits, exp.dataset, "f1")
        )

    chosen = Selection(rows=("QUADS",), datasets=("FSC",))
    assert note(chosen, ctl) == "not run in this run: not selected with --rows"
    assert note(chosen, slurp) == "not run in this run: not selected with --datasets"
    # unknown selection (the report command, the reference): neutral wording
    assert note(None, ctl) == "not run in this run (not selected, or no result file)"
    assert "not run with this profile" not in render_table1(results, "p")[0]


def test_the_header_gives_the_runs_start_and_end():
    results = [
        _result(_quads(4), "fsc", "2026-01-01T01:00:00Z", wall=600.0),  # 00:50 - 01:00
        _result(_quads(8), "fsc", "2026-01-01T02:00:00Z", wall=1800.0),  # 01:30 - 02:00
    ]
    assert run_span(results) == (
        "- Run from 2026-01-01T00:50:00Z (start of the first run) to 2026-01-01T02:00:00Z "
        "(end of the last)"
    )


def test_the_header_sums_the_run_minutes_and_says_what_the_sum_leaves_out():
    from dataclasses import replace

    from benchmark.report.tables import compute_line

    plain = _result(_quads(4), "fsc", wall=600.0)
    resumed = replace(
        _result(_quads(8), "fsc", wall=1800.0), training={"resumed_from": "checkpoint"}
    )
    shared = replace(
        _result(_quads(16), "fsc", wall=60.0), training={"resumed_from": "prefix cache"}
    )
    assert (
        compute_line([plain])
        == "- Compute: 10 run-minutes (the sum of the result files' wall times)"
    )
    line = compute_line([plain, resumed, shared])
    assert line.startswith("- Compute: 41 run-minutes")
    assert "1 resumed from an epoch checkpoint count only their last segment" in line
    assert "1 reuse a first phase another row trained, which counts it once" in line
    md, _ = render_table1([plain, resumed], "p")
    assert "- Compute: 40 run-minutes" in md


def test_the_climbing_header_calls_a_quick_budget_a_quick_look_and_names_a_plateau_budget():
    from dataclasses import replace

    # 2 epochs rising by far more than the validation noise: climbing under the rule
    rising = {
        "history": [{"epoch": 1, "valid_accuracy": 20.0}, {"epoch": 2, "valid_accuracy": 60.0}]
    }
    results = [replace(_result(_quads(4), "fsc"), training=rising)]
    quick, _ = render_table1(results, "cpu")
    assert "- Still climbing: 1 of 1 trained (row, seed) runs" in quick
    assert "are a quick look at students that had not finished learning" in quick
    converged, _ = render_table1(results, "converged")  # budgets chosen by `quads-bench plateau`
    assert "quick look" not in converged
    assert "Their budget is the epoch where the float student's validation accuracy" in converged
