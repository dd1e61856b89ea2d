"""The climbing rule over a row's whole learning curve, and the learning-curve figure."""

import dataclasses

import pytest

from benchmark.report.cells import build_cells
from benchmark.report.climbing import climbing_kinds, curve_climbing, curves
from benchmark.results.noise import noise_points
from benchmark.rows import table1_experiments

D, Q, F = ({"kind": k, "epochs": 1} for k in ("distill", "quantize", "finetune"))


def _run(exp, history, phases, seed=0, n_valid=200):
    from benchmark.results.files import Result

    return Result(
        experiment=exp,
        profile="smoke",
        seed=seed,
        corpus="synthetic-fsc",
        metrics={"accuracy": 50.0, "f1": 50.0},
        training={
            "phases": phases,
            "history": [
                {"epoch": i + 1, "phase": ph, "valid_accuracy": a}
                for i, (ph, a) in enumerate(history)
            ],
        },
        data={"features": {"valid": {"features": n_valid, "utterances": n_valid}}},
    )


def _quads(bits):
    return next(
        e
        for e in table1_experiments()
        if e.row == "QUADS" and e.bits == bits and e.dataset == "FSC"
    )


def test_noise_is_the_binomial_standard_error_floored_at_one_point():
    assert noise_points(50.0, 100) == pytest.approx(5.0)  # 100 * sqrt(.25 / 100)
    assert noise_points(99.9, 100) == 1.0
    assert noise_points(50.0, None) == 1.0


def test_a_curve_climbs_when_its_last_epochs_beat_the_earlier_best_by_more_than_noise():
    assert curve_climbing([20.0, 40.0, 60.0], 200)  # k = 1: 60 vs 40, noise 3.5
    assert not curve_climbing([20.0, 60.0, 61.0], 200)  # +1 < noise
    assert not curve_climbing([20, 50, 60, 61, 60, 61], 200)  # k = 3: 61 vs 60
    assert curve_climbing([20, 30, 40, 50, 60, 70], 200)
    assert curve_climbing([55.0], 200)  # a single epoch shows no plateau


def test_mct_is_judged_per_kind_of_model_over_every_phase_not_its_final_phase():
    phases = [D, Q, D, Q, {**Q, "frozen": True}]
    # quantized epochs 2, 4, 5 plateau (41.0 -> 41.4); float epochs 1, 3 climb (21.5 -> 55.4)
    history = [(1, 21.5), (2, 25.8), (3, 55.4), (4, 41.0), (5, 41.4)]
    parts = curves(
        [{"epoch": i + 1, "phase": p, "valid_accuracy": a} for i, (p, a) in enumerate(history)],
        phases,
    )
    assert parts == {"float": [21.5, 55.4], "quantized": [25.8, 41.0, 41.4]}
    assert climbing_kinds(_run(_quads(4), history, phases)) == ["float"]
    # the old rule (best epoch = last epoch) would call this plateaued float twin climbing
    flat = [(1, 21.5), (2, 47.3), (3, 64.0), (4, 64.0), (5, 64.2)]
    assert climbing_kinds(_run(_quads(32), flat, [D, F, D, F, F])) == []
    # and would miss this quantized curve, whose best epoch is not its last
    late = [(1, 60.0), (2, 20.0), (3, 61.0), (4, 30.0), (5, 44.0)]
    assert climbing_kinds(_run(_quads(4), late, phases)) == ["quantized"]


def test_a_cell_is_climbing_if_any_seed_is_and_untrained_cells_say_nothing():
    exp = _quads(32)
    flat = [(1, 21.5), (2, 47.3), (3, 64.0), (4, 64.0), (5, 64.2)]
    rising = [(1, 21.5), (2, 47.3), (3, 54.0), (4, 60.0), (5, 70.0)]
    runs = [_run(exp, flat, [D, F, D, F, F], seed=0), _run(exp, rising, [D, F, D, F, F], seed=1)]
    cells = {
        (c.row, c.bits, c.metric): c for c in build_cells("table1", runs) if c.dataset == "FSC"
    }
    f1 = cells[("QUADS", 32, "f1")]
    assert f1.climbing is True and f1.climbing_seeds == (1,)
    assert f1.to_json("table1")["climbing"] is True
    assert "climbing" not in cells[("QUADS", 32, "gmacs")].to_json("table1")
    only_flat = {
        (c.row, c.bits, c.metric): c for c in build_cells("table1", runs[:1]) if c.dataset == "FSC"
    }
    assert only_flat[("QUADS", 32, "f1")].climbing is False
    assert only_flat[("QUADS", 16, "f1")].climbing is None  # not run


