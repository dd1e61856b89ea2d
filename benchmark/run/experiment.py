"""One run of one row: its configuration (what determines its numbers) and the run itself.

``run_experiment`` is what every executor computes per (row, dataset, seed): the local one
(``runner``) and the Ray tasks (``ray_executor``) both import it from here, so neither imports the
other.
"""

from __future__ import annotations

import dataclasses
import json
import time

from benchmark.metrics import BUSY_MACHINE, EnergyMeasurement, paper_size_mb
from benchmark.profiles import Profile
from benchmark.results.files import Result
from benchmark.rows import Experiment
from benchmark.run.data_choice import DataChoice
from benchmark.run.efficiency import measure_efficiency
from benchmark.run.provenance import provenance
from benchmark.run.recipe import RowOutcome, row_identity, schedule_for, train_row
from benchmark.run.workspace import Workspace
from quads.mct import Schedule


def experiment_config(
    exp: Experiment, profile: Profile, corpus_fingerprint: str, num_classes: int, precision: str
) -> dict[str, object]:
    """Everything that determines a result; a stored result is reused only if this matches.

    It holds the run identity (``recipe.row_identity``: trainer version, precision, data,
    teacher ...) and the row's schedule, so a result of older training code is never reused.
    Left out: the device (where it ran, recorded in provenance), the seed lists (the seed is in
    the file name) and empty optional settings, so results stay valid when a setting is added
    with a default that changes nothing.
    """
    settings = dataclasses.asdict(profile)
    for key in ("device", "seeds", "baseline_seeds", "efficiency_only"):
        settings.pop(key)
    # "auto" resolved: a bf16-trained result is not reused on a machine that would train in fp32
    settings["precision"] = precision
    # empty: absent, so older results stay valid
    for optional in ("synthetic", "budgets", "dataset_finetune_epochs"):
        if not settings[optional]:
            settings.pop(optional)
    trained = profile.untrained_reason(exp) is None
    config = {
        "profile": settings,
        "corpus_fingerprint": corpus_fingerprint,
        "num_classes": num_classes,
        "identity": json.loads(
            row_identity(exp, profile, corpus_fingerprint, num_classes, precision)
        ),
        "schedule": schedule_config(schedule_for(exp, profile)) if trained else None,
    }
    return json.loads(json.dumps(config))  # the form it has once read back from a result file


def schedule_config(schedule: Schedule) -> dict[str, object]:
    """The schedule as the configuration stores it: its selection only when not the default
    (``Schedule.select_entry``), so the results of every schedule that keeps it stay valid."""
    out = {k: v for k, v in dataclasses.asdict(schedule).items() if k != "select"}
    return {**out, **schedule.select_entry}


def run_config(
    exp: Experiment, profile: Profile, choice: DataChoice, ws: Workspace
) -> dict[str, object]:
    """``experiment_config`` of ``exp`` on the corpus its dataset runs on here (the profile as
    that dataset runs it: its corpus replaced when a root is given)."""
    corpus = ws.corpus(exp.dataset)
    return experiment_config(
        exp,
        choice.profile_for(profile, exp.dataset),
        corpus.fingerprint,
        len(corpus.intents),
        ws.precision,
    )


def energy_note(energy: EnergyMeasurement, n_frames: int, bits: int) -> str:
    """How an energy cell was measured, and why it may be off (another process sharing the
    cores; dequantized weights for quantized rows)."""
    note = (
        f"codecarbon mode {energy.mode}, {energy.utterances} utterances of {n_frames} frames "
        "at batch 1"
    )
    busy = energy.other_load
    if busy is not None and busy > BUSY_MACHINE:
        note += (
            f"; measured while other processes used {busy * 100:.0f} % of the machine's CPU "
            "time: codecarbon's load x TDP estimate charges part of their work to this model, "
            "so the figure is too high (re-run on an idle machine)"
        )
    if bits < 32:
        note += (
            "; computed with dequantized fp32 weights (the float student's arithmetic), so "
            "it cannot show the energy saving of low bit widths"
        )
    return note


def run_experiment(exp: Experiment, profile: Profile, seed: int, ws: Workspace) -> Result:
    start = time.perf_counter()
    corpus = ws.corpus(exp.dataset)
    num_classes = len(corpus.intents)
    config = experiment_config(exp, profile, corpus.fingerprint, num_classes, ws.precision)
    metrics: dict[str, float | None] = {}
    notes: dict[str, str] = {}
    # measured once per (model, classes, input length) and process (``measure_efficiency`` is
    # cached): the numbers do not depend on the seed, the bit width or the strategy (quantized
    # rows compute with dequantized fp32 weights)
    eff = measure_efficiency(
        exp.model, num_classes, profile.n_frames, profile.energy_seconds, profile.measure_energy
    )
    metrics["params_m"] = eff.params / 1e6
    metrics["size_mb"] = paper_size_mb(eff.params, exp.bits)
    metrics["gmacs"] = eff.gmacs_30s
    metrics["gmacs_flop_counter"] = eff.gmacs_30s_check
    metrics["gmacs_run"] = eff.gmacs_run
    if eff.energy is not None:
        metrics["energy_j"] = eff.energy.joules_per_utterance
        metrics["energy_cpu_j"] = eff.energy.cpu_joules_per_utterance
        if eff.energy.other_load is not None:
            metrics["energy_other_load"] = eff.energy.other_load
        notes["energy_j"] = energy_note(eff.energy, profile.n_frames, exp.bits)
    else:
        notes["energy_j"] = "not measured: energy measurement disabled in this profile"
    why = profile.untrained_reason(exp)
    if why:
        outcome = RowOutcome(notes={"accuracy": why, "f1": why})
    else:
        outcome = train_row(exp, profile, seed, ws, config)
    metrics.update(outcome.metrics)
    notes.update(outcome.notes)
    return Result(
        experiment=exp,
        profile=profile.name,
        seed=seed,
        corpus=corpus.name,
        metrics=metrics,
        notes=notes,
        config=config,
        provenance=provenance(),
        wall_seconds=time.perf_counter() - start,
        artifacts=outcome.artifacts,
        training=outcome.training,
        data=ws.data_notes(exp.dataset),
        predictions=outcome.predictions,
    )
