"""``quads-bench run --dry-run``: the plan of a run (runs, what each needs, time, disk), no
training. Corpora that exist are read to tell complete results from runs to do; nothing is
generated, cached or written."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from benchmark.data.cache import cache_root
from benchmark.run import preflight


def dry_run(table: str, options) -> tuple[str, int]:
    """The plan as text, and the exit code: 0, or 2 when preflight found problems."""
    from benchmark.results.files import result_path
    from benchmark.run.experiment import run_config
    from benchmark.run.reference import estimate_line, plan_estimate
    from benchmark.run.runner import _is_current, config_conflicts, select, train_utterances
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
    todo = [(e, s) for e, s, done in runs if not done]
    # the run's own estimate (runner.run_table prints the same figure before training)
    est = plan_estimate(table, todo, profile, train_utterances(pf.data), options.reference_dir)
    text = preflight.plan_text(table, pf, runs, profile, estimate_line(est))
    return text, 2 if pf.problems else 0
