"""Training strategies as schedules of phases, and the engine that runs them (paper Sec. 2.3).

A schedule is a sequence of phases; each phase has a kind and its own optimizer (parameters change
identity when the quantizer attaches or detaches, so every phase starts a fresh optimizer):

- ``finetune``: CE on a float model (or the model's own ``training_loss``), for baselines;
- ``distill``: Eq. 3 on float weights (gamma = 1 in Eq. 6);
- ``quantize``: weights on k-means codebooks, CE trains the centroids (Eq. 4-5, gamma = 0); the
  phase starts by re-clustering the current float weights, warm-started from the last codebooks.

MCT alternates distill and quantize phases and ends with a final quantization phase whose
codebooks stay attached (the deployable model). The final phase is ``frozen``: the cluster
assignments of the last quantization phase are kept (``CodebookQuantizer.freeze``; no
re-clustering) and only the centroids train; every other parameter (biases, norms) stays fixed,
so the phase fine-tunes exactly the numbers the deployed file stores per codebook.

``Budget`` states the equal-budget rule every strategy follows: the same distillation epochs for
Distillation, Quantization after Distillation and MCT, and the same quantization epochs for QaD
and MCT, so two strategies differ only in the order of their phases. The engine checkpoints after every epoch (an
interrupted run resumes exactly) and, optionally, stores the state at every phase boundary in a
prefix cache keyed by everything that determines it, so schedules sharing a prefix (e.g. every
strategy starts with the same distillation phase) compute it once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from quads.distill import DistillConfig, FeatureProjector, distillation_loss
from quads.quantize import CodebookQuantizer, QuantConfig
from quads.train import (
    OptimConfig,
    TensorData,
    cross_entropy_loss,
    load_checkpoint,
    make_optimizer,
    predict,
    save_checkpoint,
    train_epoch,
)

PHASE_KINDS = ("finetune", "distill", "quantize")


@dataclass(frozen=True)
class Phase:
    kind: str  # one of PHASE_KINDS
    epochs: int
    optim: OptimConfig = OptimConfig()
    stage: str | None = None  # passed to model.set_stage() (e.g. Prosody + Distillation)
    frozen: bool = False  # quantize only: keep the assignments, train only the centroids

    def __post_init__(self) -> None:
        if self.kind not in PHASE_KINDS:
            raise ValueError(f"unknown phase kind {self.kind!r}; known: {', '.join(PHASE_KINDS)}")
        if self.epochs < 1:
            raise ValueError(f"phase epochs must be >= 1, got {self.epochs}")
        if self.frozen and self.kind != "quantize":
            raise ValueError(f"frozen=True needs a quantize phase, not {self.kind!r}")


@dataclass(frozen=True)
class Schedule:
    name: str
    phases: tuple[Phase, ...]
    bits: int | None = None  # codebook bits of the quantize phases (None: no quantization)

    def __post_init__(self) -> None:
        quant = any(p.kind == "quantize" for p in self.phases)
        if quant and self.bits is None:
            raise ValueError(f"schedule {self.name!r} quantizes but has no bits")
        if not self.phases:
            raise ValueError(f"schedule {self.name!r} has no phases")

    @property
    def quantized(self) -> bool:
        return self.phases[-1].kind == "quantize"

    @property
    def epochs(self) -> int:
        return sum(p.epochs for p in self.phases)

    def epochs_of(self, kind: str) -> int:
        return sum(p.epochs for p in self.phases if p.kind == kind)

    @property
    def budget(self) -> str:
        """Epochs per phase kind, e.g. "D4 + Q3" (distill / quantize) or "FT3" (fine-tune)."""
        return budget_label([asdict(p) for p in self.phases])


def budget_label(phases: list[dict]) -> str:
    """ "D4 + Q3" from phases as stored in result files (``asdict(Phase)``)."""
    letters = {"finetune": "FT", "distill": "D", "quantize": "Q"}
    totals: dict[str, int] = {}
    for p in phases:
        totals[p["kind"]] = totals.get(p["kind"], 0) + int(p["epochs"])
    return " + ".join(f"{letters[k]}{n}" for k, n in totals.items())


# --- the strategies of Table 2 ----------------------------------------------------------------

# The authors' code: Adam 1e-5 encoder / 1e-3 head while distilling; SGD 0.01, momentum 0.9,
# cosine, while quantizing (DESIGN.md "The authors' code").
DISTILL_OPTIM = OptimConfig("adam", lr_encoder=1e-5, lr_head=1e-3)
QUANT_OPTIM = OptimConfig("sgd", lr_encoder=0.01, lr_head=0.01, momentum=0.9, cosine=True)


def finetune(epochs: int, optim: OptimConfig = DISTILL_OPTIM) -> Schedule:
    return Schedule("finetune", (Phase("finetune", epochs, optim),))


def distillation_only(first: int, rest: int = 0, optim: OptimConfig = DISTILL_OPTIM) -> Schedule:
    """Distillation for ``first + rest`` epochs; the split lets MCT share the first phase."""
    phases = [Phase("distill", first, optim)] + ([Phase("distill", rest, optim)] if rest else [])
    return Schedule("Distillation", tuple(phases))


def quantization_after_distillation(
    bits: int,
    first: int,
    rest: int,
    quant_epochs: int,
    optim_d: OptimConfig = DISTILL_OPTIM,
    optim_q: OptimConfig = QUANT_OPTIM,
) -> Schedule:
    """All distillation first (the Distillation schedule), then one quantization phase."""
    d = distillation_only(first, rest, optim_d).phases
    return Schedule(
        "Quantization after Distillation", d + (Phase("quantize", quant_epochs, optim_q),), bits
    )


def mct(
    bits: int,
    iterations: int,
    distill_epochs: int,
    quant_epochs: int,
    final_epochs: int,
    optim_d: OptimConfig = DISTILL_OPTIM,
    optim_q: OptimConfig = QUANT_OPTIM,
) -> Schedule:
    """Eq. 6: ``iterations`` x (distill, quantize), then a final quantization phase.

    The paper alternates for five iterations; the number of epochs per phase is not given.
    """
    if iterations < 1:
        raise ValueError(f"MCT iterations must be >= 1, got {iterations}")
    phases: list[Phase] = []
    for _ in range(iterations):
        phases += [
            Phase("distill", distill_epochs, optim_d),
            Phase("quantize", quant_epochs, optim_q),
        ]
    phases.append(Phase("quantize", final_epochs, optim_q, frozen=True))
    return Schedule("MCT", tuple(phases), bits)


@dataclass(frozen=True)
class Budget:
    """The equal-budget rule: every strategy distills for ``distill_epochs`` (D) in all; QaD and
    MCT quantize for the same ``quant_epochs`` (Q = iterations x quant_per_iteration + final).

    Distillation: D(D/n), D(D - D/n). QaD: the same, then Q(Q). MCT: n x (D(D/n), Q(q)), then the
    frozen final phase Q(f). All three share their first phase D(D/n) (computed once).
    """

    distill_epochs: int  # D
    mct_iterations: int  # n >= 2 alternations, so MCT alternates
    quant_per_iteration: int  # q: epochs of each intermediate quantization phase
    final_epochs: int  # f: epochs of MCT's frozen final quantization phase
    distill_optim: OptimConfig = DISTILL_OPTIM
    quant_optim: OptimConfig = QUANT_OPTIM

    def __post_init__(self) -> None:
        if self.mct_iterations < 2:
            raise ValueError(f"mct_iterations must be >= 2 to alternate, got {self.mct_iterations}")
        if self.distill_epochs % self.mct_iterations:
            raise ValueError(
                f"distill_epochs={self.distill_epochs} must split evenly over "
                f"mct_iterations={self.mct_iterations}"
            )
        if min(self.quant_per_iteration, self.final_epochs) < 1:
            raise ValueError("quant_per_iteration and final_epochs must be >= 1")

    @property
    def quant_epochs(self) -> int:
        return self.mct_iterations * self.quant_per_iteration + self.final_epochs

    @property
    def first_epochs(self) -> int:
        return self.distill_epochs // self.mct_iterations

    def distillation(self) -> Schedule:
        return distillation_only(
            self.first_epochs, self.distill_epochs - self.first_epochs, self.distill_optim
        )

    def quantization_after_distillation(self, bits: int) -> Schedule:
        return quantization_after_distillation(
            bits,
            self.first_epochs,
            self.distill_epochs - self.first_epochs,
            self.quant_epochs,
            self.distill_optim,
            self.quant_optim,
        )

    def mct(self, bits: int) -> Schedule:
        return mct(
            bits,
            self.mct_iterations,
            self.first_epochs,
            self.quant_per_iteration,
            self.final_epochs,
            self.distill_optim,
            self.quant_optim,
        )


def authors_mct(bits: int = 8) -> Schedule:
    """The authors' 20 epochs: distill in epochs 1-3 and 7-12, quantize in all others."""
    d, q = DISTILL_OPTIM, QUANT_OPTIM
    phases = (
        Phase("distill", 3, d),
        Phase("quantize", 3, q),
        Phase("distill", 6, d),
        Phase("quantize", 8, q),
    )
    return Schedule("MCT (authors)", phases, bits)


