"""The plan of a table run, resolved once before anything trains: ``make_plan`` -> ``RunPlan``.

The selected rows (``select``), the profile as each dataset runs it
(``DataChoice.profile_for``: the corpus it runs on and its budget, ``Profile.for_dataset``),
the seeds of each row, each run's configuration (its identity, ``experiment.experiment_config``)
and result file, whether a stored result is current (``is_current``) and the stored results of
other configurations that a run would mix with (``config_conflicts``). The runner
(``runner.run_table``) and ``--dry-run`` (``dry_run.dry_run``) read the same plan, so they agree
on what is to do, what is reused and what the time estimate covers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.integrity import exported_model_problem
from benchmark.paper import DATASETS
from benchmark.profiles import Profile
from benchmark.results.files import read_for_reuse, read_result, result_path
from benchmark.results.identity import config_differences, differs_only_in_code
from benchmark.rows import Experiment, experiments
from benchmark.run.experiment import experiment_config
from benchmark.run.preflight import DataNeed, Problem
from benchmark.run.workspace import Workspace


def select(table: str, rows: Sequence[str] | None, datasets: Sequence[str]) -> list[Experiment]:
    """Experiments of a table filtered by row label and dataset; unknown names list valid ones."""
    exps = experiments(table)
    known_rows = sorted({e.row for e in exps})
    for r in rows or ():
        if r not in known_rows:
            raise ValueError(f"unknown row {r!r} for {table}; known: {', '.join(known_rows)}")
    for d in datasets:
        if d not in DATASETS:
            raise ValueError(f"unknown dataset {d!r}; known: {', '.join(DATASETS)}")
    return [e for e in exps if (not rows or e.row in rows) and e.dataset in datasets]


def is_current(
    path: Path, config: dict[str, object], results_dir: Path, log: Callable[[str], None] = print
) -> bool:
    """Whether the result file at ``path`` is complete and made with ``config``. A file that
    cannot be trusted (``read_result`` refuses it) or whose exported model is damaged
    (``exported_model_problem``) is recomputed, with one line naming it."""
    stored = read_for_reuse(path, read_result, results_dir, log)
    if stored is None:
        return False
    if stored.config != config:
        if differs_only_in_code(stored.config, config):
            diffs = "; ".join(config_differences(stored.config, config)[:2])
            log(f"recomputing {path}: made by other training code ({diffs})")
        return False
    model = stored.artifacts.get("model")
    # a deleted model file leaves the measurement valid; a damaged one means the run broke
    problem = exported_model_problem(Path(model)) if model and Path(model).exists() else None
    if problem:
        log(f"recomputing: the exported model of result file {path} is damaged: {problem}")
        return False
    return True


def config_conflicts(
    results_dir: Path,
    profile: str,
    exp: Experiment,
    config: dict[str, object],
    seeds: Sequence[int],
    force: bool,
) -> list[Problem]:
    """One problem per stored result of ``exp`` (any seed) in ``results_dir`` that a run with
    ``config`` would silently replace or be averaged with: made with another configuration (other
    precision, corpus, teacher, profile settings ...; ``identity.differs_only_in_code`` runs,
    made by older training code, are recomputed instead). ``force`` replaces the runs of
    ``seeds``; a conflicting file of another seed is never replaced implicitly."""
    folder = result_path(results_dir, exp, profile, 0).parent
    lines = []
    for path in sorted(folder.glob(f"{exp.slug}-seed*.json")) if folder.is_dir() else ():
        try:
            stored = read_result(path, results_dir)
        except ValueError:
            continue  # recomputed, or left out of the report, with its own line
        if stored.config == config or differs_only_in_code(stored.config, config):
            continue
        if force and stored.seed in seeds:
            continue
        diffs = "; ".join(config_differences(stored.config, config)[:4])
        fix = (
            "pass --force to replace it"
            if stored.seed in seeds
            else f"pass --force with --seeds including {stored.seed} to replace it"
        )
        lines.append(
            Problem(
                f"{path} holds a run of another configuration ({diffs})",
                f"write this run to another --out to keep both, or {fix}",
            )
        )
    return lines


def train_utterances(data: Sequence[DataNeed], subset: int | None = None) -> dict[str, int | None]:
    """Training utterances per dataset that a run will read (usable, else listed, at most the
    profile's ``subset``; None: unknown): what ``reference.plan_estimate`` scales the
    reference's wall times by."""
    out: dict[str, int | None] = {}
    for d in data:
        n = d.usable.get("train") or d.utterances.get("train")
        out[d.dataset] = min(n, subset) if n and subset else n
    return out


@dataclass(frozen=True)
class PlannedRun:
    """One (row, seed) of the plan."""

    exp: Experiment
    seed: int
    profile: Profile  # as exp.dataset runs it (DataChoice.profile_for): what the run trains with
    # experiment_config of the run (its identity); None: its corpus cannot be read now (a dry
    # run that would generate or lacks it), so the run counts as to do
    config: dict[str, object] | None
    result_path: Path
    done: bool  # a current result file is stored (is_current) and --force is not given


@dataclass(frozen=True)
class RunPlan:
    """What a table run will do, resolved once (module doc)."""

    table: str
    exps: tuple[Experiment, ...]  # the selected rows x datasets, in table order
    profiles: Mapping[str, Profile]  # dataset -> the profile as it runs it
    runs: tuple[PlannedRun, ...]  # every (row, seed), in the order the runs go
    # stored results of another configuration that runs would replace or mix with
    conflicts: tuple[Problem, ...]

    @property
    def todo(self) -> tuple[PlannedRun, ...]:
        return tuple(r for r in self.runs if not r.done)

    @property
    def done(self) -> int:
        """How many complete stored results are reused."""
        return sum(r.done for r in self.runs)


def make_plan(
    table: str,
    options,
    ws: Workspace,
    log: Callable[[str], None] = print,
    *,
    exps: Sequence[Experiment] | None = None,
    loadable: Collection[str] | None = None,
) -> RunPlan:
    """The plan of ``table`` under ``options`` (``runner.RunOptions``). ``ws`` loads the corpora
    that the run identities need (``loadable``: only those datasets', for a dry run that must not
    generate or load anything slow; None: every one's). ``exps``: the selection, when the caller
    already made it (``select``) to run preflight first. ``log``: a stored result that is
    recomputed, and why."""
    profile, choice = options.profile, options.choice
    if exps is None:
        exps = select(table, options.rows, options.datasets)
    profiles = {d: choice.profile_for(profile, d) for d in sorted({e.dataset for e in exps})}
    runs, conflicts = [], []
    for exp in exps:
        seeds = options.seeds or profile.seeds_for(exp)
        run_profile = profiles[exp.dataset]
        config = None
        if loadable is None or exp.dataset in loadable:
            corpus = ws.corpus(exp.dataset)
            config = experiment_config(
                exp, run_profile, corpus.fingerprint, len(corpus.intents), ws.precision
            )
            conflicts += config_conflicts(
                options.results_dir, profile.name, exp, config, seeds, options.force
            )
        for seed in seeds:
            path = result_path(options.results_dir, exp, profile.name, seed)
            done = (
                not options.force
                and config is not None
                and is_current(path, config, options.results_dir, log)
            )
            runs.append(PlannedRun(exp, seed, run_profile, config, path, done))
    return RunPlan(table, tuple(exps), profiles, tuple(runs), tuple(conflicts))
