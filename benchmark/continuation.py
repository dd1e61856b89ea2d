"""Would more training have helped? Continue finished runs past their budget, validation only.

`quads-bench continue --profile converged --table table1 --epochs 3` takes each trained result file
of the table whose curve was still climbing when its budget ended (``report.climbing.budget_climbing_kinds``; ``--all``:
every trained run), restores the run's final state from the prefix cache (every finished phase is
stored there, so nothing of the budget is trained again) and trains ``epochs`` more epochs of its
last phase (same kind, optimizer settings and frozen codebooks; a fresh optimizer state, as every
phase starts one), reading the VALIDATION split only. The
result files and every verdict stay as they are (they rest on equal budgets); the report says,
per run, whether the continued curve beat the budget's best by more than the validation noise::

    curve     = the run's validation accuracies of that kind of model: its budget's, then the
                continued epochs (``epochs`` of them)
    k         = min(3, epochs)                        the last epochs judged (patience)
    earlier   = max(curve[:-k]);  last = max(curve[-k:])
    gain      = last - earlier
    climbing  = gain > noise_points(earlier, n_valid)    (benchmark.results.noise)

With ``epochs`` <= 3, ``earlier`` is the budget's best: would the continued epochs have beaten the
model the budget selected? With more epochs (e.g. up to the profile's cap), it asks whether the
curve was still rising at the end of them (early stopping with patience 3, as in
``report.climbing``).

``--still-climbing`` continues only the runs still climbing after the continuation check already
recorded beside the result files (``continuation-<table>.json``, ``report.continued``): e.g. the
few that had not levelled off 3 epochs past the budget, continued to the cap, into another
``--out`` folder.

Writes ``continuation-<table>.md`` / ``.json`` into the profile's reference folder (or ``--out``),
after every run, and resumes from them: the same command again keeps the finished runs' entries
(``benchmark.continuation_file``).
A run whose final state is not in the cache is skipped with the reason, unless ``--retrain``: then
its budget is trained again first (deterministic on CPU, through the prefix cache, so an
interrupted retrain resumes), provided a run here has the result file's configuration (same
precision, corpus, profile, schedule ...; else skipped naming the difference). Either way a run
whose budget curve is not its result file's (another run of this name, or another machine's
arithmetic) is skipped with the reason: the continued epochs extend only the run the result file
records.

``--twin fp32`` (or bf16) is for a machine that cannot make the result files' configuration
(e.g. bf16 files on a CPU without native bf16): each run's budget is trained again in that
precision, a configuration of its own that may differ from the result file's in precision alone,
and that twin is continued and judged on its own curve (the file's budget best is shown beside
it). Evidence about the recipe, not about the result file's run: its payload says ``twin``, and
the tables refuse to read it as continuation evidence (``report.continued.load_continued``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmark.continuation_file import earlier_provenances, earlier_report, selection_union
from benchmark.profiles import Profile
from benchmark.report.climbing import (
    PATIENCE,
    budget_climbing_kinds,
    climbing_kinds,
    curves,
    kind_of,
    n_valid_of,
)
from benchmark.report.continued import attach, continuation_path, entry_label, run_label
from benchmark.results.files import Result, scan_results
from benchmark.results.identity import artefact_path, config_digest, mismatch
from benchmark.results.noise import noise_points
from benchmark.results.study import write_study
from benchmark.run.experiment import run_config
from benchmark.run.provenance import provenance
from benchmark.run.recipe import fit, initial_model, prefix_dir, prefix_entry, schedule_for
from benchmark.run.workspace import Workspace
from quads.mct import Schedule
from quads.train import native_bf16


def extended(schedule: Schedule, epochs: int) -> Schedule:
    """``schedule`` with its last phase repeated for ``epochs`` more epochs: its first phases are
    the finished run's, so the prefix cache supplies them."""
    last = schedule.phases[-1]
    more = dataclasses.replace(last, epochs=epochs)
    return dataclasses.replace(schedule, phases=(*schedule.phases, more))


def judge(budget_curve: Sequence[float], more: Sequence[float], n_valid: int | None) -> dict:
    """The module docstring's rule on one kind of model's curve: the budget's epochs, then the
    continued ones."""
    curve = [*budget_curve, *more]
    k = min(PATIENCE, len(more))
    earlier, last = max(curve[:-k]), max(curve[-k:])
    noise = noise_points(earlier, n_valid)
    return {
        "budget_best": round(max(budget_curve), 2),
        "continued": [round(a, 2) for a in more],
        "gain": round(last - earlier, 2),
        "noise": round(noise, 2),
        "climbing": last - earlier > noise,
    }


