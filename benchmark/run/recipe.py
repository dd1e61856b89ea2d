"""The recipe of one table row: the bridge between the harness and ``quads``/``baselines``.

``schedule_for`` gives a row's training schedule, ``row_identity`` the one run identity (it keys
checkpoints, the prefix cache and result files), and ``train_row`` turns an ``Experiment`` into
test metrics, with the data of a ``benchmark.run.workspace.Workspace``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from baselines.registry import build_model, get_model_spec
from baselines.weights import WeightsUnavailable, load_whisper_encoder
from benchmark.data.cache import atomic_write
from benchmark.metrics import accuracy, macro_f1
from benchmark.profiles import Profile
from benchmark.results.identity import artefact_path
from benchmark.rows import AUTHORS_STRATEGY, Experiment
from benchmark.run.snapshot import save_evaluated
from benchmark.run.workspace import Workspace
from quads.distill import DistillConfig, FeatureProjector
from quads.engine import Outcome, phase_key, run_schedule
from quads.export import measured_size_bytes, save_quantized
from quads.mct import Phase, Schedule, finetune
from quads.quantize import CodebookQuantizer, QuantConfig
from quads.train import predict

# deterministic tables that are rebuilt, never stored (Whisper's sinusoidal positions)
NOT_STORED = (r"embed_positions",)


def schedule_for(exp: Experiment, profile: Profile) -> Schedule:
    """The training schedule of a row under a profile (equal budgets: ``quads.mct.Budget``).

    A "PTQ" row trains MCT's float twin; its quantization follows training.
    """
    p, b = profile, profile.budget
    if exp.strategy == "finetune" and exp.model == "prosody-distill":
        # Rajaa's recipe: the prosody branch alone first, then both branches jointly
        stages = (
            Phase("finetune", p.prosody_stage_epochs, p.finetune_optim, stage="prosody"),
            Phase("finetune", p.finetune_epochs, p.finetune_optim, stage="joint"),
        )
        return Schedule("finetune (prosody stage, then joint)", stages)
    if exp.strategy == "finetune":
        return finetune(p.finetune_epochs, p.finetune_optim)
    if exp.strategy == "PTQ" or (exp.strategy == "MCT" and exp.bits == 32):
        # Table 1's float QUADS row (and the student PTQ quantizes): MCT's float twin, the same
        # epochs with CE fine-tuning in place of the quantization phases
        return b.mct_float()
    if exp.strategy == "Distillation":
        return b.distillation()
    if exp.strategy == "Quantization after Distillation":
        return b.quantization_after_distillation(exp.bits)
    if exp.strategy == "MCT":
        return b.mct(exp.bits)
    if exp.strategy == AUTHORS_STRATEGY:
        return b.authors_mct(exp.bits)
    raise ValueError(f"unknown strategy {exp.strategy!r} for row {exp.row!r}")


def write_slurp_predictions(path: Path, corpus, uids, predictions) -> Path:
    """Predictions in the official SLURP scorer's format: one JSON line per recording,
    ``{"file": ..., "scenario": ..., "action": ..., "entities": []}`` (no slot filling here).
    Labels are ``scenario_action``; scenarios contain no underscore, actions may."""
    by_uid = {u.uid: u for u in corpus.split("test")}
    lines = []
    for uid, label_id in zip(uids, predictions, strict=True):
        utt = by_uid[uid]
        scenario, _, action = corpus.intents[int(label_id)].partition("_")
        record = {
            "file": utt.recording or uid,
            "scenario": scenario,
            "action": action,
            "entities": [],
        }
        lines.append(json.dumps(record))
    with atomic_write(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


# Bump when a change to the training code changes what a given configuration trains, so cached
# phases, checkpoints and result files of the old code are never reused (2: only the pretrained
# encoder trains at the encoder learning rate; 3: equal budgets, frozen final MCT phase, fp16
# storage of 16-bit models, test predictions in result files). A change of a row's schedule needs
# no bump: the schedule is part of every result's configuration.
TRAINER_VERSION = 3


def row_identity(
    exp: Experiment, profile: Profile, corpus_fingerprint: str, n_classes: int, precision: str
) -> str:
    """Everything besides the schedule and seed that determines a trained model.

    ``precision`` is the training arithmetic resolved for this machine (``Workspace.precision``).

    The one run identity: it keys checkpoints and the prefix cache (with the schedule's phases and
    the seed) and is part of every result file's configuration (``experiment.experiment_config``).
    """
    return json.dumps(
        {
            "precision": precision,
            "model": exp.model,
            "init": exp.init,
            "corpus": corpus_fingerprint,
            "classes": n_classes,
            "n_frames": profile.n_frames,
            "subset": profile.subset,
            "batch_size": profile.batch_size,
            "teacher": profile.teacher,
            "alpha": profile.alpha,
            "trainer": TRAINER_VERSION,
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class RowOutcome:
    metrics: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # metric -> why missing / how measured
    artifacts: dict[str, str] = field(default_factory=dict)
    training: dict[str, object] = field(default_factory=dict)  # schedule, history, init source
    # test "truth" / "pred" class ids and "group" sentence ids (``records.sentence_groups``), (N,)
    predictions: dict[str, list[int]] = field(default_factory=dict)


def not_trainable(why: str) -> RowOutcome:
    return RowOutcome(notes={"accuracy": why, "f1": why})


class NotTrainable(Exception):
    """A row cannot be trained here; the message says why (e.g. no offline weights)."""


def prefix_dir(ws: Workspace, profile: Profile) -> Path:
    """The prefix cache of ``profile``'s runs: every finished phase of every run, by
    ``quads.engine.phase_key``."""
    return ws.cache / "runs" / "prefix" / profile.name


def prefix_entry(
    ws: Workspace, exp: Experiment, profile: Profile, schedule: Schedule, n_phases: int, seed: int
) -> Path:
    """Where the state after the first ``n_phases`` phases of ``exp``'s run is (or would be)
    stored in the prefix cache."""
    corpus = ws.corpus(exp.dataset)
    identity = row_identity(exp, profile, corpus.fingerprint, len(corpus.intents), ws.precision)
    return prefix_dir(ws, profile) / f"{phase_key(identity, schedule, n_phases, seed)}.pt"


def initial_model(
    exp: Experiment, profile: Profile, seed: int, n_classes: int
) -> tuple[nn.Module, str]:
    """The row's model before training, seeded, with its pretrained encoder when ``exp.init`` is
    "pretrained", and where its initial weights came from. Raises ``NotTrainable``."""
    spec = get_model_spec(exp.model)
    torch.manual_seed(seed)
    model = build_model(exp.model, n_classes, profile.n_frames)
    if exp.init != "pretrained":
        return model, f"random (torch seed {seed})"
    if spec.pretrained is None:
        raise NotTrainable(
            f"pre-trained weights not available: no offline source for {exp.model} "
            "(NeMo's SLURP checkpoint is not on PyPI)"
        )
    try:
        pre = load_whisper_encoder(spec.pretrained)
    except WeightsUnavailable as err:
        tried = ", ".join(source.split(" [")[0] for source, _ in err.attempts)
        raise NotTrainable(
            f"weights not available offline (Whisper {spec.pretrained}; tried: {tried})"
        ) from err
    model.load_encoder_state(pre.state_dict)
    return model, pre.source


def fit(
    exp: Experiment,
    profile: Profile,
    seed: int,
    ws: Workspace,
    model: nn.Module,
    *,
    prefix_cache: Path | None,
    checkpoint: Path | None = None,
    desc: str = "",
    schedule: Schedule | None = None,
    stop_when=None,
) -> tuple[Outcome, Schedule]:
    """Train ``model`` on the row's schedule (``schedule_for``), selecting on the validation
    split; the same recipe for table rows (``train_row``) and learning-rate tuning."""
    corpus = ws.corpus(exp.dataset)
    schedule = schedule or schedule_for(exp, profile)
    distills = schedule.distills
    projector = None
    if distills:
        t = ws.teacher_features(exp.dataset)
        torch.manual_seed(seed)
        projector = FeatureProjector(model.feature_dim, t.shape[1])
    inputs = tuple(getattr(model, "inputs", ("mel",)))
    outcome = run_schedule(
        model,
        schedule,
        ws.data(exp.dataset, "train", teacher=distills, inputs=inputs),
        ws.data(exp.dataset, "valid", inputs=inputs),
        seed=seed,
        batch_size=profile.batch_size,
        distill=DistillConfig(alpha=profile.alpha),
        projector=projector,
        checkpoint=checkpoint,
        prefix_cache=prefix_cache,
        identity=row_identity(exp, profile, corpus.fingerprint, len(corpus.intents), ws.precision),
        desc=desc,
        device=ws.device,
        precision=ws.precision,
        stop_when=stop_when,
    )
    return outcome, schedule


def train_row(
    exp: Experiment, profile: Profile, seed: int, ws: Workspace, config: dict[str, object]
) -> RowOutcome:
    """Train ``exp`` and measure accuracy / F1 on the test split.

    ``config`` is the run's configuration (``experiment.experiment_config``): with the seed it names
    every cached artefact of the run (``benchmark.results.identity.artefact_path``), so runs of
    other configurations sharing the cache never overwrite or reuse them.

    A row that cannot be trained here returns no metrics and a note saying why (e.g. weights not
    available offline).
    """
    corpus = ws.corpus(exp.dataset)
    n_classes = len(corpus.intents)
    try:
        model, init_source = initial_model(exp, profile, seed, n_classes)
    except NotTrainable as why:
        return not_trainable(str(why))
    notes: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    device, precision = ws.device, ws.precision

    def artefact(kind: str) -> Path:
        return artefact_path(ws.cache, kind, profile.name, exp, seed, config)

    test = ws.data(exp.dataset, "test", inputs=tuple(getattr(model, "inputs", ("mel",))))
    outcome, schedule = fit(
        exp,
        profile,
        seed,
        ws,
        model,
        checkpoint=artefact("checkpoint"),
        prefix_cache=prefix_dir(ws, profile),
        desc=f"{exp.row} {exp.bits}b {exp.dataset}",
    )
    model, quantizer = outcome.model, outcome.quantizer
    metrics: dict[str, float] = {}
    if exp.strategy == "PTQ":
        # the control: k-means codebooks fitted to the distilled float weights, no retraining
        quantizer = CodebookQuantizer(model, QuantConfig(bits=exp.bits)).attach(warm_start=False)
        notes["accuracy"] = notes["f1"] = (
            f"k-means post-training quantization ({exp.bits} bit) of the float QUADS student"
        )
    if exp.bits == 16:
        # 16-bit storage is fp16: evaluate exactly what fp16 storage gives back (centroids too)
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:  # frozen tables (positions) are rebuilt, not stored
                    p.copy_(p.half().float())
        notes["bits"] = "every trained weight (centroids included) rounded to fp16, as stored"
    pred = predict(model, test, device=device)
    artifacts["snapshot"] = str(artefact("snapshot"))
    save_evaluated(
        artefact("snapshot"),
        model,
        quantizer,
        {"model": exp.model, "classes": n_classes, "n_frames": profile.n_frames},
    )
    truth = test.tensors["labels"].numpy()
    if not corpus.synthetic and corpus.stands_for == "SLURP":
        path = artefact("slurp_predictions")
        write_slurp_predictions(path, corpus, ws.features(exp.dataset, "test").uids, pred)
        artifacts["slurp_predictions"] = str(path)
    metrics["accuracy"] = accuracy(truth, pred)
    metrics["f1"] = macro_f1(truth, pred)
    metrics["valid_accuracy"] = outcome.best_valid_accuracy
    metrics["best_epoch"] = outcome.best_epoch
    if quantizer is not None and quantizer.attached:
        path = artefact("model")
        path.parent.mkdir(parents=True, exist_ok=True)
        save_quantized(
            model,
            quantizer,
            path,
            model_config={"model": exp.model, "classes": n_classes, "n_frames": profile.n_frames},
            skip=NOT_STORED,
        )
        metrics["size_file_mb"] = measured_size_bytes(path) / 2**20
        artifacts["model"] = str(path)
        notes["size_file_mb"] = (
            "measured bytes of the exported file, each tensor in its smallest lossless form "
            "(packed indices + codebook, or fp16 values; positional table not stored)"
        )
    training = {
        "init": init_source,
        "precision": precision,
        "schedule": schedule.name,
        "phases": [asdict(p) for p in schedule.phases],
        "history": outcome.history,
        "resumed_from": outcome.resumed_from,
        "quantizer": repr(quantizer) if quantizer else None,
    }
    _, groups = ws.sentence_groups(exp.dataset)
    predictions = {
        "truth": [int(x) for x in truth],
        "pred": [int(x) for x in pred],
        "group": groups,  # the bootstrap's resampling unit (data["sentence_unit"])
    }
    return RowOutcome(metrics, notes, artifacts, training, predictions)
