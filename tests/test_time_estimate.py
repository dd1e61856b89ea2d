"""One time estimate for ``--dry-run`` and the run (``benchmark.run.reference.plan_estimate``):
the reference's per-run wall times, the profile's own reference else the cpu one, scaled to the
run's input length, training utterances and epochs, and to this machine."""

import json
from pathlib import Path

import pytest
from helpers import TINY_FSC

import benchmark.results.reference as results_reference
import benchmark.run.reference as run_reference
import benchmark.run.runner as runner
from benchmark.profiles import PROFILES, Profile
from benchmark.results.files import Result, result_path, write_result
from benchmark.rows import experiments
from benchmark.run.reference import estimate_line, plan_estimate

PHASES = [{"epochs": 1, "kind": "distill"}] * 2 + [{"epochs": 1, "kind": "quantize"}] * 3


def _quads4(dataset: str = "FSC"):
    return next(
        e
        for e in experiments("table1")
        if e.row == "QUADS" and e.bits == 4 and e.dataset == dataset
    )


def _cpu_reference(folder: Path, wall: float = 120.0, step_seconds: float = 1.0) -> None:
    """A committed cpu reference in ``folder``: one QUADS 4 bit FSC run of ``wall`` seconds (300
    frames, 620 training utterances, 5 epochs) and a calibration of ``step_seconds``."""
    exp = _quads4()
    result = Result(
        exp,
        "cpu",
        0,
        "synthetic-fsc",
        {},
        config={"profile": {"n_frames": 300}},
        wall_seconds=wall,
        training={"phases": PHASES},
        data={"features": {"train": {"utterances": 620}}},
    )
    write_result(result_path(folder / "results", exp, "cpu", 0), result)
    (folder / "calibration.json").write_text(
        json.dumps({"step_seconds": step_seconds, "setup_seconds": {"table1": 60.0}})
    )


