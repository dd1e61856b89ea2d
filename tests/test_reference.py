"""The committed reference: a user's run never writes into it, and the agreement check flags a
cell that differs beyond the noise."""

import hashlib
import json
from pathlib import Path

import pytest
from helpers import TINY_FSC

from benchmark.profiles import Profile
from benchmark.report.cells import Cell
from benchmark.report.tables import write_report
from benchmark.results.files import Result, read_results, result_path, write_result
from benchmark.results.reference import (
    AGREES,
    DIFFERS,
    NOT_COMPARED,
    agreement,
    check_out_dir,
)
from benchmark.rows import table1_experiments
from benchmark.run.reference import estimate


def test_the_reference_folder_is_the_repositorys():
    from benchmark.results.reference import REFERENCE_DIR

    repo = Path(__file__).resolve().parent.parent
    assert repo / "reports" / "reference" == REFERENCE_DIR


def _cell(metric, value, ci=None, values=()):
    return Cell("QUADS", 4, "FSC", "c", metric, value, None, "", ci=ci, values=values)


def test_agreement_within_noise_and_tolerance():
    ref = _cell("f1", 50.0, ci=(45.0, 55.0), values=(49.0, 50.0, 51.0))
    assert agreement(_cell("f1", 53.0, ci=(48.0, 58.0)), ref) == AGREES
    assert agreement(_cell("f1", 70.0, ci=(65.0, 75.0)), ref) == DIFFERS
    assert agreement(_cell("params_m", 7.641), _cell("params_m", 7.64)) == AGREES
    assert agreement(_cell("params_m", 7.9), _cell("params_m", 7.64)) == DIFFERS
    assert agreement(_cell("energy_j", 0.2), _cell("energy_j", 0.5)) == NOT_COMPARED
    assert agreement(_cell("f1", None), ref) == NOT_COMPARED


def test_a_run_may_not_write_into_the_reference(tmp_path):
    ref = tmp_path / "reports" / "reference"
    with pytest.raises(ValueError, match="committed reference"):
        check_out_dir(ref / "sub", as_reference=False, reference_dir=ref)
    with pytest.raises(ValueError, match="--as-reference writes into"):
        check_out_dir(tmp_path / "reports", as_reference=True, reference_dir=ref)
    check_out_dir(tmp_path / "reports", as_reference=False, reference_dir=ref)
    check_out_dir(ref, as_reference=True, reference_dir=ref)


def _result(exp, seed, f1, wall=100.0):
    truth = [i % 3 for i in range(60)]
    pred = [t if i < int(60 * f1 / 100) else (t + 1) % 3 for i, t in enumerate(truth)]
    return Result(
        experiment=exp,
        profile="ref-test",
        seed=seed,
        corpus="synthetic-fsc",
        metrics={"f1": f1, "accuracy": f1, "params_m": 7.64},
        config={"num_classes": 3},
        provenance={
            "commit": "abc",
            "hardware": {"cpu": "x", "cpu_count": 2, "torch_threads": 2, "gpu": None},
            "versions": {"torch": "1"},
            "date": "2026-01-01T00:00:00Z",
        },
        wall_seconds=wall,
        predictions={"truth": truth, "pred": pred},
    )


def test_the_report_flags_a_cell_changed_on_purpose(tmp_path, no_figure):
    exp = next(
        e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4 and e.dataset == "FSC"
    )
    ref = [_result(exp, s, 60.0) for s in range(3)]
    same = write_report("table1", ref, "ref-test", tmp_path / "a", reference=ref)
    cells = json.loads(same[1].read_text())
    f1 = next(
        c
        for c in cells
        if (c["row"], c["bits"], c["dataset"], c["metric"]) == ("QUADS", 4, "FSC", "f1")
    )
    assert f1["agreement"] == AGREES and f1["reference"] == 60.0
    assert "## Agreement with the reference" in same[0].read_text()
    assert ", 0 differ," in same[0].read_text()

    changed = [_result(exp, s, 95.0) for s in range(3)]  # 60 -> 95 on purpose
    md, js = write_report("table1", changed, "ref-test", tmp_path / "b", reference=ref)
    f1 = next(
        c
        for c in json.loads(js.read_text())
        if (c["row"], c["bits"], c["dataset"], c["metric"]) == ("QUADS", 4, "FSC", "f1")
    )
    assert f1["agreement"] == DIFFERS
    text = md.read_text()
    assert "≠" in text and "QUADS 4 bit FSC f1: 95.00 vs 60.00" in text