# --- the engine -----------------------------------------------------------------------------


@dataclass
class Outcome:
    model: nn.Module  # quantizer attached iff the schedule ends quantized
    quantizer: CodebookQuantizer | None
    best_valid_accuracy: float
    best_epoch: int  # 1-based, over the whole schedule
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: str | None = None  # "checkpoint" | "prefix cache" | None


def _phase_key(identity: str, schedule: Schedule, n_phases: int, seed: int) -> str:
    payload = json.dumps(
        {
            "identity": identity,
            "bits": schedule.bits
            if any(p.kind == "quantize" for p in schedule.phases[:n_phases])
            else None,
            "phases": [asdict(p) for p in schedule.phases[:n_phases]],
            "seed": seed,
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
) -> Outcome:
    """Run (or resume) ``schedule`` on ``model`` and return the best-on-valid final-phase model.

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
    if schedule.bits is not None:
        quantizer = CodebookQuantizer(model, QuantConfig(bits=schedule.bits))
    if any(p.kind == "distill" for p in schedule.phases) and projector is None:
        raise ValueError(f"schedule {schedule.name!r} distills but no projector was given")
    modules = {"model": model} | ({"projector": projector} if projector is not None else {})
    state = _State()
    resumed = None

    def snapshot() -> dict[str, object]:
        return {
            "phase": state.phase,
            "epoch": state.epoch,
            "best": state.best,
            "history": state.history,
            "attached": quantizer.attached if quantizer else False,
            "quantizer": quantizer.state_dict() if quantizer else None,
            "modules": {k: m.state_dict() for k, m in modules.items()},
        }

    def restore(saved: dict[str, object]) -> None:
        if quantizer is not None and saved["quantizer"] is not None:
            quantizer.load_state_dict(saved["quantizer"])
        for k, m in modules.items():
            m.load_state_dict(saved["modules"][k])
        state.phase, state.epoch = saved["phase"], saved["epoch"]
        state.best, state.history = saved["best"], list(saved["history"])

    run_key = _phase_key(identity, schedule, len(schedule.phases), seed)
    saved = load_checkpoint(checkpoint) if checkpoint else None
    if saved is not None and saved.get("run_key") != run_key:
        log(f"{desc}: ignoring {checkpoint}: it was made by another configuration or schedule")
        saved = None
    if saved is not None:
        restore(saved)
        resumed = "checkpoint"
        log(f"{desc}: resumed at phase {state.phase + 1}, epoch {state.epoch}")
    elif prefix_cache is not None:
        for n in range(len(schedule.phases), 0, -1):
            cached = load_checkpoint(prefix_cache / f"{_phase_key(identity, schedule, n, seed)}.pt")
            if cached is not None:
                restore(cached)
                resumed = "prefix cache"
                log(f"{desc}: reused {n} finished phase(s) from the prefix cache")
                break

    epoch_offset = sum(p.epochs for p in schedule.phases[: state.phase])
    while state.phase < len(schedule.phases):
        phase = schedule.phases[state.phase]
        last = state.phase == len(schedule.phases) - 1
        if last and state.epoch == 0:
            state.best = None  # the model is chosen among the final phase's epochs only
        if phase.stage is not None:
            model.set_stage(phase.stage)
        if phase.frozen:
            quantizer.freeze()
        if phase.kind == "quantize" and not quantizer.attached:
            quantizer.attach(warm_start=True)
        elif phase.kind != "quantize" and quantizer is not None and quantizer.attached:
            quantizer.detach()
        loss_fn = (
            distillation_loss(projector, distill) if phase.kind == "distill" else cross_entropy_loss
        )
        params = list(model.named_parameters())
        if phase.frozen:  # the final phase trains the codebooks only
            params = [(n, p) for n, p in params if n.endswith("weight_centroids")]
        if phase.kind == "distill":
            params += [(f"projector.{n}", p) for n, p in projector.named_parameters()]
        steps = phase.epochs * -(-len(train) // batch_size)
        optimizer, scheduler = make_optimizer(params, phase.optim, steps)
        if state.epoch and saved is not None and saved.get("optimizer") is not None:
            optimizer.load_state_dict(saved["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(saved["scheduler"])
        while state.epoch < phase.epochs:
            global_epoch = epoch_offset + state.epoch + 1
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
            )
            acc = _accuracy(model, valid, device, precision)
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
            if last and (state.best is None or acc > state.best[0]):
                best = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                state.best = (acc, global_epoch, best)
            if checkpoint is not None:
                snap = snapshot()
                snap["run_key"] = run_key
                snap["optimizer"] = optimizer.state_dict()
                snap["scheduler"] = scheduler.state_dict() if scheduler is not None else None
                save_checkpoint(checkpoint, snap)
        saved = None
        epoch_offset += phase.epochs
        state.phase += 1
        state.epoch = 0
        if prefix_cache is not None:
            save_checkpoint(
                prefix_cache / f"{_phase_key(identity, schedule, state.phase, seed)}.pt", snapshot()
            )
    best_acc, best_epoch, best_state = state.best
    model.load_state_dict(best_state)
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return Outcome(model, quantizer, best_acc, best_epoch, state.history, resumed)


def _accuracy(
    model: nn.Module, data: TensorData, device: torch.device | str = "cpu", precision: str = "fp32"
) -> float:
    """Validation accuracy (percent), in the run's training arithmetic."""
    pred = predict(model, data, device=device, precision=precision)
    return float((torch.as_tensor(pred) == data.tensors["labels"]).float().mean() * 100)