def continue_runs(
    profile: Profile,
    table: str,
    ws: Workspace,
    results_dir: Path,
    out_dir: Path,
    epochs: int,
    *,
    datasets: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    every_run: bool = False,
    evidence: Sequence[dict] | None = None,
    retrain: bool = False,
    twin: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[Path, Path]:
    """Continue the flagged runs (``every_run``: all trained runs; ``evidence``: a continuation
    check's entries (``report.continued.load_continued``): only the runs still climbing after
    it; ``retrain``: train a run's budget again where its final state is not cached; ``twin``:
    where a result file's precision is not ``ws.precision``, train and continue its twin in
    ``ws.precision``, module docstring) and write the report; returns its Markdown and JSON
    paths."""
    if epochs < 1:
        raise ValueError(f"--epochs {epochs}: must be at least 1")
    settings = {
        "profile": profile.name,
        "table": table,
        "epochs": epochs,
        "selected": "still climbing after the recorded check" if evidence is not None else None,
        "twin": {"precision": ws.precision} if twin else None,
    }
    earlier = earlier_report(continuation_path(out_dir, table), settings)
    results = scan_results(results_dir, profile.name, table).results
    if evidence is not None:
        results, _ = attach(results, evidence)
    planned = []  # (result, kinds climbing at its budget's end, label), in the result files' order
    for r in results:
        if datasets and r.experiment.dataset not in datasets:
            continue
        if seeds is not None and r.seed not in seeds:
            continue
        kinds = to_continue(r, every_run, after_check=evidence is not None)
        if kinds is not None:
            e = r.experiment
            planned.append(
                (r, kinds, run_label(e.row, e.bits, e.init, e.strategy, e.dataset, r.seed))
            )
    labels = {label for _, _, label in planned}
    before = earlier or {"runs": [], "skipped": []}
    # entries and skips of runs outside this selection stay as the earlier report has them
    kept = [e for e in before["runs"] if entry_label(e) not in labels]
    kept_skips = [s for s in before["skipped"] if s.split(": ", 1)[0] not in labels]
    reusable = {entry_label(e): e for e in before["runs"] if entry_label(e) in labels}
    runs, skipped = [], []

    def write(pending: Sequence[str]) -> tuple[Path, Path]:
        made = provenance()
        payload = {
            **{k: v for k, v in settings.items() if v is not None},
            "datasets": selection_union(
                before.get("datasets", []), sorted(datasets) if datasets else "all"
            ),
            "seeds": selection_union(
                before.get("seeds", []), sorted(seeds) if seeds is not None else "all"
            ),
            "split": "valid",
            "runs": [*kept, *runs],
            "skipped": [*kept_skips, *skipped],
            **({"pending": list(pending)} if pending else {}),
            **({"earlier_provenance": e} if (e := earlier_provenances(earlier, made)) else {}),
            "provenance": made,
        }
        return write_study(out_dir, f"continuation-{table}", payload, continuation_lines(payload))

    write([label for _, _, label in planned])  # the plan, before the first run
    for i, (r, kinds, label) in enumerate(planned):
        prior = reusable.get(label)
        if prior is not None and prior.get("file_config") == config_digest(r.config):
            runs.append(prior)
            log(f"continue: {label}: kept from {continuation_path(out_dir, table)}")
            continue
        start = time.perf_counter()
        try:
            entry = _continue(r, profile, ws, epochs, label, retrain, twin)
        except _Skip as why:
            skipped.append(f"{label}: {why}")
            log(f"continue: skipped {label}: {why}")
        else:
            made = provenance()
            entry |= {
                "climbing_kinds": kinds,
                "seconds": round(time.perf_counter() - start, 1),
                "file_config": config_digest(r.config),
                "made": {"commit": made["commit"], "date": made["date"]},
            }
            runs.append(entry)
            verdict = "still climbing" if entry["climbing"] else "levelled off"
            log(
                f"continue: {label}: {verdict} ({entry['gain']:+.2f} vs noise {entry['noise']:.2f})"
            )
        write([lab for _, _, lab in planned[i + 1 :]])
    return write([])


def to_continue(r: Result, every_run: bool, after_check: bool) -> list[str] | None:
    """The kinds of model whose curve climbed at the end of ``r``'s budget if ``r`` is to be
    continued, else None: an untrained run never; a run not climbing at the end of its budget
    only with ``every_run``; with ``after_check`` (a check's entries attached,
    ``report.continued``), not a run that levelled off in that check."""
    kinds = budget_climbing_kinds(r)
    if kinds is None or not (kinds or every_run):
        return None
    if after_check and kinds and not climbing_kinds(r):
        return None
    return kinds


class _Skip(Exception):
    """A run this check cannot continue, and why."""


def file_precision(r: Result) -> str | None:
    """The training precision a result file's run identity records."""
    identity = (r.config or {}).get("identity") or {}
    return identity.get("precision") if isinstance(identity, dict) else None


def _check_twin(r: Result, here: dict) -> None:
    """A twin may differ from its result file's configuration in the precision alone."""
    diffs = mismatch(r.config, here, ignore=("precision",))
    if diffs:
        raise _Skip(
            f"its twin would differ from the result file in more than the precision ({diffs})"
        )


def _twin_hint(r: Result, here: dict, ws: Workspace) -> str:
    """Where a result file differs from a run here in its training precision alone: how to
    continue it anyway (a twin); "" otherwise."""
    made_in = file_precision(r)
    if made_in in (None, ws.precision) or mismatch(r.config, here, ignore=("precision",)):
        return ""
    why = (
        " (no native bf16 on this device)"
        if made_in == "bf16" and not native_bf16(ws.device)
        else ""
    )
    return (
        f"; it trained in {made_in}, a run here in {ws.precision}{why}: `--twin {ws.precision}` "
        f"continues a twin in {ws.precision} instead, evidence about the recipe"
    )


def _continue(
    r: Result,
    profile: Profile,
    ws: Workspace,
    epochs: int,
    label: str,
    retrain: bool = False,
    twin: bool = False,
) -> dict:
    exp = r.experiment
    prof = ws.choice.profile_for(profile, exp.dataset)
    schedule = schedule_for(exp, prof)
    prefix = prefix_dir(ws, prof)
    twin = twin and file_precision(r) != ws.precision
    if twin:
        _check_twin(r, run_config(exp, profile, ws.choice, ws))
    elif not prefix_entry(ws, exp, prof, schedule, len(schedule.phases), r.seed).is_file():
        if not retrain:
            raise _Skip(
                f"its final state is not in the prefix cache under {prefix} (--retrain trains "
                "its budget again first)"
            )
        here = run_config(exp, profile, ws.choice, ws)
        diffs = mismatch(r.config, here)
        if diffs:
            raise _Skip(
                f"a run here would be another configuration than its result file ({diffs})"
                + _twin_hint(r, here, ws)
            )
    model, _ = initial_model(exp, prof, r.seed, len(ws.corpus(exp.dataset).intents))
    outcome, _ = fit(
        exp,
        prof,
        r.seed,
        ws,
        model,
        prefix_cache=prefix,
        checkpoint=_checkpoint(ws, profile, r, epochs),
        desc=f"continue {label}",
        schedule=extended(schedule, epochs),
    )
    stored = r.training.get("history") or []
    restored = outcome.history[: len(stored)]
    if not twin and [round(h["valid_accuracy"], 4) for h in restored] != [
        round(h["valid_accuracy"], 4) for h in stored
    ]:
        raise _Skip(
            "the restored or retrained budget's curve is not its result file's (another run of "
            "this name, or another machine's arithmetic)"
        )
    phases = [dataclasses.asdict(p) for p in schedule.phases]
    kind = kind_of(phases[-1])
    budget = curves(restored if twin else stored, phases)[kind]
    more = [float(h["valid_accuracy"]) for h in outcome.history[len(stored) :]]
    if twin:
        # the twin's own budget curve is judged; the file's best is shown beside it
        twin_of = {
            "file_precision": file_precision(r),
            "file_budget_best": round(max(curves(stored, phases)[kind]), 2),
            "budget_curve": [round(a, 2) for a in budget],
        }
    else:
        twin_of = {}
    return {
        "row": exp.row,
        "bits": exp.bits,
        "dataset": exp.dataset,
        "init": exp.init,
        "strategy": exp.strategy,
        "seed": r.seed,
        "kind": kind,
        **judge(budget, more, n_valid_of(r.data)),
        **twin_of,
    }


def _checkpoint(ws: Workspace, profile: Profile, r: Result, epochs: int) -> Path:
    """The continued run's own resume file (the engine saves it after every epoch and removes it
    when the run ends), beside the run's checkpoint: an interrupted continuation resumes at its
    last epoch, not at its last finished phase (19 continued epochs are one phase)."""
    exp = r.experiment
    here = run_config(exp, profile, ws.choice, ws)
    path = artefact_path(ws.cache, "checkpoint", profile.name, exp, r.seed, here)
    return path.with_name(f"{path.stem}-continued{epochs}{path.suffix}")


def continuation_lines(payload: dict) -> list[str]:
    """The Markdown report of one ``continue_runs`` payload."""
    twin = payload.get("twin")
    n = len(payload["runs"])
    still = sum(1 for e in payload["runs"] if e["climbing"])
    lines = [
        f"# Past the budget: continued runs of {payload['table']} (profile `{payload['profile']}`)",
        "",
        "Generated by `quads-bench continue` (validation split only; the result files and the "
        "verdicts, which rest on equal budgets, are unchanged).",
        "",
        (
            "Each run's budget was trained again (twins, below), and the run "
            if twin
            else "Each run was restored from its final state and "
        )
        + f"trained {payload['epochs']} more epochs "
        f"of its last phase. *Still climbing*: {_rule(payload['epochs'])} by more than the "
        "validation noise (binomial standard error, at least 1 point). The continued epochs start a fresh optimizer, as "
        "every phase does (the deviation 'Optimizer per phase'), which can cost accuracy in their "
        "first epochs: 'levelled off' is weaker evidence than 'still climbing'.",
        "",
        *(
            [f"Runs: those {payload['selected']} (`--still-climbing`).", ""]
            if payload.get("selected")
            else []
        ),
        *_twin_lines(payload),
        f"Datasets: {_listed(payload.get('datasets', 'all'))}; seeds: "
        f"{_listed(payload.get('seeds', 'all'))}. {still} of {n} continued runs were still "
        f"climbing; {n - still} had levelled off.",
        "",
        "| row | bits | init | strategy | dataset | seed | flagged (kind) | budget best | continued "
        "| gain | noise | verdict |" + (" result file's budget best |" if twin else ""),
        "|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if twin else ""),
    ]
    for e in payload["runs"]:
        flagged = " + ".join(e["climbing_kinds"]) or "–"
        continued = ", ".join(f"{a:.1f}" for a in e["continued"])
        verdict = "still climbing" if e["climbing"] else "levelled off"
        file_best = (
            f" {e['file_budget_best']:.1f} ({e['file_precision']}) |"
            if "file_budget_best" in e
            else (" – |" if twin else "")
        )
        lines.append(
            f"| {e['row']} | {e['bits']} | {e['init']} | {e['strategy']} | {e['dataset']} "
            f"| {e['seed']} | {flagged} "
            f"| {e['budget_best']:.1f} ({e['kind']}) | {continued} | {e['gain']:+.1f} "
            f"| {e['noise']:.1f} | {verdict} |" + file_best
        )
    if payload["skipped"]:
        lines += ["", "Skipped:", "", *(f"- {s}" for s in payload["skipped"])]
    if payload.get("pending"):
        lines += [
            "",
            f"**In progress**: {len(payload['pending'])} runs still to continue (this report is "
            "rewritten after every run; the same command resumes it):",
            "",
            *(f"- {label}" for label in payload["pending"]),
        ]
    lines += ["", f"Made by: {json.dumps(payload['provenance'], sort_keys=True)}"]
    lines += [
        f"Earlier runs kept here made by: {json.dumps(p, sort_keys=True)}"
        for p in payload.get("earlier_provenance", [])
    ]
    return lines


def _rule(epochs: int) -> str:
    if epochs <= PATIENCE:
        return (
            "the best continued epoch beats the best epoch of the same kind of model within the "
            "budget"
        )
    return (
        f"the best of the last {PATIENCE} continued epochs beats the best earlier epoch of the "
        "same kind of model (budget and continued; the gain column)"
    )


def _listed(value) -> str:
    return value if isinstance(value, str) else ", ".join(str(v) for v in value)


def _twin_lines(payload: dict) -> list[str]:
    twin = payload.get("twin")
    if not twin:
        return []
    return [
        f"**Twins, trained in {twin['precision']}.** Each run's budget was trained again in "
        f"{twin['precision']} (`--twin`), where its result file was made in another precision "
        "(last column), then continued: another configuration than the result files, judged on "
        "its own curve ('budget best' is the twin's). This is evidence about the recipe, not "
        "about the result file's run: the tables do not read it, and no cell of theirs changes.",
        "",
    ]
