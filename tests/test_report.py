"""Result files and reports: atomic writes, resume keys, paper numbers never shown as ours."""

import json

import pytest
from helpers import predictions_scoring

from benchmark.paper import paper_value, table1_cells, table2_cells
from benchmark.profiles import get_profile
from benchmark.report.cells import build_cells
from benchmark.report.tables import write_report
from benchmark.results.files import Result, read_result, read_results, result_path, write_result
from benchmark.rows import table1_experiments, table2_experiments
from benchmark.run.plan import select


def _result(exp, seed=0, **metrics):
    scored = "accuracy" in metrics or "f1" in metrics
    if scored:  # a result file's accuracy and F1 are those of its stored predictions
        assert metrics["accuracy"] == metrics["f1"]
    return Result(
        experiment=exp,
        profile="smoke",
        seed=seed,
        corpus="synthetic-fsc",
        metrics=metrics,
        notes={"accuracy": "not measured: test"} if "accuracy" not in metrics else {},
        provenance={
            "commit": "abc",
            "date": "2026-01-01T00:00:00Z",
            "versions": {"torch": "x"},
            "hardware": {"cpu": "cpu", "cpu_count": 2, "torch_threads": 2, "gpu": None},
        },
        config={"num_classes": 3} if scored else {},
        predictions=predictions_scoring(metrics["f1"]) if scored else {},
    )


def test_paper_tables_are_complete():
    # Table 1: 7 rows at 32 bit + QUADS at 16/8/4, 2 datasets, 5 metrics
    assert len(table1_cells()) == (8 + 3) * 2 * 5
    # Table 2: 8 rows, 2 datasets, 2 metrics
    assert len(table2_cells()) == 8 * 2 * 2
    assert paper_value("table1", "QUADS", 4, "FSC", "size_mb") == 3.65
    assert paper_value("table1", "CTL", 32, "FSC", "accuracy") is None
    assert paper_value("table2", "QUADS", 16, "SLURP", "f1", "random", "MCT") == 39.78
    # + our PTQ control rows at 16/8/4 bits and the authors' recipe at 8/4 bits, both datasets
    assert len(table1_experiments()) == 22 + 6 + 4 and len(table2_experiments()) == 16 + 4
    ours = [e for e in table1_experiments() + table2_experiments() if "authors" in e.strategy]
    assert all(
        paper_value(e.table, e.row, e.bits, e.dataset, "f1", e.init, e.strategy) is None
        for e in ours
    )


def test_result_round_trip_and_atomic_write(tmp_path):
    exp = table1_experiments()[0]
    path = result_path(tmp_path, exp, "smoke", 3)
    r = _result(exp, 3, params_m=1.0)
    write_result(path, r)
    assert read_result(path) == r
    assert not list(path.parent.glob("*.tmp"))
    path.write_text("{ half a file")
    with pytest.raises(ValueError, match=str(path)):
        read_result(path)


def test_cells_never_show_the_papers_number_as_ours(tmp_path):
    exp = next(e for e in table1_experiments() if e.row == "Whisper (base)" and e.dataset == "FSC")
    write_result(result_path(tmp_path, exp, "smoke", 0), _result(exp, params_m=19.84))
    cells = build_cells("table1", read_results(tmp_path, "smoke", "table1"))
    acc = next(
        c
        for c in cells
        if c.row == "Whisper (base)" and c.dataset == "FSC" and c.metric == "accuracy"
    )
    assert acc.measured is None and acc.paper == 99.44 and "not measured" in acc.note
    unrun = next(
        c for c in cells if c.row == "CTL" and c.metric == "params_m" and c.dataset == "SLURP"
    )
    assert (
        unrun.measured is None
        and unrun.paper == 127
        and unrun.note.startswith("not run in this run")
    )


def test_several_seeds_give_mean_and_std(tmp_path):
    exp = next(
        e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4 and e.dataset == "FSC"
    )
    for seed, f1 in enumerate((80.0, 90.0)):
        write_result(
            result_path(tmp_path, exp, "smoke", seed), _result(exp, seed, f1=f1, accuracy=f1)
        )
    cells = build_cells("table1", read_results(tmp_path, "smoke", "table1"))
    f1 = next(
        c
        for c in cells
        if c.row == "QUADS" and c.bits == 4 and c.dataset == "FSC" and c.metric == "f1"
    )
    assert f1.measured == pytest.approx(85.0) and f1.n_seeds == 2
    assert f1.std == pytest.approx(7.0710678, rel=1e-6)