@pytest.fixture
def cpu_reference(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "reference"
    _cpu_reference(folder)
    monkeypatch.setattr(results_reference, "REFERENCE_DIR", folder)
    return folder


def test_a_profile_without_its_own_reference_is_scaled_from_the_cpu_one(cpu_reference, tmp_path):
    exp = _quads4()
    # the paper profile has no reference of its own: 10x the frames, 4x the training
    # utterances, D10 + Q12 = 22 epochs instead of the reference's stored 5; this machine 2x slower
    est = plan_estimate(
        "table1",
        [(exp, 0)],
        PROFILES["paper"],
        {"FSC": 620 * 4},
        tmp_path / "no-reference-here",
        measure=lambda: 2.0,
    )
    assert est is not None and est.basis == "cpu" and est.rough
    assert est.seconds == pytest.approx(120 * 10 * 4 * 22 / 5 * 2)
    line = estimate_line(est)
    assert line.startswith(f"time estimate: about {est.seconds / 60:.0f} min here")
    assert "scaled from the cpu reference: rough" in line and "x 2.00" in line


def test_the_cpu_profile_on_its_own_corpus_takes_the_reference_as_it_is(cpu_reference):
    est = plan_estimate(
        "table1", [(_quads4(), 0)], PROFILES["cpu"], {"FSC": 620}, cpu_reference, lambda: 1.0
    )
    assert est.seconds == pytest.approx(120.0) and not est.rough and est.basis == "cpu"
    assert "the cpu reference's per-run wall times" in estimate_line(est)
    assert estimate_line(None).startswith("time estimate: none")


def test_dry_run_and_run_print_the_same_estimate(
    tmp_path, monkeypatch, cpu_reference, tiny_fsc_corpora
):
    from benchmark.run.dry_run import dry_run
    from benchmark.run.runner import RunOptions, run_table

    profile = Profile(
        "est-test",
        "efficiency-only rows on a tiny corpus, no reference of its own",
        corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
        synthetic={"synthetic-fsc": TINY_FSC},
        n_frames=40,
        measure_energy=False,
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "corpora").symlink_to(tiny_fsc_corpora)  # input data, read only
    monkeypatch.setattr(run_reference, "calibrate", lambda: 0.5)  # the machine's speed, fixed
    options = RunOptions(
        profile=profile,
        out_dir=tmp_path / "out",
        rows=("QUADS",),
        datasets=("FSC",),
        cache_dir=cache,
        reference_dir=tmp_path / "no-reference-here",
    )
    text, _code = dry_run("table1", options)
    planned = next(line for line in text.splitlines() if line.startswith("time estimate"))

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(runner, "_run_locally", stop)
    monkeypatch.setattr(runner, "progress_bar", lambda *a: (_ for _ in ()).throw(Stop()))
    lines: list[str] = []
    with pytest.raises(Stop):
        run_table("table1", options, log=lines.append)
    ran = next(line for line in lines if line.startswith("time estimate"))
    assert ran == planned
    assert "scaled from the cpu reference: rough" in ran and "x 0.50" in ran


def test_epochs_come_from_the_profiles_budget_for_the_dataset(tmp_path, monkeypatch):
    from benchmark.run.reference import run_epochs

    folder = tmp_path / "reference"
    exp, converged = _quads4("SLURP"), PROFILES["converged"]
    result = Result(
        exp, "cpu", 0, "synthetic-slurp", {}, wall_seconds=100.0, training={"phases": PHASES}
    )
    write_result(result_path(folder / "results", exp, "cpu", 0), result)
    monkeypatch.setattr(results_reference, "REFERENCE_DIR", folder)
    epochs = run_epochs(exp, converged.for_dataset("SLURP"))
    assert epochs != run_epochs(exp, converged)  # converged budgets SLURP apart from its default
    est = plan_estimate("table1", [(exp, 0)], converged, {}, tmp_path / "none", lambda: 1.0)
    assert est.seconds == pytest.approx(100.0 * epochs / 5)


def test_a_profiles_subset_caps_the_training_utterances_the_estimate_scales_by():
    """The smoke profile reads at most 48 utterances per split: its estimate scales the cpu
    reference's wall times by 48 / 620 on FSC, not by the listed 620 / 620."""
    from benchmark.run.plan import train_utterances
    from benchmark.run.preflight import DataNeed

    need = DataNeed("FSC", "synthetic-fsc", "generated", {"train": 620}, 0, True, {"train": 600})
    assert train_utterances([need]) == {"FSC": 600}
    assert train_utterances([need], subset=48) == {"FSC": 48}
    unknown = DataNeed("SLURP", "slurp", "root", {}, 0, False, {})
    assert train_utterances([unknown], subset=48) == {"SLURP": None}


def test_an_untrained_rows_wall_time_is_not_scaled_by_training_utterances():
    """An efficiency-only row's reference wall time is its efficiency measurement: a run on 48
    training utterances keeps it, while a trained row scales by 48 / 620."""
    from benchmark.results.files import Result
    from benchmark.rows import table1_experiments
    from benchmark.run.reference import estimate

    exps = {(e.row, e.bits, e.dataset): e for e in table1_experiments()}
    large, q32 = exps[("Whisper (large)", 32, "FSC")], exps[("QUADS", 32, "FSC")]
    cpu = PROFILES["cpu"]
    data = {"features": {"train": {"utterances": 620}}}
    config = {"profile": {"n_frames": cpu.n_frames}}
    ref = [
        Result(large, "cpu", 0, "synthetic-fsc", {}, config=config, wall_seconds=60.0, data=data),
        Result(
            q32,
            "cpu",
            0,
            "synthetic-fsc",
            {},
            config=config,
            wall_seconds=100.0,
            data=data,
            training={"phases": [{"kind": "distill", "epochs": e} for e in run_epochs_of(q32)]},
        ),
    ]
    est = estimate([(large, 0), (q32, 0)], ref, None, cpu, {"FSC": 48})
    assert est.per_run[0] == pytest.approx(60.0)
    assert est.per_run[1] == pytest.approx(100.0 * 48 / 620)


def run_epochs_of(exp):
    from benchmark.run.reference import run_epochs

    return [run_epochs(exp, PROFILES["cpu"])]


def test_an_estimate_measured_on_a_busy_cpu_says_so(cpu_reference):
    def est(load):
        return plan_estimate(
            "table1",
            [(_quads4(), 0)],
            PROFILES["cpu"],
            {"FSC": 620},
            cpu_reference,
            lambda: 1.0,
            load=lambda: load,
        )

    busy = estimate_line(est((2.7, 2)))
    assert "load average 2.7 on 2 cores" in busy and "assumes the machine stays that busy" in busy
    assert "busy" not in estimate_line(est((0.4, 2)))


def test_a_run_in_another_precision_than_the_reference_scales_its_trained_runs_only(tmp_path):
    """The calibration step is fp32 on both machines, so it cannot see that the reference trained
    in bf16: a run that trains in fp32 (a CPU without native bf16) takes FP32_OVER_BF16 x as
    long per trained run; an efficiency-only row is not training."""
    folder = tmp_path / "reference"
    ctl = next(e for e in experiments("table1") if e.row == "CTL" and e.dataset == "FSC")
    for exp, wall in ((_quads4(), 120.0), (ctl, 10.0)):
        result = Result(
            exp,
            "cpu",
            0,
            "synthetic-fsc",
            {},
            config={"profile": {"n_frames": 300}, "identity": {"precision": "bf16"}},
            wall_seconds=wall,
            training={"phases": PHASES},
            data={"features": {"train": {"utterances": 620}}},
        )
        write_result(result_path(folder / "results", exp, "cpu", 0), result)
    todo = [(_quads4(), 0), (ctl, 0)]

    def est(precision):
        return plan_estimate(
            "table1", todo, PROFILES["cpu"], {"FSC": 620}, folder, None, None, precision
        )

    assert est("bf16").per_run == (120.0, 10.0) and est(None).per_run == (120.0, 10.0)
    fp32 = est("fp32")
    factor = run_reference.FP32_OVER_BF16
    assert fp32.per_run == pytest.approx((120.0 * factor, 10.0))
    assert fp32.seconds == pytest.approx(120.0 * factor + 10.0)
    line = estimate_line(fp32)
    assert f"trained runs x {factor:.2f}: the reference trained in bf16" in line
    assert "this CPU has no native bf16" in line
    assert "trained in" not in estimate_line(est("bf16"))
