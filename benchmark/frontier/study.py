"""The frontier's inference-only study of each (dataset, seed): sensitivity scan, uniform 4-bit
PTQ and the mixed-precision assignment under its size, from Table 1's float QUADS student.

Input: the evaluated snapshot of Table 1's 32-bit QUADS row (``benchmark.run.snapshot``,
``<cache>/runs/evaluated/<profile>/table1-<ds>-quads-32b-pretrained-m-seed<N>.pt``). Output: one
record per (dataset, seed), ``<out>/results/<profile>/frontier-study/<ds>-seed<N>.json``, written
atomically; a record whose configuration (snapshot sha256, corpus, settings) matches is reused,
so an interrupted study resumes at the next (dataset, seed). Exported models go to
``<cache>/runs/models/<profile>/frontier-<ds>-{uniform4,mixed}-ptq-seed<N>.safetensors``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cache import atomic_write
from benchmark.data.records import RECORDING
from benchmark.frontier.assign import LEVELS, assignment, covered_bytes, greedy_upgrades
from benchmark.frontier.sensitivity import Splits, covered_names, f1_of, measure, scan
from benchmark.profiles import Profile
from benchmark.results.files import load_json
from benchmark.results.identity import artefact_path
from benchmark.results.stored_values import (
    predictions_problem,
    sentence_ids_problem,
    value_problem,
)
from benchmark.rows import Experiment, experiments
from benchmark.run.provenance import provenance
from benchmark.run.recipe import NOT_STORED
from benchmark.run.snapshot import load_evaluated
from benchmark.run.workspace import Workspace
from quads.mixed import tensor_costs
from quads.quantize import QuantConfig

STUDY_DIR = "frontier-study"


@dataclass(frozen=True)
class StudySettings:
    scan_bits: int = 2  # each tensor alone at this width
    levels: tuple[int, ...] = LEVELS  # widths the mixed assignment may give a tensor
    budget_bits: int = 4  # the mixed model's file may not exceed the uniform model's at this width
    version: int = 2  # bump when the study's code changes what a record holds (2: valid-only scan)


@dataclass(frozen=True)
class StudyRecord:
    """One (dataset, seed) of the study; ``provenance``, ``corpus`` and ``seed`` as in a
    ``Result``, so the report's provenance lines read both."""

    dataset: str
    seed: int
    profile: str
    corpus: str
    config: dict
    provenance: dict
    wall_seconds: float
    float_: dict  # the float student: valid_f1, test_f1, test_pred
    scan: list  # [{tensor, numel, valid_f1, valid_drop}] (validation split only)
    uniform: dict  # uniform budget_bits PTQ: size_bytes, valid_f1, test_f1, test_pred
    mixed: dict  # the same + "bits" {tensor: b}, covered bytes, budget, upgrades undone
    test_truth: list
    # the test recordings' sentence ids (N,) and their unit (``records.sentence_groups``): the
    # bootstrap's resampling unit; empty / "recording" in records written before them
    test_group: list = dataclasses.field(default_factory=list)
    sentence_unit: str = RECORDING

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["float"] = d.pop("float_")
        return d

    @classmethod
    def from_json(cls, d: dict) -> StudyRecord:
        d = dict(d)
        d["float_"] = d.pop("float")
        return cls(**d)


def float_row(dataset: str) -> Experiment:
    """Table 1's 32-bit QUADS row: its snapshot is the float student every study starts from."""
    for e in experiments("table1"):
        if (e.row, e.bits, e.dataset) == ("QUADS", 32, dataset):
            return e
    raise ValueError(f"Table 1 has no 32-bit QUADS row for {dataset!r}")


def snapshot_path(ws: Workspace, profile: Profile, dataset: str, seed: int) -> Path:
    """The float student's snapshot as a Table 1 run with this workspace's configuration (run
    identity: ``benchmark.results.identity``) names it."""
    from benchmark.run.experiment import run_config

    exp = float_row(dataset)
    config = run_config(exp, profile, ws.choice, ws)
    return artefact_path(ws.cache, "snapshot", profile.name, exp, seed, config)


def record_path(results_dir: Path, profile: str, dataset: str, seed: int) -> Path:
    return results_dir / profile / STUDY_DIR / f"{dataset.lower()}-seed{seed}.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


SECTIONS = ("float", "uniform", "mixed")


def record_problem(data: object) -> str | None:
    """Why parsed JSON cannot be a study record the harness wrote (None: it can): not an object,
    a section missing, a negative or non-finite number, or test predictions whose class ids or
    re-derived macro F1 disagree with the stored ones (``stored_values.predictions_problem``)."""
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    if not all(isinstance(data.get(k), dict) for k in SECTIONS):
        return f"sections {list(SECTIONS)} are not all objects"
    for key in SECTIONS:
        for name, value in data[key].items():
            why = None if isinstance(value, (list, dict)) else value_problem(name, value)
            if why:
                return f"{key}: {why}"
    truth = data.get("test_truth")
    n = len(truth) if isinstance(truth, list) else -1
    why = sentence_ids_problem(data.get("sentence_unit", RECORDING), data.get("test_group"), n)
    if why:
        return why
    scored = {k: (data[k].get("test_pred"), {"f1": data[k].get("test_f1")}) for k in SECTIONS}
    # the record stores no class count: ids are checked for >= 0 only
    return predictions_problem(data.get("test_truth"), scored, None)


def load_record(path: Path) -> StudyRecord:
    """The record at ``path``; ``ValueError`` naming it when unreadable or impossible."""
    data = load_json(path, "frontier study record")
    why = record_problem(data)
    if why:
        raise ValueError(f"frontier study record {path} is malformed: {why} (delete it)")
    try:
        return StudyRecord.from_json(data)
    except (TypeError, KeyError) as err:
        raise ValueError(f"frontier study record {path} is malformed: {err} (delete it)") from err


