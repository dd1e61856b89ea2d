"""A small, seeded training loop over in-memory tensors, shared by every training strategy.

Features are cached tensors (log-mel (N, 80, T), optional teacher features (N, D_t), prosody
(N, 6, T)), so an epoch is a shuffled walk over slices: no DataLoader workers, deterministic given
the seed and the epoch number (which also makes resuming exact).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from quads.atomic import atomic_write

Batch = dict[str, torch.Tensor]
# (model, batch) -> (loss, logits (B, C))
LossFn = Callable[[nn.Module, Batch], tuple[torch.Tensor, torch.Tensor]]

OPTIMIZERS = ("adam", "adamw", "sgd")
# Arithmetic of training steps. "bf16": torch.autocast to bfloat16 (weights, optimizer state and
# gradients stay float32); "auto": bf16 where the hardware has native bf16 matmuls (CPUs with
# AVX512-BF16 or AMX, CUDA GPUs that support it), else fp32. Evaluation always runs in fp32.
PRECISIONS = ("fp32", "bf16", "auto")


@dataclass(frozen=True)
class TensorData:
    """Aligned tensors with a leading example dimension; ``labels`` (N,) int64 is required."""

    tensors: Mapping[str, torch.Tensor]

    def __post_init__(self) -> None:
        if "labels" not in self.tensors:
            raise ValueError("TensorData needs a 'labels' tensor")
        sizes = {k: v.shape[0] for k, v in self.tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"TensorData tensors differ in length: {sizes}")

    def __len__(self) -> int:
        return int(self.tensors["labels"].shape[0])

    def batches(self, batch_size: int, order: torch.Tensor | None = None) -> Iterator[Batch]:
        idx = torch.arange(len(self)) if order is None else order
        for start in range(0, len(self), batch_size):
            sel = idx[start : start + batch_size]
            yield {k: v[sel] for k, v in self.tensors.items()}


@dataclass(frozen=True)
class OptimConfig:
    name: str = "adam"  # "adam" | "adamw" | "sgd"
    lr_encoder: float = 1e-5  # the authors' code; the paper's text says 1e-6
    lr_head: float = 1e-3  # paper and code
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    cosine: bool = False  # cosine decay over the phase (the authors' quantization epochs)

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.name!r}; known: {', '.join(OPTIMIZERS)}")


def model_inputs(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
    """The keyword inputs a model declares (``model.inputs``, default ``("mel",)``)."""
    return {name: batch[name] for name in getattr(model, "inputs", ("mel",))}


def cross_entropy_loss(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain fine-tuning: CE on the model's logits, or the model's own objective if it has one."""
    if hasattr(model, "training_loss"):
        return model.training_loss(batch["labels"], **model_inputs(model, batch))
    logits = model(**model_inputs(model, batch))
    return F.cross_entropy(logits, batch["labels"]), logits


def make_optimizer(
    params: list[tuple[str, nn.Parameter]],
    config: OptimConfig,
    steps: int,
    encoder_prefixes: tuple[str, ...] = ("encoder.",),
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
    """Two parameter groups: the (pretrained) encoder at ``lr_encoder``, everything added on top
    of it (heads, projections, prosody branches, LSTMs) at ``lr_head``."""
    enc = [p for n, p in params if p.requires_grad and n.startswith(encoder_prefixes)]
    rest = [p for n, p in params if p.requires_grad and not n.startswith(encoder_prefixes)]
    groups = [
        g
        for g in ({"params": enc, "lr": config.lr_encoder}, {"params": rest, "lr": config.lr_head})
        if g["params"]
    ]
    if config.name == "sgd":
        opt = torch.optim.SGD(groups, momentum=config.momentum, weight_decay=config.weight_decay)
    elif config.name == "adamw":
        opt = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(groups, weight_decay=config.weight_decay)
    sched = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1)) if config.cosine else None
    )
    return opt, sched


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of one epoch: a pure function of (seed, epoch), so a resumed run matches."""
    gen = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def train_epoch(
    model: nn.Module,
    data: TensorData,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None,
    batch_size: int,
    seed: int,
    epoch: int,
    desc: str = "train",
    device: torch.device | str = "cpu",
    precision: str = "fp32",
    after_step: Callable[[], None] | None = None,
) -> float:
    """One pass over ``data`` in the epoch's shuffled order; returns the mean loss.

    Batches are sliced on the CPU and moved to ``device``. ``precision`` "bf16" runs the forward
    pass and loss under bfloat16 autocast (see ``PRECISIONS``). ``after_step`` runs after every
    optimizer step (e.g. the authors' cluster-mean projection, ``quads.cluster_mean``)."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16' here, got {precision!r}")
    device_type = torch.device(device).type
    model.train()
    total, count = 0.0, 0
    bar = tqdm(
        data.batches(batch_size, epoch_order(len(data), seed, epoch)),
        total=math.ceil(len(data) / batch_size),
        desc=desc,
        unit="batch",
        leave=False,
    )
    for batch in bar:
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss, _ = loss_fn(model, batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: loss became {loss.item()} at epoch {epoch}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        if scheduler is not None:
            scheduler.step()
        n = batch["labels"].shape[0]
        total += loss.item() * n
        count += n
        bar.set_postfix(loss=f"{total / count:.3f}")
    return total / max(count, 1)


@torch.no_grad()
def predict(
    model: nn.Module,
    data: TensorData,
    batch_size: int = 32,
    device: torch.device | str = "cpu",
    precision: str = "fp32",
) -> np.ndarray:
    """Predicted class ids (N,). ``precision`` "bf16" runs under bfloat16 autocast (the
    validation passes of a bf16-trained run); test predictions use fp32."""
    model.eval()
    out = []
    device_type = torch.device(device).type
    for b in data.batches(batch_size):
        inputs = {k: v.to(device) for k, v in model_inputs(model, b).items()}
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            out.append(model(**inputs).argmax(-1).cpu())
    if not out:
        raise ValueError("predict: the data has no rows (an empty split); nothing to predict")
    return torch.cat(out).numpy()


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` has native bf16 matmuls (autocast to bf16 then pays off)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(name: str, device: torch.device) -> str:
    """ "fp32" | "bf16" for a ``PRECISIONS`` name on ``device``."""
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; known: {', '.join(PRECISIONS)}")
    if name == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return name


def pick_device(name: str = "auto") -> torch.device:
    """ "auto": the first CUDA GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def save_checkpoint(path: Path, state: dict[str, object]) -> None:
    """torch.save, atomically (``quads.atomic.atomic_write``): never a half-written file."""
    with atomic_write(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, object] | None:
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)
