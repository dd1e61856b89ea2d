"""Runs of a table as Ray tasks (``quads-bench run --executor ray [--ray-address ADDR]``).

Every (row, dataset, seed) run is one task computing the same ``experiment.run_experiment`` as
the local executor; the driver writes the result files and the report, so both executors give the
same files. Shared steps come first: one *prepare* task per dataset builds the corpus, its
log-mel caches, the teacher's pooled features and prosodic features in the shared cache, and
every run of that dataset waits for it. Runs that share a training prefix (same run identity and
seed, the same first phase, e.g. every QUADS strategy's first distillation phase, or the PTQ
control training exactly QUADS 32-bit's schedule) wait for the first such run, so the prefix is
computed once and read from the prefix cache (``quads.engine``) by the others.

A killed worker's task is retried (``max_retries``) and resumes from the run's epoch checkpoint;
a run that raises is reported at the end while the other runs go on. The cache folder
(``--cache-dir`` / ``QUADS_CACHE_DIR``) must be on a filesystem every node sees; the results
folder only on the driver's. Ray is an optional extra: ``pip install 'quads-repro[cluster]'``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark.profiles import Profile
from benchmark.rows import Experiment
from benchmark.run.data_choice import DataChoice
from benchmark.run.recipe import row_identity, schedule_for
from quads.engine import phase_key

INSTALL_HINT = "pip install 'quads-repro[cluster]'"
# CPUs and GPUs one run asks for, by profile (a run trains one model: its batch at batch size 16)
TASK_RESOURCES: dict[str, dict[str, float]] = {
    "smoke": {"num_cpus": 1},
    "cpu": {"num_cpus": 2},
    "paper": {"num_cpus": 4, "num_gpus": 1},
}
MAX_RETRIES = 3  # attempts after a worker died (node lost, process killed)
# environment a worker needs to see like the driver: caches, weights libraries, hub settings
PASSED_ENV = ("QUADS_", "HF_", "TRANSFORMERS_", "PYTHONPATH")


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start a local Ray instance (or use the connected one)
    num_cpus: float | None = None  # per task; None: TASK_RESOURCES of the profile
    num_gpus: float | None = None
    setup_hook: str | None = None  # "module.function" run in every worker before its tasks
    local_cpus: int | None = None  # CPUs of a local Ray instance started here (None: all)


def resources(profile: Profile, options: RayOptions) -> dict[str, float]:
    res = dict(TASK_RESOURCES.get(profile.name, {"num_cpus": 1}))
    if options.num_cpus is not None:
        res["num_cpus"] = options.num_cpus
    if options.num_gpus is not None:
        res["num_gpus"] = options.num_gpus
    return res


def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise ValueError(f"--executor ray needs Ray: {INSTALL_HINT} ({err})") from None
    return ray


def _run_hook(hook: str | None) -> None:
    if hook:
        import importlib

        module, _, name = hook.rpartition(".")
        getattr(importlib.import_module(module), name)()


def prepare(profile: Profile, choice: DataChoice, cache: str, dataset: str, needs: dict) -> dict:
    """The shared steps of one dataset, in the shared cache: corpus, log-mels of every split,
    teacher features and prosodic features when a run needs them. Returns the data notes."""
    from benchmark.run.workspace import Workspace

    _run_hook(needs.get("hook"))
    ws = Workspace(profile, choice, cache)
    for split in ("train", "valid", "test"):
        ws.features(dataset, split)
        if needs.get("prosody"):
            ws.prosody(dataset, split)
    if needs.get("teacher"):
        ws.teacher_features(dataset)
    return ws.data_notes(dataset)


def run_one(
    exp: Experiment, profile: Profile, seed: int, choice: DataChoice, cache: str, hook, *_after
):
    """One run in a worker (``_after``: results it waits for, unused)."""
    from benchmark.run.experiment import run_experiment
    from benchmark.run.workspace import Workspace

    _run_hook(hook)
    return run_experiment(exp, profile, seed, Workspace(profile, choice, cache))


def _prefix_keys(exp: Experiment, profile: Profile, seed: int) -> tuple[str, str] | None:
    """(first-phase key, whole-schedule key) of a distilling run; None for other runs:
    ``quads.engine.phase_key`` of a stand-in identity (the corpus fingerprint enters through the
    dataset the caller prefixes)."""
    if profile.untrained_reason(exp):
        return None
    schedule = schedule_for(exp, profile)
    if not schedule.distills:
        return None
    ident = row_identity(exp, profile, exp.dataset, 0, "")
    n = len(schedule.phases)
    return phase_key(ident, schedule, 1, seed), phase_key(ident, schedule, n, seed)


def run_on_ray(
    todo: list[tuple[Experiment, int, Path]],
    profile: Profile,
    choice: DataChoice,
    cache: Path,
    options: RayOptions,
    log=print,
) -> Iterator[tuple[int, object]]:
    """Run ``todo`` as Ray tasks; yield (index in ``todo``, Result) as runs finish. Raises a
    ``RuntimeError`` naming every run that failed, after the others finished."""
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV)}
        env["QUADS_CACHE_DIR"] = str(cache)
        ray.init(
            address=options.address,
            num_cpus=options.local_cpus if options.address is None else None,
            runtime_env={"env_vars": env},
            include_dashboard=False,
            log_to_driver=False,
        )
    try:
        yield from _schedule(ray, todo, profile, choice, str(cache), options, log)
    finally:
        if started_here:
            ray.shutdown()


def _schedule(ray, todo, profile, choice, cache, options, log):
    res = resources(profile, options)
    log(
        f"ray: {len(todo)} runs on {ray.cluster_resources().get('CPU', 0):.0f} CPUs, "
        f"{ray.cluster_resources().get('GPU', 0):.0f} GPUs; per run {res}"
    )
    prep_task = ray.remote(max_retries=MAX_RETRIES, **res)(prepare)
    run_task = ray.remote(max_retries=MAX_RETRIES, **res)(run_one)
    needs: dict[str, dict] = {}
    for exp, _seed, _path in todo:
        n = needs.setdefault(exp.dataset, {"hook": options.setup_hook})
        n["teacher"] = n.get("teacher", False) or _prefix_keys(exp, profile, 0) is not None
        n["prosody"] = n.get("prosody", False) or exp.model.startswith("prosody")
    preps = {
        d: prep_task.remote(choice.profile_for(profile, d), choice, cache, d, n)
        for d, n in needs.items()
    }
    refs: dict = {}
    first_leader: dict[str, object] = {}  # first-phase key -> the first run computing it
    whole_leader: dict[str, object] = {}  # whole-schedule key -> the first run training it
    for i, (exp, seed, _path) in enumerate(todo):
        after = [preps[exp.dataset]]
        keys = _prefix_keys(exp, profile, seed)
        if keys is not None:
            first, whole = (f"{exp.dataset}|{k}" for k in keys)
            leader = whole_leader.get(whole)
            if leader is None:
                leader = first_leader.get(first)
            if leader is not None:
                after.append(leader)
        run_profile = choice.profile_for(profile, exp.dataset)
        ref = run_task.remote(exp, run_profile, seed, choice, cache, options.setup_hook, *after)
        if keys is not None:
            whole_leader.setdefault(whole, ref)
            first_leader.setdefault(first, ref)
        refs[ref] = i
    failed = []
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        i = refs[ready[0]]
        exp, seed, _ = todo[i]
        try:
            result = ray.get(ready[0])
        except Exception as err:  # noqa: BLE001 - any task error: report it, keep the others
            failed.append(f"{exp.row} {exp.bits} bit {exp.dataset} seed {seed}: {err}")
            log(f"ray: failed: {failed[-1].splitlines()[0]}")
            continue
        yield i, result
    if failed:
        raise RuntimeError(
            f"{len(failed)} run(s) failed on Ray (their result files are not written; run "
            "again to retry them):\n" + "\n".join(f"  {f}" for f in failed)
        )
