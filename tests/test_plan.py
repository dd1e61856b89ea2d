"""The plan of a table run (benchmark/run/plan.py): resolved once, read alike by the runner and
``--dry-run``. On the session's tiny generated corpus (``tiny_fsc_corpora``); nothing trains (the
runner's per-run work, ``run_experiment``, is replaced by one that writes a result without
training, so the test watches which runs the runner starts)."""

from __future__ import annotations

import dataclasses

from helpers import TINY_FSC

import benchmark.run.runner as runner
from benchmark.metrics import accuracy, macro_f1
from benchmark.profiles import Profile
from benchmark.results.files import Result, result_path, write_result
from benchmark.run.dry_run import dry_run
from benchmark.run.experiment import experiment_config
from benchmark.run.plan import make_plan
from benchmark.run.workspace import Workspace
from quads.mct import Budget

BUDGET = Budget(distill_epochs=4, mct_iterations=2, quant_per_iteration=1, final_epochs=1)
FSC_BUDGET = Budget(distill_epochs=2, mct_iterations=2, quant_per_iteration=1, final_epochs=1)
PROFILE = Profile(
    "plan-test",
    "tiny corpus for plan tests",
    corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
    synthetic={"synthetic-fsc": TINY_FSC},
    n_frames=40,
    measure_energy=False,
    batch_size=4,
    seeds=(0, 1),
    baseline_seeds=(0, 1),
    budget=BUDGET,
    budgets={"FSC": FSC_BUDGET},  # FSC runs with its own budget (Profile.for_dataset)
)


def _options(tmp_path, tiny_fsc_corpora, rows=("QUADS",)) -> runner.RunOptions:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    if not (cache / "corpora").exists():
        (cache / "corpora").symlink_to(tiny_fsc_corpora)
    return runner.RunOptions(
        profile=PROFILE, out_dir=tmp_path / "out", rows=rows, datasets=("FSC",), cache_dir=cache
    )


def test_the_plan_lists_each_row_and_seed_once_with_its_datasets_profile(
    tmp_path, tiny_fsc_corpora
):
    options = _options(tmp_path, tiny_fsc_corpora)
    plan = make_plan("table1", options, Workspace(PROFILE, options.choice, options.cache_dir))
    keys = [(r.exp, r.seed) for r in plan.runs]
    assert len(keys) == len(set(keys)) == 4 * 2  # QUADS 32/16/8/4 bit x seeds 0, 1
    assert {r.seed for r in plan.runs} == {0, 1}
    assert set(plan.profiles) == {"FSC"} and plan.profiles["FSC"].budget == FSC_BUDGET
    for run in plan.runs:
        assert run.profile is plan.profiles["FSC"]
        assert run.config["profile"]["budget"] == dataclasses.asdict(FSC_BUDGET)
        assert run.result_path == result_path(options.results_dir, run.exp, "plan-test", run.seed)
        assert not run.done
    assert plan.todo == plan.runs and plan.done == 0 and plan.conflicts == ()
    # a dry run that may not load the corpus: every run to do, no identity
    dry = make_plan("table1", options, Workspace(PROFILE), loadable=())
    assert [(r.exp, r.seed) for r in dry.runs] == keys and all(r.config is None for r in dry.runs)


def _fake_result(exp, profile, seed, ws) -> Result:
    """What ``run_experiment`` returns, without training: the run's real configuration."""
    corpus = ws.corpus(exp.dataset)
    truth, pred = [0, 1, 2], [0, 1, 1]
    config = experiment_config(exp, profile, corpus.fingerprint, len(corpus.intents), ws.precision)
    return Result(
        exp,
        profile.name,
        seed,
        corpus.name,
        {"accuracy": accuracy(truth, pred), "f1": macro_f1(truth, pred)},
        config=config,
        predictions={"truth": truth, "pred": pred},
    )


def test_runner_and_dry_run_agree_on_what_is_to_do(tmp_path, tiny_fsc_corpora, monkeypatch):
    options = _options(tmp_path, tiny_fsc_corpora, rows=("CTL",))  # random init: no weights
    ws = Workspace(PROFILE, options.choice, options.cache_dir)
    before = make_plan("table1", options, ws)
    assert [r.seed for r in before.todo] == [0, 1]
    text, code = dry_run("table1", options)
    assert code == 0 and "runs: 2 to do, 0 complete results reused" in text
    # one stored result of the plan's configuration: reused by both, the other seed to do
    first = before.runs[0]
    write_result(first.result_path, _fake_result(first.exp, first.profile, first.seed, ws))
    after = make_plan("table1", options, ws)
    assert [(r.seed, r.done) for r in after.runs] == [(0, True), (1, False)]
    text, code = dry_run("table1", options)
    assert code == 0 and "runs: 1 to do, 1 complete results reused" in text
    started, lines = [], []

    def fake_run(exp, profile, seed, ws):
        started.append((exp, seed))
        return _fake_result(exp, profile, seed, ws)

    monkeypatch.setattr(runner, "run_experiment", fake_run)
    ran = runner.run_table("table1", options, log=lines.append)
    assert started == [(r.exp, r.seed) for r in after.todo]
    assert "table1: 1 runs to do, 1 complete results reused" in lines[0]
    assert sorted(r.seed for r in ran.results) == [0, 1]
    # now every run is stored and current for both
    assert make_plan("table1", options, ws).todo == ()
    assert "runs: 0 to do, 2 complete results reused" in dry_run("table1", options)[0]
