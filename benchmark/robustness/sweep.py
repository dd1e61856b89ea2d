"""Evaluate every trained Table 1 row and seed of a profile on its clean and corrupted test split.

Inference only: each row's evaluated-model snapshot (``benchmark.run.snapshot``, written by
``quads-bench run --table table1``) is scored on the clean test split and on every condition of
``benchmark.data.corruptions``, whose features are computed once per corpus and shared by all
rows (``benchmark.data.corrupted_features``). One result file per (row, seed)
(``benchmark.robustness.results``); a complete file of the same configuration is reused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from benchmark.data.corrupted_features import CORRUPTED_VERSION, load_corrupted
from benchmark.data.corruptions import Condition
from benchmark.data.integrity import file_digest
from benchmark.data.records import RECORDING
from benchmark.metrics import accuracy, macro_f1
from benchmark.paper import DATASETS
from benchmark.profiles import Profile
from benchmark.report.claims import BASELINES
from benchmark.results.files import read_for_reuse, read_result, result_path
from benchmark.results.identity import artefact_path
from benchmark.robustness.claim import QUADS_BITS
from benchmark.robustness.results import (
    CLEAN,
    DIFFER,
    EQUAL,
    GROUP,
    NO_RESULT,
    OTHER_CONFIG,
    RobustnessResult,
    read_robustness,
    robustness_path,
    write_robustness,
)
from benchmark.rows import Experiment, table1_experiments
from benchmark.run.data_choice import DataChoice
from benchmark.run.experiment import run_config
from benchmark.run.provenance import provenance
from benchmark.run.snapshot import load_evaluated
from benchmark.run.workspace import Workspace
from quads.train import TensorData, predict

REMAKE = "re-run `quads-bench run --table table1` to make it"


def no_result(exp: Experiment, seed: int) -> str:
    """Why a trained run has no robustness result file. It names neither this machine's cache nor
    what is in it, so the report renders the same anywhere from the same result files. A run whose
    Table 1 result file is complete is reused by ``quads-bench run`` without retraining, so a lost
    snapshot is remade by ``--retrain`` (``robustness.retrain``)."""
    return (
        f"{label(exp, seed)}: no robustness result file: `quads-bench robustness` evaluates the "
        "snapshot its Table 1 run leaves in the cache (where the cache has none, "
        "`quads-bench robustness --retrain` trains that run again, its result file unchanged)"
    )


@dataclass(frozen=True)
class Job:
    exp: Experiment
    seed: int
    snapshot: Path
    table1: Path  # the row's Table 1 result file (may not exist)
    out: Path  # its robustness result file


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    # one line per (row, seed) not evaluated and without a result file of an earlier sweep
    skipped: list[str] = field(default_factory=list)
    # (its robustness result file, why it has none) per (row, seed) of the policy, from the result
    # files alone: the report lists those whose file is still missing after the sweep
    unevaluated: list[tuple[Path, str]] = field(default_factory=list)
    # (experiment, seed, Table 1 result file) of the runs with neither a snapshot nor a result
    # file of an earlier sweep: what ``--retrain`` remakes (``robustness.retrain``)
    no_snapshot: list[tuple[Experiment, int, Path]] = field(default_factory=list)
    efficiency_only: int = 0  # rows (x datasets) the profile measures for efficiency only
    left_out: int = 0  # (row, seed) runs outside the sweep's seed policy (``SEED_POLICIES``)


# Which seeds of a trained row the sweep evaluates. "claim": every seed of the claim's rows
# (QUADS 4 / 32 bit and the paper's baselines), the first seed of the others (QUADS 16 / 8 bit,
# the PTQ controls), which the claim does not read; "all": every seed of every row.
SEED_POLICIES = ("claim", "all")


def is_claim_row(exp: Experiment) -> bool:
    """Does the robustness claim read this row (QUADS 4 / 32 bit, the paper's baselines)?"""
    return (exp.row == "QUADS" and exp.bits in QUADS_BITS) or exp.row in BASELINES


def sweep_seeds(profile: Profile, exp: Experiment, policy: str = "claim") -> tuple[int, ...]:
    """The seeds of ``exp`` the sweep evaluates under ``policy`` (``SEED_POLICIES``)."""
    if policy not in SEED_POLICIES:
        raise ValueError(
            f"unknown seed policy {policy!r} (--seeds); known: {', '.join(SEED_POLICIES)}"
        )
    seeds = profile.seeds_for(exp)
    return seeds if policy == "all" or is_claim_row(exp) else seeds[:1]


def label(exp: Experiment, seed: int | None = None) -> str:
    text = f"{exp.row} {exp.bits} bit {exp.dataset}"
    return text if seed is None else f"{text} seed {seed}"


def plan(
    profile: Profile,
    datasets: Sequence[str],
    cache: Path,
    results_dir: Path,
    table1_dir: Path,
    seeds: str = "claim",
) -> Plan:
    """Which (row, seed) runs can be evaluated: those with a snapshot, within the seed policy
    ``seeds`` (``SEED_POLICIES``); the rest counted."""
    out = Plan()
    for exp in (e for e in table1_experiments() if e.dataset in datasets):
        if profile.untrained_reason(exp):
            out.efficiency_only += 1
            continue
        chosen = sweep_seeds(profile, exp, seeds)
        out.left_out += len(profile.seeds_for(exp)) - len(chosen)
        for seed in chosen:
            t1 = result_path(table1_dir, exp, profile.name, seed)
            out_path = robustness_path(results_dir, exp, profile.name, seed)
            try:
                stored = read_result(t1, table1_dir) if t1.exists() else None
            except ValueError:
                stored = None
            if stored is None:
                why = f"{label(exp, seed)}: no usable Table 1 result file {t1}: {REMAKE}"
                out.skipped.append(why)
                out.unevaluated.append((out_path, why))
                continue
            if stored.metrics.get("f1") is None:
                note = stored.notes.get("f1", "no F1 in its result file")
                why = f"{label(exp, seed)}: not trained: {note}"
                out.skipped.append(why)
                out.unevaluated.append((out_path, why))
                continue
            out.unevaluated.append((out_path, no_result(exp, seed)))
            # the snapshot of exactly the run that made the Table 1 result (its run identity)
            snap = artefact_path(cache, "snapshot", profile.name, exp, seed, stored.config)
            if not snap.exists():
                # an earlier sweep's result file stays in the report (scan_robustness checks it)
                if not out_path.exists():
                    out.skipped.append(f"{label(exp, seed)}: no snapshot {snap}")
                    out.no_snapshot.append((exp, seed, t1))
                continue
            out.jobs.append(Job(exp, seed, snap, t1, out_path))
    return out


def _config(
    job: Job, conditions: Sequence[Condition], ws: Workspace, uids: Sequence[str], row: dict
) -> dict[str, object]:
    return {
        "conditions": {c.name: asdict(c) for c in conditions},
        "n_frames": ws.profile.n_frames,
        "uids_sha256": hashlib.sha256("\n".join(uids).encode()).hexdigest(),
        "corrupted_version": CORRUPTED_VERSION,
        "table1_config": row,
    }


def clean_check(job: Job, table1_dir: Path, row: dict, truth: list[int], pred: list[int]) -> dict:
    """Do the snapshot's clean predictions equal the Table 1 result file's test predictions?"""
    check = {"table1_result": str(job.table1), "n": len(pred), "differing": 0}
    if not job.table1.exists():
        return {**check, "status": NO_RESULT}
    try:
        stored = read_result(job.table1, table1_dir)
    except ValueError as err:
        return {**check, "status": NO_RESULT, "why": str(err)}
    if stored.config != row:
        return {**check, "status": OTHER_CONFIG}
    theirs = stored.predictions.get("pred") or []
    if stored.predictions.get("truth") != truth or len(theirs) != len(pred):
        return {**check, "status": DIFFER, "differing": len(pred), "why": "another test set"}
    differing = sum(a != b for a, b in zip(theirs, pred, strict=True))
    return {**check, "status": EQUAL if differing == 0 else DIFFER, "differing": differing}


def _scores(truth: list[int], pred: list[int]) -> dict[str, float]:
    return {"accuracy": accuracy(truth, pred), "f1": macro_f1(truth, pred)}


@dataclass
class SweepLog:
    reused: int = 0
    evaluated: int = 0
    damaged: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    feature_seconds: dict[str, float] = field(default_factory=dict)  # dataset -> built now
    inference_seconds: float = 0.0


def _is_current(path: Path, config: dict, snapshot_sha: str, results_dir: Path, log) -> bool:
    """Whether the robustness result at ``path`` is trusted, made with ``config`` and from the
    snapshot whose sha256 is ``snapshot_sha``."""
    stored = read_for_reuse(path, read_robustness, results_dir, log)
    return (
        stored is not None
        and stored.config == config
        and stored.snapshot.get("sha256") == snapshot_sha
    )


def priority(job: Job) -> tuple:
    """Evaluation order: seed by seed, the claim's rows (QUADS 4 / 32 bit and the paper's
    baselines) first, so an interrupted sweep already answers the claim on its first seed."""
    return (job.seed, not is_claim_row(job.exp), DATASETS.index(job.exp.dataset))


def run_sweep(
    profile: Profile,
    conditions: Sequence[Condition],
    the_plan: Plan,
    ws: Workspace,
    results_dir: Path,
    table1_dir: Path,
    batch_size: int = 32,
    precision: str = "fp32",
    log: Callable[[str], None] = print,
) -> SweepLog:
    """Evaluate the plan's jobs (``priority`` order); write one result file per job.

    ``precision``: the arithmetic of the sweep's inference ("fp32" as the test split was scored,
    or "bf16" autocast); the clean check always runs in fp32."""
    out = SweepLog()
    choice = DataChoice()
    todo = []
    for job in the_plan.jobs:
        uids = ws.features(job.exp.dataset, "test").uids
        row = run_config(job.exp, profile, choice, ws)
        config = {**_config(job, conditions, ws, uids, row), "precision": precision}
        sha = file_digest(job.snapshot)
        if _is_current(job.out, config, sha, results_dir, log):
            out.reused += 1
        else:
            todo.append((job, row, config, sha))
    todo.sort(key=lambda t: priority(t[0]))
    feats: dict[tuple[str, str, str], object] = {}  # (dataset, condition, input) -> features
    bar = tqdm(total=len(todo) * (len(conditions) + 1), desc="robustness", unit="eval")
    for job, row, config, sha in todo:
        ds = job.exp.dataset
        corpus, fs = ws.corpus(ds), ws.features(ds, "test")
        model = load_evaluated(job.snapshot)
        if model is None:
            out.damaged.append(
                f"{label(job.exp, job.seed)}: snapshot {job.snapshot} damaged; {REMAKE}"
            )
            bar.update(len(conditions) + 1)
            continue
        names = tuple(getattr(model, "inputs", ("mel",)))
        for w in names:  # the corrupted split's input w, built or read once per dataset
            if (ds, conditions[0].name, w) not in feats:
                got = load_corrupted(
                    corpus,
                    "test",
                    fs.uids,
                    profile.n_frames,
                    conditions,
                    (w,),
                    ws.cache / "robustness",
                )
                feats.update({(ds, c, what): f for (c, what), f in got.items()})
                built = sum(f.seconds for f in got.values() if not f.from_cache)
                out.feature_seconds[ds] = out.feature_seconds.get(ds, 0.0) + built
        truth = [int(x) for x in fs.labels]
        unit, groups = ws.sentence_groups(ds)  # the bootstrap's resampling unit, (N,) ids
        start = time.perf_counter()
        clean = ws.data(ds, "test", inputs=names)
        with torch.inference_mode():  # no autograd graph; the same arithmetic
            # the clean split exactly as train_row scored it (same data, device, batch size, fp32)
            fp32_clean = [int(x) for x in predict(model, clean, device=ws.device)]
            preds = {CLEAN: fp32_clean}
            if precision != "fp32":
                pred = predict(model, clean, batch_size, ws.device, precision)
                preds[CLEAN] = [int(x) for x in pred]
            bar.update(1)
            for c in conditions:
                tensors = {"labels": fs.labels}
                for w in names:
                    tensors[w] = feats[(ds, c.name, w)].values.float()
                pred = predict(model, TensorData(tensors), batch_size, ws.device, precision)
                preds[c.name] = [int(x) for x in pred]
                bar.update(1)
        seconds = time.perf_counter() - start
        out.inference_seconds += seconds
        check = clean_check(job, table1_dir, row, truth, fp32_clean)
        if precision != "fp32":  # how far the sweep's arithmetic moves the clean predictions
            check[f"{precision}_vs_fp32_differing"] = sum(
                a != b for a, b in zip(preds[CLEAN], fp32_clean, strict=True)
            )
        if check["status"] == DIFFER:
            line = (
                f"MISMATCH: {label(job.exp, job.seed)}: the snapshot's clean predictions differ "
                f"from {job.table1} in {check['differing']} of {check['n']} utterances"
            )
            out.mismatches.append(line)
            log(line)
        result = RobustnessResult(
            experiment=job.exp,
            profile=profile.name,
            seed=job.seed,
            corpus=corpus.name,
            snapshot={"path": str(job.snapshot), "sha256": sha},
            config=config,
            clean_check=check,
            metrics={k: _scores(truth, v) for k, v in preds.items()},
            predictions={"truth": truth, **preds, **({GROUP: groups} if unit != RECORDING else {})},
            provenance=provenance(),
            wall_seconds=seconds,
            feature_seconds={
                w: sum(feats[(ds, c.name, w)].seconds for c in conditions) for w in names
            },
            sentence_unit=unit,
        )
        write_robustness(job.out, result)
        out.evaluated += 1
    bar.close()
    return out