def test_estimate_scales_the_reference_wall_times():
    exps = [e for e in table1_experiments() if e.row == "QUADS"]
    ref = [_result(exps[0], 0, 50.0, wall=100.0), _result(exps[0], 1, 50.0, wall=200.0)]
    est = estimate([(exps[0], 0, None), (exps[0], 2, None), (exps[1], 0, None)], ref, 0.5)
    # seed 0 known (100 s); seed 2: the row's mean (150 s); another row: the median (150 s)
    assert est.per_run == (50.0, 75.0, 75.0) and est.known == 2


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_a_users_run_never_touches_the_reference(tmp_path, monkeypatch, tiny_fsc_corpora):
    import benchmark.run.experiment as experiment
    import benchmark.run.runner as runner
    from benchmark.commands import run_and_render
    from benchmark.run.efficiency import Efficiency
    from benchmark.run.runner import RunOptions

    # what is checked is where files go, not the numbers: skip the machine-speed calibration (a
    # few training steps) and the efficiency measurement (fvcore on a 30 s Whisper tiny)
    monkeypatch.setattr(runner, "calibrate", lambda: 1.0)
    monkeypatch.setattr(
        experiment, "measure_efficiency", lambda *a, **k: Efficiency(1, 0, 0, 0, None)
    )

    profile = Profile(
        "ref-test",
        "efficiency-only rows on a tiny corpus",
        corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
        synthetic={"synthetic-fsc": TINY_FSC},
        n_frames=40,
        measure_energy=False,
        efficiency_only={"whisper-tiny": "not trained in this test"},
    )
    monkeypatch.setenv("QUADS_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "corpora").symlink_to(tiny_fsc_corpora)  # input data, read only
    reference = tmp_path / "reports" / "reference"
    exps = [e for e in table1_experiments() if e.row == "QUADS" and e.dataset == "FSC"]
    for exp in exps:
        write_result(result_path(reference / "results", exp, "ref-test", 0), _result(exp, 0, 50.0))
    write_report(
        "table1", read_results(reference / "results", "ref-test", "table1"), "ref-test", reference
    )
    (reference / "calibration.json").write_text(
        json.dumps({"step_seconds": 1.0, "setup_seconds": {"table1": 60.0}})
    )
    before = _digest(reference)
    lines: list[str] = []
    options = RunOptions(
        profile=profile,
        out_dir=tmp_path / "reports",
        rows=("QUADS",),
        datasets=("FSC",),
        reference_dir=reference,
    )
    md, _ = run_and_render("table1", options, log=lines.append)
    assert _digest(reference) == before
    assert md == tmp_path / "reports" / "table1.md"
    assert any(line.startswith("time estimate: about") for line in lines), lines
    assert len(read_results(tmp_path / "reports" / "results", "ref-test", "table1")) == 4
    assert "## Agreement with the reference" in md.read_text()
    with pytest.raises(ValueError, match="committed reference"):
        run_and_render(
            "table1", RunOptions(profile=profile, out_dir=reference, reference_dir=reference)
        )


def test_the_progress_bar_never_counts_past_its_total(capsys):
    from benchmark.run.reference import Estimate
    from benchmark.run.runner import progress_bar

    # three runs of 0.6 s: each rounds up to 1, the rounded sum (2) would be passed
    est = Estimate(seconds=1.8, per_run=(0.6, 0.6, 0.6), scale=1.0, known=3)
    bar, steps = progress_bar("t", est, 3)
    for step in steps:
        bar.update(step)
    bar.close()
    assert bar.n == bar.total == 3
    assert "3/3 est. s" in capsys.readouterr().err


def test_each_profile_with_a_folder_of_its_own_keeps_its_reference_apart():
    from benchmark.results.reference import REFERENCE_DIR, reference_dir_for

    assert reference_dir_for("cpu") == REFERENCE_DIR  # the quick reference, as committed
    assert reference_dir_for("converged") == REFERENCE_DIR / "converged"
    assert reference_dir_for("converged") != reference_dir_for("cpu")


def test_every_committed_converged_config_is_the_current_codes():
    """Only MCT's float twin (the 32-bit row and the PTQ control's student) changed its
    selection rule, and its rows were re-run: every committed converged result holds the
    configuration the current code computes (the twin's with ``select: all``, every other
    schedule without the key), so a resumed run reuses it."""
    from benchmark.profiles import get_profile
    from benchmark.rows import Experiment
    from benchmark.run.data_choice import DataChoice
    from benchmark.run.experiment import experiment_config

    profile = get_profile("converged")
    folder = Path(__file__).resolve().parents[1] / "reports/reference/converged/results/converged"
    seen = set()
    for path in sorted(folder.glob("table*/*/*.json")):
        stored = json.loads(path.read_text())
        exp = Experiment(**stored["experiment"])
        ident = stored["config"]["identity"]
        now = experiment_config(
            exp,
            DataChoice().profile_for(profile, exp.dataset),
            ident["corpus"],
            ident["classes"],
            ident["precision"],
        )
        twin = exp.strategy == "PTQ" or (exp.strategy == "MCT" and exp.bits == 32)
        if now["schedule"] is not None:
            assert now["schedule"].get("select") == ("all" if twin else None), path.name
        assert now == stored["config"], path.name
        seen.add((exp.strategy, twin))
    assert ("MCT", False) in seen and ("MCT", True) in seen and ("PTQ", True) in seen