def test_report_is_byte_identical_across_renders(tmp_path, no_figure):  # figure: test below
    exp = table1_experiments()[5]
    write_result(result_path(tmp_path / "results", exp, "smoke", 0), _result(exp, params_m=2.0))
    results = read_results(tmp_path / "results", "smoke", "table1")
    md1, js1 = write_report("table1", results, "smoke", tmp_path / "a")
    md2, js2 = write_report("table1", results, "smoke", tmp_path / "b")
    assert md1.read_bytes() == md2.read_bytes()
    assert js1.read_bytes() == js2.read_bytes()
    cells = json.loads(js1.read_text())
    assert {"row", "bits", "dataset", "corpus", "metric", "measured", "paper", "note"} <= set(
        cells[0]
    )


def test_unknown_names_list_the_valid_choices():
    with pytest.raises(ValueError, match="known: .*QUADS"):
        select("table1", ["Whisper (huge)"], ["FSC"])
    with pytest.raises(ValueError, match="known: SLURP, FSC"):
        select("table1", None, ["ATIS"])
    with pytest.raises(ValueError, match="known: smoke, cpu, converged, paper"):
        get_profile("gpu")


def _cell(row, bits, ds, metric, value, init=None, strategy=None):
    from benchmark.report.cells import Cell

    return Cell(row, bits, ds, "c", metric, value, None, "", init=init, strategy=strategy)


def test_claims_are_judged_on_measured_values_only():
    from benchmark.report.claims import HELD, NOT_HELD, NOT_MEASURABLE, table2_claims

    def cells(mct_f1, qad_f1):
        out = []
        for ds in ("SLURP", "FSC"):
            out.append(_cell("QUADS", 16, ds, "f1", mct_f1, "pretrained", "MCT"))
            out.append(
                _cell(
                    "QUADS", 16, ds, "f1", qad_f1, "pretrained", "Quantization after Distillation"
                )
            )
        return out

    claim = "MCT beats Quantization after Distillation at 16 bits (pre-trained"
    verdict = next(v for v in table2_claims(cells(70.0, 60.0)) if v.claim.startswith(claim))
    assert verdict.status == HELD and "MCT 70.00 vs QaD 60.00" in verdict.detail
    verdict = next(v for v in table2_claims(cells(50.0, 60.0)) if v.claim.startswith(claim))
    assert verdict.status == NOT_HELD
    verdict = next(v for v in table2_claims(cells(None, 60.0)) if v.claim.startswith(claim))
    assert verdict.status == NOT_MEASURABLE


def test_figure_is_byte_identical_across_renders(tmp_path):
    from benchmark.report.figure import write_figure

    cells = [
        _cell("QUADS", 4, "FSC", "f1", 80.0),
        _cell("QUADS", 4, "FSC", "energy_j", 0.3),
        _cell("QUADS", 4, "FSC", "size_mb", 3.65),
        _cell("Whisper (base)", 32, "FSC", "f1", 90.0),
        _cell("Whisper (base)", 32, "FSC", "energy_j", 0.7),
        _cell("Whisper (base)", 32, "FSC", "size_mb", 75.7),
    ]
    a = write_figure(cells, tmp_path / "a.png").read_bytes()
    b = write_figure(cells, tmp_path / "b.png").read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_result_file_edited_by_hand_is_refused_by_name(tmp_path):
    exp = table1_experiments()[0]
    path = result_path(tmp_path, exp, "smoke", 0)
    write_result(path, _result(exp, 0, accuracy=40.0, f1=40.0))
    data = json.loads(path.read_text())
    data["metrics"]["f1"] = 99.0  # a "better" number typed in by hand
    path.write_text(json.dumps(data, indent=1, sort_keys=True))
    with pytest.raises(ValueError, match=f"{path}.*checksum"):
        read_result(path)
    data["metrics"]["f1"] = 40.0  # the original content in another layout reads again
    path.write_text(json.dumps(data))
    assert read_result(path).metrics["f1"] == 40.0


def test_figure_labels_never_overlap_even_for_points_on_top_of_each_other():
    from benchmark.report.figure import LABEL_GAP, label_positions

    # the FSC panel's QUADS rows: one energy (dequantized), 8b and 16b F1 nearly equal
    marks = [(0.05, 0.80), (0.05, 0.74), (0.05, 0.741), (0.05, 0.30), (0.9, 0.95), (0.6, 0.7)]
    pos = label_positions(marks)
    assert len(pos) == len(marks)
    for i, (xi, yi, _) in enumerate(pos):
        for xj, yj, _ in pos[i + 1 :]:
            assert abs(xi - xj) > 0.1 or abs(yi - yj) >= LABEL_GAP - 1e-9
    column = sorted(range(4), key=lambda i: marks[i][1])
    assert [pos[i][1] for i in column] == sorted(pos[i][1] for i in column)  # order kept
    assert pos[4][2] == "right" and pos[4][0] < 0.9  # right edge: label left of its marker
