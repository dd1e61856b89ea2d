"""``quads-bench run --dry-run``: the plan of a run (runs, what each needs, time, disk), no
training. Corpora that exist are read to tell complete results from runs to do; nothing is
generated, cached or written."""

from __future__ import annotations

import dataclasses
import sys

from benchmark.run import preflight


def dry_run(table: str, options) -> tuple[str, int]:
    """The plan as text, and the exit code: 0, or 2 when preflight found problems."""
    from benchmark.run.plan import make_plan, select, train_utterances
    from benchmark.run.reference import estimate_line, plan_estimate
    from benchmark.run.workspace import Workspace

    profile, choice = options.profile, options.choice
    exps = select(table, options.rows, options.datasets)
    ws = Workspace(profile, choice, options.cache_dir)
    pf = preflight.check(exps, profile, choice, options.out_dir, ws.cache, options.rows or ())
    # a corpus that cannot be read now is not generated: its runs count as to do
    plan = make_plan(
        table,
        options,
        ws,
        lambda line: print(f"(dry run) {line}", file=sys.stderr),
        exps=exps,
        loadable={d.dataset for d in pf.data if d.loadable},
    )
    pf = dataclasses.replace(pf, problems=pf.problems + plan.conflicts)
    runs = [(r.exp, r.seed, r.done) for r in plan.runs]
    # the run's own estimate (runner.run_table prints the same figure before training)
    todo = [(r.exp, r.seed) for r in plan.todo]
    est = plan_estimate(
        table,
        todo,
        profile,
        train_utterances(pf.data, profile.subset),
        options.reference_dir,
        precision=ws.precision,
    )
    text = preflight.plan_text(table, pf, runs, profile, estimate_line(est))
    return text, 2 if pf.problems else 0