def read_record(
    path: Path, config: dict | None = None, log: Callable[[str], None] | None = None
) -> StudyRecord | None:
    """The record at ``path`` (None: missing, cannot be trusted (said through ``log``), or made
    with another ``config``)."""
    if not path.exists():
        return None
    try:
        rec = load_record(path)
    except ValueError as err:
        if log is not None:
            log(f"recomputing: {err}")
        return None
    return rec if config is None or rec.config == config else None


def read_records(
    results_dir: Path, profile: str, log: Callable[[str], None] | None = None
) -> list[StudyRecord]:
    """Every valid record of the profile, in path order; one line through ``log`` per file
    left out."""
    folder = results_dir / profile / STUDY_DIR
    out = []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            out.append(load_record(p))
        except ValueError as err:
            if log is not None:
                log(str(err))
    return out


def study_one(
    dataset: str, seed: int, profile: Profile, ws: Workspace, snapshot: Path, config: dict
) -> StudyRecord:
    """Scan, uniform PTQ and mixed PTQ of one float student (module docstring)."""
    start = time.perf_counter()
    settings = StudySettings(**{k: v for k, v in config["settings"].items() if k != "levels"})
    settings = dataclasses.replace(settings, levels=tuple(config["settings"]["levels"]))
    model = load_evaluated(snapshot).to(ws.device)
    splits = Splits(ws.data(dataset, "valid"), ws.data(dataset, "test"))
    unit, groups = ws.sentence_groups(dataset)
    exp = float_row(dataset)
    meta = {"model": exp.model, "classes": len(ws.corpus(dataset).intents)}
    meta["n_frames"] = profile.n_frames
    base = f1_of(model, splits, ws.device)
    rows = scan(model, splits, ws.device, settings.scan_bits, desc=f"scan {dataset} seed {seed}")
    for r in rows:
        r["valid_drop"] = base["valid_f1"] - r["valid_f1"]
    names = covered_names(model)
    models = ws.cache / "runs" / "models" / profile.name
    stem = f"frontier-{dataset.lower()}"
    uniform_bits = {n: settings.budget_bits for n in names}
    uniform = measure(
        model,
        uniform_bits,
        splits,
        ws.device,
        models / f"{stem}-uniform{settings.budget_bits}-ptq-seed{seed}.safetensors",
        meta,
        NOT_STORED,
    )
    costs = tensor_costs(model, settings.levels)
    drops = {r["tensor"]: r["valid_drop"] for r in rows}
    budget = covered_bytes(costs, uniform_bits)
    steps = greedy_upgrades(costs, drops, budget, settings.levels)
    path = models / f"{stem}-mixed-ptq-seed{seed}.safetensors"
    # the greedy counts packed bytes; the file's header grows with per-tensor "bits" entries, so
    # upgrades are undone (last first) until the measured file fits
    for undone in range(len(steps) + 1):
        bits = assignment(costs, steps[: len(steps) - undone], settings.levels)
        mixed = measure(model, bits, splits, ws.device, path, meta, NOT_STORED)
        if mixed["size_bytes"] <= uniform["size_bytes"]:
            break
    mixed.update(
        bits=bits,
        covered_bytes=covered_bytes(costs, bits),
        budget_covered_bytes=budget,
        upgrades_undone=undone,
    )
    return StudyRecord(
        dataset=dataset,
        seed=seed,
        profile=profile.name,
        corpus=ws.corpus(dataset).name,
        config=config,
        provenance=provenance(),
        wall_seconds=time.perf_counter() - start,
        float_=base,
        scan=rows,
        uniform=uniform,
        mixed=mixed,
        test_truth=[int(x) for x in splits.truth("test")],
        test_group=groups if unit != RECORDING else [],
        sentence_unit=unit,
    )


def run_study(
    profile: Profile,
    ws: Workspace,
    results_dir: Path,
    datasets: Sequence[str],
    seeds: Sequence[int],
    settings: StudySettings = StudySettings(),
    log: Callable[[str], None] = print,
) -> list[StudyRecord]:
    """The study of every (dataset, seed), reusing current records; a (dataset, seed) without
    its float snapshot is skipped, counted and named in one line."""
    out, skipped = [], []
    for ds in datasets:
        corpus = ws.corpus(ds)
        for seed in seeds:
            snap = snapshot_path(ws, profile, ds, seed)
            if not snap.exists():
                skipped.append(f"{ds} seed {seed} ({snap})")
                continue
            config = json.loads(
                json.dumps(
                    {
                        "snapshot_sha256": _sha256(snap),
                        "corpus_fingerprint": corpus.fingerprint,
                        "settings": dataclasses.asdict(settings),
                        "quant": dataclasses.asdict(QuantConfig(bits=settings.scan_bits)),
                    }
                )
            )
            path = record_path(results_dir, profile.name, ds, seed)
            rec = read_record(path, config, log)
            if rec is None:
                log(f"frontier study: {ds} seed {seed} (scan, uniform and mixed PTQ)")
                rec = study_one(ds, seed, profile, ws, snap, config)
                with atomic_write(path) as tmp:
                    tmp.write_text(json.dumps(rec.to_json(), indent=1, sort_keys=True) + "\n")
            out.append(rec)
    if skipped:
        log(
            f"frontier study: {len(skipped)} (dataset, seed) skipped, no float QUADS snapshot "
            f"(run `quads-bench run --table table1 --rows QUADS` first): {'; '.join(skipped)}"
        )
    return out
