"""Training strategies as schedules of phases (paper Sec. 2.3); ``quads.engine`` runs them.

A schedule is a sequence of phases; each phase has a kind and its own optimizer (parameters change
identity when the quantizer attaches or detaches, so every phase starts a fresh optimizer):

- ``finetune``: CE on a float model (or the model's own ``training_loss``), for baselines;
- ``distill``: Eq. 3 on float weights (gamma = 1 in Eq. 6);
- ``quantize``: weights on k-means codebooks, CE trains the centroids (Eq. 4-5, gamma = 0); the
  phase starts by re-clustering the current float weights, warm-started from the last codebooks.

MCT alternates distill and quantize phases and ends with a final quantization phase whose
codebooks stay attached (the deployable model). The final phase is ``frozen``: it follows a
quantization phase without re-clustering, so that phase's cluster assignments are kept, and only
the centroids train; every other parameter (biases, norms) stays fixed, so the phase fine-tunes
exactly the numbers the deployed file stores per codebook. (The engine also calls
``CodebookQuantizer.freeze``, which matters only for a frozen phase after a float phase: its
attach then keeps the last assignments instead of re-clustering.)

``Budget`` states the equal-budget rule every strategy follows: the same distillation epochs for
Distillation, Quantization after Distillation and MCT, and the same quantization epochs for QaD
and MCT, so two strategies differ only in the order of their phases.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from quads.train import (
    OptimConfig,
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
# cosine, while quantizing (github BASHLab/QUADS, train.py).
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

    def mct_float(self) -> Schedule:
        """MCT's float twin: the same phases and epochs, each quantization phase replaced by CE
        fine-tuning of the float weights (Eq. 5 without codebooks). The 32-bit row and the
        student the PTQ control quantizes, so they differ from MCT only in quantization."""
        phases = tuple(
            Phase("finetune", p.epochs, p.optim) if p.kind == "quantize" else p
            for p in self.mct(2).phases
        )
        return Schedule("MCT (float)", phases)

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