def test_learning_curves_are_byte_identical_across_renders(tmp_path):
    from benchmark.report.curves import curve_points, write_curves

    phases = [D, Q, D, Q, Q]
    runs = [
        _run(_quads(4), [(1, 20.0), (2, 25.0), (3, 55.0), (4, 40.0), (5, 41.0)], phases, seed=s)
        for s in (0, 1)
    ]
    points = curve_points("table1", runs)["FSC"]
    assert points[0][0] == "QUADS 4b" and points[0][1][1] == (2, 25.0, "quantized")
    a = write_curves("table1", runs, tmp_path / "a.png").read_bytes()
    b = write_curves("table1", runs, tmp_path / "b.png").read_bytes()
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_authors_quantization_epochs_are_judged_as_the_quantized_curve():
    """The authors' recipe (phase kinds authors-distill / authors-quantize) collapses in each
    quantization phase and climbs back: its quantized curve, not its float one, decides."""
    from benchmark.report.climbing import QUANTIZED, curves, kind_of

    phases = [{"kind": "authors-distill"}, {"kind": "authors-quantize"}]
    assert kind_of(phases[1]) == QUANTIZED
    history = [
        {"epoch": 1, "phase": 1, "valid_accuracy": 50.0},
        {"epoch": 2, "phase": 1, "valid_accuracy": 55.0},
        *({"epoch": 3 + i, "phase": 2, "valid_accuracy": a} for i, a in enumerate((5, 6, 7, 18))),
    ]
    split = curves(history, phases)
    assert split[QUANTIZED] == [5.0, 6.0, 7.0, 18.0] and len(split) == 2


# the continuation check's evidence (report.continued): a flagged run continued past its budget
RISING = [(1, 21.5), (2, 47.3), (3, 54.0), (4, 60.0), (5, 70.0)]  # float curve, climbing


def _entry(climbing, budget_best=70.0, **over):
    return {
        "row": "QUADS",
        "bits": 32,
        "dataset": "FSC",
        "init": "pretrained",
        "strategy": "MCT",
        "seed": 0,
        "kind": "float",
        "budget_best": budget_best,
        "continued": [70.5, 71.0, 69.0],
        "gain": 1.0,
        "noise": 3.2,
        "climbing": climbing,
        **over,
    }


def _payload(entries, table="table1", profile="smoke"):
    return {"table": table, "profile": profile, "epochs": 3, "runs": entries}


def _reportable_rising_run():
    """A QUADS 32-bit run whose float curve climbs at its budget's end, with the provenance a
    report names."""
    return dataclasses.replace(
        _run(_quads(32), RISING, [D, F, D, F, F]),
        provenance={
            "commit": "abc",
            "date": "2026-01-01T00:00:00Z",
            "versions": {"torch": "x"},
            "hardware": {"cpu": "cpu", "cpu_count": 2, "torch_threads": 1, "gpu": None},
        },
    )


def test_a_flagged_run_that_levelled_off_when_continued_is_not_climbing():
    from benchmark.report.climbing import budget_climbing_kinds, levelled_when_continued
    from benchmark.report.continued import attach

    exp = _quads(32)
    assert exp.init == "pretrained" and exp.strategy == "MCT"  # what _entry names
    run = _run(exp, RISING, [D, F, D, F, F])
    (levelled,), unmatched = attach([run], [_entry(climbing=False)])
    assert unmatched == [] and budget_climbing_kinds(levelled) == ["float"]
    assert climbing_kinds(levelled) == [] and levelled_when_continued(levelled)
    cells = build_cells("table1", [levelled])
    f1 = next(
        c for c in cells if (c.row, c.bits, c.dataset, c.metric) == ("QUADS", 32, "FSC", "f1")
    )
    assert f1.climbing is False and f1.levelled_seeds == (0,)
    assert f1.to_json("table1")["levelled_when_continued_seeds"] == [0]
    (still,), _ = attach([run], [_entry(climbing=True, kind="quantized", budget_best=None)])
    assert climbing_kinds(still) == ["float"]  # no quantized curve: the entry does not match
    (still,), _ = attach([run], [_entry(climbing=True)])
    assert climbing_kinds(still) == ["float"] and not levelled_when_continued(still)
    assert run.training.get("continued") is None  # the result itself is not changed


def test_a_continued_entry_of_another_run_of_that_name_is_not_used_and_is_listed(tmp_path):
    import json

    from benchmark.report.tables import write_report

    run = _reportable_rising_run()
    stale = _entry(climbing=False, budget_best=64.0)  # another run's budget best
    (tmp_path / "continuation-table1.json").write_text(json.dumps(_payload([stale])))
    md, js = write_report("table1", [run], "smoke", tmp_path)  # reads the folder's payload
    text = md.read_text()
    assert "## Continued runs without a result file" in text
    assert "- QUADS 32 bit (pretrained, MCT) FSC seed 0" in text
    f1 = [
        c
        for c in json.loads(js.read_text())
        if (c["metric"], c["bits"], c["dataset"], c["row"]) == ("f1", 32, "FSC", "QUADS")
    ]
    assert f1[0]["climbing"] is True

    fresh = _entry(climbing=False)
    (tmp_path / "continuation-table1.json").write_text(json.dumps(_payload([fresh])))
    md, js = write_report("table1", [run], "smoke", tmp_path)
    text = md.read_text()
    assert "Continued runs without a result file" not in text
    assert "Still climbing: 0 of 1 trained (row, seed) runs. 1 were still improving" in text
    assert "1 of them levelled off when continued past it" in text
    assert "levelled off when continued" in text and "QUADS 32 bit on FSC (seed 0)" in text
    f1 = [
        c
        for c in json.loads(js.read_text())
        if (c["metric"], c["bits"], c["dataset"], c["row"]) == ("f1", 32, "FSC", "QUADS")
    ]
    assert f1[0]["climbing"] is False and f1[0]["levelled_when_continued_seeds"] == [0]


