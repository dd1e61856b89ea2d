"""The engine that runs a schedule of phases (``quads.mct``) on a model: ``run_schedule``.

Every phase starts a fresh optimizer (parameters change identity when the quantizer attaches or
detaches). The engine checkpoints after every epoch (an interrupted run resumes exactly) and,
optionally, stores the state at every phase boundary in a prefix cache keyed by everything that
determines it, so schedules sharing a prefix (e.g. every strategy starts with the same
distillation phase) compute it once. The returned model is the best-on-validation epoch of the
final phase.

The authors' recipe (``quads.mct`` kinds ``authors-distill`` / ``authors-quantize``) runs on a
``quads.cluster_mean.ClusterMeanQuantizer``: one k-means before the first phase, whose fixed labels
and current centroids are saved in every checkpoint and prefix-cache entry; each of its
quantization epochs builds a fresh optimizer, and after every step the weights are reset to their
cluster means. A run that ends quantized returns an attached ``CodebookQuantizer`` built from the
fixed labels and the final means (``ClusterMeanQuantizer.to_codebook``), ready for export.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from quads.checkfile import torch_file_problem
from quads.cluster_mean import ClusterMeanQuantizer
from quads.distill import AUTHORS_LOSS, DistillConfig, FeatureProjector, distillation_loss
from quads.mct import (
    AUTHORS_COSINE_T_MAX,
    AUTHORS_KINDS,
    DISTILL_KINDS,
    QUANTIZE_KINDS,
    Schedule,
)
from quads.quantize import CodebookQuantizer, QuantConfig
from quads.train import (
    TensorData,
    cross_entropy_loss,
    load_checkpoint,
    make_optimizer,
    predict,
    save_checkpoint,
    train_epoch,
)


@dataclass
class Outcome:
    model: nn.Module  # quantizer attached iff the schedule ends quantized
    quantizer: CodebookQuantizer | None
    best_valid_accuracy: float
    best_epoch: int  # 1-based, over the whole schedule
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: str | None = None  # "checkpoint" | "prefix cache" | None


def keys_bits(schedule: Schedule, n_phases: int) -> bool:
    """Whether the first ``n_phases`` phases depend on the bit width: a quantization phase ran,
    or the authors' k-means at ``bits`` (their first phase follows it). A prefix that does not is
    shared by every bit width, so its prefix-cache entry holds no quantizer state."""
    return any(p.kind in QUANTIZE_KINDS + AUTHORS_KINDS for p in schedule.phases[:n_phases])


def phase_key(identity: str, schedule: Schedule, n_phases: int, seed: int) -> str:
    payload = json.dumps(
        {
            "identity": identity,
            "bits": schedule.bits if keys_bits(schedule, n_phases) else None,
            "phases": [asdict(p) for p in schedule.phases[:n_phases]],
            "seed": seed,
            **schedule.select_entry,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


@dataclass
class _State:
    phase: int = 0  # index of the phase in progress
    epoch: int = 0  # epochs done within that phase
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None  # (valid acc, epoch, state)
    history: list[dict[str, float]] = field(default_factory=list)


def run_schedule(
    model: nn.Module,
    schedule: Schedule,
    train: TensorData,
    valid: TensorData,
    *,
    seed: int,
    batch_size: int = 16,
    distill: DistillConfig | None = None,
    projector: FeatureProjector | None = None,
    checkpoint: Path | None = None,
    prefix_cache: Path | None = None,
    identity: str = "",
    desc: str = "",
    log: Callable[[str], None] = tqdm.write,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    stop_when: Callable[[list[dict[str, float]]], bool] | None = None,
) -> Outcome:
    """Run (or resume) ``schedule`` on ``model`` and return the best-on-valid final-phase model.

    ``stop_when(history)``, asked after every epoch of the final phase, ends the run early
    (early stopping: ``benchmark.run.plateau``); an early-stopped phase is not stored in the
    prefix cache, since it is not the phase its key names.

    ``precision`` ("fp32" | "bf16") is the arithmetic of training steps; it belongs in
    ``identity`` too, since it changes what is trained.

    ``identity`` must name everything else that determines the run (initial weights, data,
    teacher, batch size ...): it keys the prefix cache. ``checkpoint`` is this run's own resume
    file, removed when the run finishes.
    """
    distill = distill or DistillConfig()
    model.to(device)
    if projector is not None:
        projector.to(device)
    quantizer: CodebookQuantizer | None = None
    fixed: ClusterMeanQuantizer | None = None  # the authors' recipe
    if schedule.authors:
        fixed = ClusterMeanQuantizer(model, QuantConfig(bits=schedule.bits))
    elif schedule.bits is not None:
        quantizer = CodebookQuantizer(model, QuantConfig(bits=schedule.bits))
    if schedule.distills and projector is None:
        raise ValueError(f"schedule {schedule.name!r} distills but no projector was given")
    modules = {"model": model} | ({"projector": projector} if projector is not None else {})
    state = _State()
    resumed = None

    def snapshot() -> dict[str, object]:
        snap = {
            "phase": state.phase,
            "epoch": state.epoch,
            "best": state.best,
            "history": state.history,
            "attached": quantizer.attached if quantizer else False,
            "quantizer": quantizer.state_dict() if quantizer else None,
            "modules": {k: m.state_dict() for k, m in modules.items()},
        }
        if fixed is not None:
            snap["cluster_mean"] = fixed.state_dict()
        return snap

    def restore(saved: dict[str, object], with_quantizer: bool = True) -> None:
        """``with_quantizer`` False: a prefix shared by every bit width, whose quantizer state
        (if another bit width's run stored one) has nothing this run needs."""
        if quantizer is not None and saved["quantizer"] is not None and with_quantizer:
            quantizer.load_state_dict(saved["quantizer"])
        if fixed is not None:
            fixed.load_state_dict(saved["cluster_mean"])
        for k, m in modules.items():
            m.load_state_dict(saved["modules"][k])
        state.phase, state.epoch = saved["phase"], saved["epoch"]
        state.best, state.history = saved["best"], list(saved["history"])

    run_key = phase_key(identity, schedule, len(schedule.phases), seed)
    saved = _load(checkpoint, "checkpoint", log, desc) if checkpoint else None
    if saved is not None and saved.get("run_key") != run_key:
        log(f"{desc}: ignoring {checkpoint}: it was made by another configuration or schedule")
        saved = None
    if saved is not None:
        restore(saved)
        resumed = "checkpoint"
        log(f"{desc}: resumed at phase {state.phase + 1}, epoch {state.epoch}")
    elif prefix_cache is not None:
        for n in range(len(schedule.phases), 0, -1):
            key = phase_key(identity, schedule, n, seed)
            cached = _load(prefix_cache / f"{key}.pt", "prefix-cache entry", log, desc)
            if cached is not None:
                restore(cached, with_quantizer=keys_bits(schedule, n))
                resumed = "prefix cache"
                log(f"{desc}: reused {n} finished phase(s) from the prefix cache")
                break
    if fixed is not None and not fixed.fitted:
        fixed.fit()  # the authors' one k-means on the initial weights; W = C[L]

    epoch_offset = sum(p.epochs for p in schedule.phases[: state.phase])
    while state.phase < len(schedule.phases):
        phase = schedule.phases[state.phase]
        last = state.phase == len(schedule.phases) - 1
        if last and state.epoch == 0 and schedule.select == "final":
            state.best = None  # the model is chosen among the final phase's epochs only
        if phase.stage is not None:
            model.set_stage(phase.stage)
        if phase.frozen:
            quantizer.freeze()
        if phase.kind == "quantize" and not quantizer.attached:
            quantizer.attach(warm_start=True)
        elif phase.kind != "quantize" and quantizer is not None and quantizer.attached:
            quantizer.detach()
        loss_fn = cross_entropy_loss
        if phase.kind == "distill":
            loss_fn = distillation_loss(projector, distill)
        elif phase.kind == "authors-distill":
            w_l1, w_ce = AUTHORS_LOSS.weights
            authors_loss = dataclasses.replace(distill, l1_weight=w_l1, ce_weight=w_ce)
            loss_fn = distillation_loss(projector, authors_loss)
        params = list(model.named_parameters())
        if phase.frozen:  # the final phase trains the codebooks only
            params = [(n, p) for n, p in params if n.endswith("weight_centroids")]
        if phase.kind in DISTILL_KINDS:
            params += [(f"projector.{n}", p) for n, p in projector.named_parameters()]
        steps = phase.epochs * -(-len(train) // batch_size)
        per_epoch = phase.kind == "authors-quantize"  # a fresh optimizer every epoch
        after_step = fixed.project if per_epoch else None
        optimizer, scheduler = make_optimizer(params, phase.optim, steps)
        resume_optimizer = state.epoch and saved is not None and saved.get("optimizer") is not None
        if resume_optimizer and not per_epoch:
            optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(saved["scheduler"])
        while state.epoch < phase.epochs:
            global_epoch = epoch_offset + state.epoch + 1
            if per_epoch:  # the authors' SGD, cosine of period 2 * T_max steps from each epoch
                optimizer, scheduler = make_optimizer(params, phase.optim, AUTHORS_COSINE_T_MAX)
            loss = train_epoch(
                model,
                train,
                loss_fn,
                optimizer,
                scheduler,
                batch_size,
                seed,
                global_epoch,
                desc=f"{desc} {phase.kind} {global_epoch}/{schedule.epochs}",
                device=device,
                precision=precision,
                after_step=after_step,
            )
            acc = accuracy_percent(model, valid, device, precision)
            state.epoch += 1
            state.history.append(
                {
                    "epoch": global_epoch,
                    "phase": state.phase + 1,
                    "loss": loss,
                    "valid_accuracy": acc,
                }
            )
            log(
                f"{desc}: epoch {global_epoch}/{schedule.epochs} {phase.kind} loss {loss:.4f} valid acc {acc:.2f}"
            )
            candidate = last or schedule.select == "all"  # may this epoch be the model?
            if candidate and (state.best is None or acc > state.best[0]):
                best = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                state.best = (acc, global_epoch, best)
            if checkpoint is not None:
                snap = snapshot()
                snap["run_key"] = run_key
                snap["optimizer"] = optimizer.state_dict()
                snap["scheduler"] = scheduler.state_dict() if scheduler is not None else None
                _save(checkpoint, snap, "checkpoint")
            if last and stop_when is not None and stop_when(state.history):
                break
        if state.epoch < phase.epochs:  # stopped early: the run ends here
            break
        saved = None
        epoch_offset += phase.epochs
        state.phase += 1
        state.epoch = 0
        if prefix_cache is not None:
            key = phase_key(identity, schedule, state.phase, seed)
            entry = snapshot()
            if not keys_bits(schedule, state.phase):
                entry["quantizer"] = None  # shared by every bit width: no bits-bound state
            _save(prefix_cache / f"{key}.pt", entry, "prefix-cache entry")
    best_acc, best_epoch, best_state = state.best
    model.load_state_dict(best_state)
    if fixed is not None and schedule.quantized:
        quantizer = fixed.to_codebook()  # the fixed labels and the best epoch's cluster means
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return Outcome(model, quantizer, best_acc, best_epoch, state.history, resumed)


def _load(path: Path, what: str, log: Callable[[str], None], desc: str) -> dict | None:
    """A checkpoint or prefix-cache entry, or None when there is none; a damaged one (truncated,
    overwritten: ``quads.checkfile``) is reported, deleted and recomputed, never resumed."""
    if not path.exists():
        return None
    problem = torch_file_problem(path)
    if problem is None:
        try:
            return load_checkpoint(path)
        except (RuntimeError, EOFError, ValueError, AttributeError, ImportError) as err:
            problem = f"unloadable ({err})"
    log(f"{desc}: ignoring damaged {what} {path}: {problem}; recomputing")
    path.unlink(missing_ok=True)
    return None


def _save(path: Path, state: dict[str, object], what: str) -> None:
    """``save_checkpoint``, its failures (a full disk: torch reports a RuntimeError) turned into
    one ``OSError`` naming the file and what to do."""
    try:
        save_checkpoint(path, state)
    except (OSError, RuntimeError) as err:
        code = getattr(err, "errno", None) or errno.EIO
        try:
            free = shutil.disk_usage(path.parent).free
        except OSError:
            free = None
        if free is not None and free < 64 * 2**20:  # < 64 MiB left: a checkpoint did not fit
            code = errno.ENOSPC
        raise OSError(
            code,
            f"cannot write {what} {path}: {os.strerror(code)} ({str(err).splitlines()[0]}); "
            "free disk space or point QUADS_CACHE_DIR / --cache-dir at another disk, then run "
            "again (it resumes)",
        ) from err


def accuracy_percent(
    model: nn.Module, data: TensorData, device: torch.device | str = "cpu", precision: str = "fp32"
) -> float:
    """Validation accuracy (percent), in the run's training arithmetic."""
    pred = predict(model, data, device=device, precision=precision)
    return float((torch.as_tensor(pred) == data.tensors["labels"]).float().mean() * 100)
