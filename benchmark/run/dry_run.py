"""``quads-bench run --dry-run``: the plan of a run (runs, what each needs, time, disk), no
training. Corpora that exist are read to tell complete results from runs to do; nothing is
generated, cached or written."""

from __future__ import annotations

import dataclasses
import statistics
import sys
from pathlib import Path

from benchmark.data.cache import cache_root
from benchmark.rows import Experiment
from benchmark.run import preflight
from benchmark.run.recipe import schedule_for

REFERENCE_FRAMES = 300  # the cpu reference's input length (3 s)


def _epochs(exp: Experiment, profile) -> int:
    if profile.untrained_reason(exp):
        return 0
    return sum(p.epochs for p in schedule_for(exp, profile).phases)


def estimate_text(todo: list, profile, table: str, ran_on: dict[str, str], data) -> str:
    """Minutes the runs ``todo`` should take, from the committed cpu reference's wall times:
    as they are for the same profile and corpora, else scaled by input length x training
    utterances x epochs (a rough figure for the reference machine's CPU; a GPU is far faster)."""
    from benchmark.profiles import get_profile
    from benchmark.results.files import read_results
    from benchmark.results.reference import REFERENCE_DIR

    if not todo:
        return "time: nothing to train"
    try:
        reference = read_results(REFERENCE_DIR / "results", "cpu", table)
    except ValueError as err:
        return f"time: no estimate ({err})"
    if not reference:
        return "time: no estimate (the reference has no runs of this table)"
    cpu = get_profile("cpu")
    by_exp: dict[tuple, list[float]] = {}
    ref_train: dict[str, int] = {}
    for r in reference:
        e = r.experiment
        by_exp.setdefault((e.row, e.bits, e.init, e.strategy, e.dataset), []).append(r.wall_seconds)
    for d in {e.dataset for e, *_ in todo}:
        counts, _ = preflight._synthetic_counts(cpu.corpus_for(d), cpu, cache_root())
        ref_train[d] = counts["train"]
    train = {d.dataset: d.utterances.get("train") for d in data}
    same = profile.name == "cpu" and all(ran_on[d] == cpu.corpus_for(d) for d in ran_on)
    fallback = statistics.median(w for ws in by_exp.values() for w in ws)
    total = 0.0
    for exp, *_ in todo:
        walls = by_exp.get((exp.row, exp.bits, exp.init, exp.strategy, exp.dataset))
        seconds = statistics.fmean(walls) if walls else fallback
        if not same:
            ref_epochs = _epochs(exp, cpu) or 1
            seconds *= (profile.n_frames / REFERENCE_FRAMES) * (
                (train.get(exp.dataset) or ref_train[exp.dataset]) / ref_train[exp.dataset]
            )
            seconds *= max(_epochs(exp, profile), 1) / ref_epochs
        total += seconds
    how = (
        "the cpu reference's wall times on its 2-core CPU"
        if same
        else "rough: the cpu reference's wall times scaled by input length, training utterances "
        "and epochs, on its 2-core CPU; a GPU is many times faster"
    )
    return f"time: about {total / 60:.0f} min ({how})"


def dry_run(table: str, options) -> tuple[str, int]:
    """The plan as text, and the exit code: 0, or 2 when preflight found problems."""
    from benchmark.results.files import result_path
    from benchmark.run.experiment import run_config
    from benchmark.run.runner import _is_current, config_conflicts, select
    from benchmark.run.workspace import Workspace

    profile, choice = options.profile, options.choice
    exps = select(table, options.rows, options.datasets)
    cache = Path(options.cache_dir).expanduser() if options.cache_dir else cache_root()
    pf = preflight.check(exps, profile, choice, options.out_dir, cache, options.rows or ())
    loadable = {d.dataset for d in pf.data if d.loadable}
    ws = Workspace(profile, choice, cache)
    runs = []
    for exp in exps:
        config = None  # unknown without the corpus: every run counts as to do
        seeds = options.seeds or profile.seeds_for(exp)
        if exp.dataset in loadable:
            config = run_config(exp, profile, choice, ws)
            conflicts = config_conflicts(
                options.results_dir, profile.name, exp, config, seeds, options.force
            )
            pf = dataclasses.replace(pf, problems=pf.problems + tuple(conflicts))
        for seed in seeds:
            path = result_path(options.results_dir, exp, profile.name, seed)
            done = (
                not options.force
                and config is not None
                and _is_current(
                    path,
                    config,
                    options.results_dir,
                    log=lambda line: print(f"(dry run) {line}", file=sys.stderr),
                )
            )
            runs.append((exp, seed, done))
    ran_on = {d.dataset: d.corpus for d in pf.data}
    todo = [(e, s) for e, s, done in runs if not done]
    text = preflight.plan_text(
        table, pf, runs, profile, estimate_text(todo, profile, table, ran_on, pf.data)
    )
    return text, 2 if pf.problems else 0