def test_a_climbing_runs_twin_is_named_beside_it_and_changes_no_verdict(tmp_path):
    import json

    from benchmark.report.tables import write_report

    run = _reportable_rising_run()
    twin_entry = _entry(climbing=False, budget_best=66.0, file_budget_best=70.0)
    twin_entry["continued"] = [68.0, 72.5, 71.0]
    folder = tmp_path / "to-the-cap-fp32"
    folder.mkdir()
    payload = dict(_payload([twin_entry]), twin={"precision": "fp32"})
    (folder / "continuation-table1.json").write_text(json.dumps(payload))
    md, js = write_report("table1", [run], "smoke", tmp_path)  # reads the folder's twins
    text = md.read_text()
    assert (
        "seed 0 (float; its fp32 twin, another configuration: levelled off 3 epochs past its "
        "budget, best 72.5 % (`to-the-cap-fp32/continuation-table1.md`))" in text
    )
    assert "Still climbing: 1 of 1 trained" in text and "its cell stays climbing" in text
    f1 = [
        c
        for c in json.loads(js.read_text())
        if (c["metric"], c["bits"], c["dataset"], c["row"]) == ("f1", 32, "FSC", "QUADS")
    ]
    assert f1[0]["climbing"] is True  # a twin is no evidence for the run's cell
    # the twin of another run of that name (another file budget best) is not named
    payload["runs"] = [dict(twin_entry, file_budget_best=64.0)]
    (folder / "continuation-table1.json").write_text(json.dumps(payload))
    md, _ = write_report("table1", [run], "smoke", tmp_path)
    assert "twin" not in md.read_text().split("Still climbing when the budget ended")[1]
    # a non-twin payload where twins are kept is an error naming the file
    payload.pop("twin")
    (folder / "continuation-table1.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=r"to-the-cap-fp32/continuation-table1\.json: not a"):
        write_report("table1", [run], "smoke", tmp_path)


def test_a_continuation_payload_of_another_table_is_an_error_and_of_another_profile_ignored(
    tmp_path,
):
    import json

    from benchmark.report.continued import load_continued

    assert load_continued(tmp_path, "table1", "smoke") == []  # no file, no evidence
    path = tmp_path / "continuation-table1.json"
    path.write_text(json.dumps(_payload([_entry(False)], table="table2")))
    with pytest.raises(ValueError, match="continuation-table1.json.*table2"):
        load_continued(tmp_path, "table1", "smoke")
    path.write_text(json.dumps(_payload([_entry(False)], profile="converged")))
    assert load_continued(tmp_path, "table1", "smoke") == []
    path.write_text("{not json")
    with pytest.raises(ValueError, match="continuation-table1.json: not valid JSON"):
        load_continued(tmp_path, "table1", "smoke")


def test_a_continuation_to_the_cap_supersedes_the_check_and_the_report_names_both(tmp_path):
    import json

    from benchmark.report.continued import CAP_FOLDER
    from benchmark.report.tables import write_report

    run = _reportable_rising_run()
    (tmp_path / "continuation-table1.json").write_text(json.dumps(_payload([_entry(True)])))

    def rendered():
        md, js = write_report("table1", [run], "smoke", tmp_path)
        (f1,) = [
            c
            for c in json.loads(js.read_text())
            if (c["metric"], c["bits"], c["dataset"], c["row"]) == ("f1", 32, "FSC", "QUADS")
        ]
        return md.read_text(), f1

    text, f1 = rendered()  # the check alone: still climbing 3 epochs past the budget
    assert f1["climbing"] is True
    assert "QUADS 32 bit on FSC (seed 0 (float; still rising 3 epochs past the budget))" in text

    cap = tmp_path / CAP_FOLDER
    cap.mkdir()
    rising = _payload([_entry(True, continued=[70.0 + i for i in range(19)])])
    (cap / "continuation-table1.json").write_text(json.dumps(dict(rising, epochs=19)))
    text, f1 = rendered()
    assert f1["climbing"] is True and "still rising 19 epochs past the budget" in text
    assert "`continuation-table1.md` and `to-the-cap/continuation-table1.md`" not in text
    assert "the continued epochs in `to-the-cap/continuation-table1.md`" in text

    flat = _payload([_entry(False, continued=[71.0] * 19)])
    (cap / "continuation-table1.json").write_text(json.dumps(dict(flat, epochs=19)))
    text, f1 = rendered()  # levelled off by the cap: not climbing, whatever the check said
    assert f1["climbing"] is False and f1["levelled_when_continued_seeds"] == [0]
    assert (
        "curves are in `to-the-cap/continuation-table1.md`): QUADS 32 bit on FSC (seed 0)" in text
    )
