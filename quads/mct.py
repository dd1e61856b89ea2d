"""Training strategies as schedules of phases (paper Sec. 2.3); ``quads.engine`` runs them.

A schedule is a sequence of phases; each phase has a kind and its own optimizer (parameters change
identity when the quantizer attaches or detaches, so every phase starts a fresh optimizer):

- ``finetune``: CE on a float model (or the model's own ``training_loss``), for baselines;
- ``distill``: Eq. 3 on float weights (gamma = 1 in Eq. 6);
- ``quantize``: weights on k-means codebooks, CE trains the centroids (Eq. 4-5, gamma = 0); the
  phase starts by re-clustering the current float weights, warm-started from the last codebooks.

- ``authors-distill`` and ``authors-quantize``: the authors' recipe (github BASHLab/QUADS,
  train.py; ``quads.cluster_mean``). Before its first phase the engine runs one k-means per
  covered weight and snaps every weight to its centroid; the labels are never recomputed.
  ``authors-distill`` trains float weights on 1e-6 * L1 + CE (``quads.distill.AUTHORS_LOSS``);
  ``authors-quantize`` trains on CE with a fresh optimizer every epoch, a cosine rate of period
  ``AUTHORS_COSINE_T_MAX`` steps, and after every step resets each centroid to its cluster's mean
  and every weight to its centroid. A schedule uses either these kinds or the others, not both.

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

PHASE_KINDS = ("finetune", "distill", "quantize", "authors-distill", "authors-quantize")
AUTHORS_KINDS = ("authors-distill", "authors-quantize")
DISTILL_KINDS = ("distill", "authors-distill")  # phases that need a projector and teacher features
QUANTIZE_KINDS = ("quantize", "authors-quantize")
# the authors' quantization epochs: CosineAnnealingLR(T_max=3) stepped after every batch, so the
# rate falls to 0 in 3 steps and is back at its start after 6 (github BASHLab/QUADS, train.py)
AUTHORS_COSINE_T_MAX = 3


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


# Which epochs the engine chooses the delivered model from (by validation accuracy):
# "final": the final phase's (a quantized row delivers a model of its final phase);
# "all": every epoch, for a float model whose phases only mirror another schedule's (MCT's float
# twin), so that its best epoch is not lost to the phase structure (early stopping)
SELECTIONS = ("final", "all")


@dataclass(frozen=True)
class Schedule:
    name: str
    phases: tuple[Phase, ...]
    bits: int | None = None  # codebook bits of the quantize phases (None: no quantization)
    select: str = SELECTIONS[0]  # one of SELECTIONS

    def __post_init__(self) -> None:
        if self.select not in SELECTIONS:
            raise ValueError(f"select must be one of {SELECTIONS}, got {self.select!r}")
        if self.select == "all" and any(
            p.kind in QUANTIZE_KINDS + AUTHORS_KINDS for p in self.phases
        ):
            raise ValueError(
                f"schedule {self.name!r}: select='all' is for float schedules; a quantized row "
                "delivers a model of its final phase"
            )
        quant = any(p.kind in QUANTIZE_KINDS for p in self.phases)
        if quant and self.bits is None:
            raise ValueError(f"schedule {self.name!r} quantizes but has no bits")
        if not self.phases:
            raise ValueError(f"schedule {self.name!r} has no phases")
        authors = {p.kind in AUTHORS_KINDS for p in self.phases}
        if len(authors) > 1:
            raise ValueError(
                f"schedule {self.name!r} mixes the authors' phase kinds ({', '.join(AUTHORS_KINDS)})"
                " with others; use one family"
            )
        if True in authors and self.bits is None:
            raise ValueError(
                f"schedule {self.name!r} uses the authors' fixed labels but has no bits"
            )

    @property
    def select_entry(self) -> dict[str, str]:
        """``{"select": ...}`` unless the default ("final"), for the stored configuration and the
        engine's checkpoint / prefix keys: every schedule that keeps the default keeps the keys
        and configurations it had before the field existed."""
        return {} if self.select == SELECTIONS[0] else {"select": self.select}

    @property
    def quantized(self) -> bool:
        return self.phases[-1].kind in QUANTIZE_KINDS

    @property
    def distills(self) -> bool:
        """Some phase distills (needs teacher features and a projector)."""
        return any(p.kind in DISTILL_KINDS for p in self.phases)

    @property
    def authors(self) -> bool:
        """The authors' recipe: fixed labels from one k-means before the first phase."""
        return self.phases[0].kind in AUTHORS_KINDS

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
    letters |= {"authors-distill": "D", "authors-quantize": "Q"}
    totals: dict[str, int] = {}
    for p in phases:
        letter = letters[p["kind"]]
        totals[letter] = totals.get(letter, 0) + int(p["epochs"])
    return " + ".join(f"{k}{n}" for k, n in totals.items())


