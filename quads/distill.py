"""Feature distillation (paper Sec. 2.1, Eq. 1-3): L_dis = alpha * L1 + (1 - alpha) * CE, or with
explicit weights l1_weight * L1 + ce_weight * CE (the authors' code: 1e-6 * L1 + CE).

The teacher is frozen, so its pooled features are computed once per utterance and cached; the
training loop only sees them as a tensor ``teacher`` (B, D_t) in each batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from quads.train import Batch, model_inputs

PROJECTIONS = ("linear", "maxpool")


@dataclass(frozen=True)
class DistillConfig:
    """alpha weighs feature alignment against cross entropy (Eq. 3).

    projection: "linear" (default) maps the student's pooled features (B, D_s) to the teacher's
    width with a learned Linear(D_s, D_t), trained alongside and dropped at inference; "maxpool"
    follows the authors' code, which instead shrinks the teacher's features to the student's
    width with a parameter-free max-pool (their MaxPool1d(3, stride 2, dilation 128) maps 1280
    to 512; we use an adaptive max-pool so any pair of widths works).

    l1_weight, ce_weight: explicit weights of the two terms, given together; they replace
    alpha's convex combination (the authors' code weighs them 1e-6 and 1: ``AUTHORS_LOSS``).
    """

    alpha: float = 0.5
    projection: str = "linear"
    l1_weight: float | None = None
    ce_weight: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if (self.l1_weight is None) != (self.ce_weight is None):
            raise ValueError("give l1_weight and ce_weight together (or neither, to use alpha)")
        if self.l1_weight is not None and min(self.l1_weight, self.ce_weight) < 0:
            raise ValueError(
                f"l1_weight={self.l1_weight} and ce_weight={self.ce_weight} must be >= 0"
            )
        if self.projection not in PROJECTIONS:
            raise ValueError(
                f"unknown projection {self.projection!r}; known: {', '.join(PROJECTIONS)}"
            )

    @property
    def weights(self) -> tuple[float, float]:
        """(weight of L1, weight of CE)."""
        if self.l1_weight is not None:
            return self.l1_weight, self.ce_weight
        return self.alpha, 1 - self.alpha


# the authors' distillation loss (github BASHLab/QUADS, train.py): 1e-6 * L1 + CE
AUTHORS_LOSS = DistillConfig(l1_weight=1e-6, ce_weight=1.0)


class FeatureProjector(nn.Module):
    """Aligns student features (B, D_s) with teacher features (B, D_t) for the L1 term."""

    def __init__(self, student_dim: int, teacher_dim: int, projection: str = "linear") -> None:
        super().__init__()
        self.projection = projection
        self.teacher_dim = teacher_dim
        self.student_dim = student_dim
        self.proj = nn.Linear(student_dim, teacher_dim) if projection == "linear" else None

    def forward(
        self, student: torch.Tensor, teacher: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (student, teacher) features of a common width."""
        if self.proj is not None:
            return self.proj(student), teacher
        pooled = F.adaptive_max_pool1d(teacher.unsqueeze(1), self.student_dim).squeeze(1)
        return student, pooled

    def extra_repr(self) -> str:
        return f"{self.student_dim} -> {self.teacher_dim}, projection={self.projection}"


def l1_alignment(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Eq. 1, ||z_teacher - z_student||_1 per utterance, averaged over the batch and the feature
    width (the mean keeps alpha meaningful across teacher widths). (B, D), (B, D) -> scalar."""
    return (teacher - student).abs().mean()


def distillation_loss(
    projector: FeatureProjector, config: DistillConfig
) -> Callable[[nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]:
    """A training-loop loss (model, batch) -> (loss, logits) for Eq. 3.

    The batch must carry ``teacher`` (B, D_t): the frozen teacher's cached pooled features.
    """
    w_l1, w_ce = config.weights

    def loss_fn(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if "teacher" not in batch:
            raise KeyError("distillation needs cached teacher features under 'teacher'")
        feats = model.features(**model_inputs(model, batch))  # (B, D_s)
        logits = model.head(feats)  # (B, C)
        student, teacher = projector(feats, batch["teacher"])
        ce = F.cross_entropy(logits, batch["labels"])
        return w_l1 * l1_alignment(student, teacher) + w_ce * ce, logits

    return loss_fn


@torch.no_grad()
def teacher_features(
    teacher: nn.Module,
    mel: torch.Tensor,
    batch_size: int = 16,
    progress: bool = True,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Pooled features of a frozen teacher for every utterance: (N, 80, T) -> (N, D_t) on the CPU.

    ``mel`` may be any indexable (N, 80, T) store (e.g. a memory-mapped ``LazyMel``); batches are
    moved to ``device``, where the teacher runs."""
    from tqdm import tqdm

    teacher.eval().to(device)
    out = []
    starts = range(0, mel.shape[0], batch_size)
    for s in tqdm(starts, desc="teacher features", unit="batch", disable=not progress, leave=False):
        out.append(teacher.features(mel=mel[s : s + batch_size].to(device)).cpu())
    return torch.cat(out)