# --- the strategies of Table 2 ----------------------------------------------------------------

# The authors' code: Adam 1e-5 encoder / 1e-3 head while distilling; SGD 0.01, momentum 0.9,
# cosine, while quantizing (github BASHLab/QUADS, train.py).
DISTILL_OPTIM = OptimConfig("adam", lr_encoder=1e-5, lr_head=1e-3)
QUANT_OPTIM = OptimConfig("sgd", lr_encoder=0.01, lr_head=0.01, momentum=0.9, cosine=True)


AUTHORS_SCHEDULE = "MCT (authors' recipe)"


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
        student the PTQ control quantizes, so they differ from MCT only in quantization. Its
        model is its best validation epoch over all phases (``select="all"``): its phases only
        mirror MCT's, and a float student is early-stopped before it is quantized."""
        phases = tuple(
            Phase("finetune", p.epochs, p.optim) if p.kind == "quantize" else p
            for p in self.mct(2).phases
        )
        return Schedule("MCT (float)", phases, select="all")

    def authors_mct(self, bits: int) -> Schedule:
        """The authors' recipe (``authors_mct``) scaled to this budget.

        The authors' 20 epochs are D3 Q3 D6 Q8 (distill 1-3, quantize 4-6, distill 7-12, quantize
        13-20). Scaled so the equal-budget rule holds: D distillation epochs in all (as every
        strategy) and Q quantization epochs in all (as QaD and MCT), split in the authors'
        proportions: D1 = max(1, round(D/3)), D2 = D - D1, Q1 = max(1, round(3Q/11)), Q2 = Q - Q1
        (D = 9, Q = 11 gives D3 Q3 D6 Q8 exactly; 3Q/11 and D/3 never end in .5). The optimizers
        are the authors' (Adam 1e-5 / 1e-3, SGD 0.01 momentum 0.9), not the budget's.
        """
        return authors_mct(bits, self.distill_epochs, self.quant_epochs)

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


def authors_mct(bits: int, distill_epochs: int = 9, quant_epochs: int = 11) -> Schedule:
    """The authors' recipe: D1 Q1 D2 Q2 with D1 = max(1, round(D/3)), Q1 = max(1, round(3Q/11))
    (see ``Budget.authors_mct``); the defaults give their 20 epochs, D3 Q3 D6 Q8."""
    if distill_epochs < 2 or quant_epochs < 2:
        raise ValueError(
            f"the authors' recipe needs >= 2 distillation and >= 2 quantization epochs (two of "
            f"each phase), got distill_epochs={distill_epochs}, quant_epochs={quant_epochs}"
        )
    d1 = max(1, round(distill_epochs / 3))
    q1 = max(1, round(3 * quant_epochs / 11))
    d, q = DISTILL_OPTIM, QUANT_OPTIM
    phases = (
        Phase("authors-distill", d1, d),
        Phase("authors-quantize", q1, q),
        Phase("authors-distill", distill_epochs - d1, d),
        Phase("authors-quantize", quant_epochs - q1, q),
    )
    return Schedule(AUTHORS_SCHEDULE, phases, bits)
