"""Post-training quantization studies of one float student, inference only (no retraining).

``quantized(model, bits)`` puts the named tensors on k-means codebooks for the span of a ``with``
block and gives the float weights back afterwards, so one loaded student serves every trial:

* ``scan``: each covered tensor alone at 2 bits; macro-F1 on the validation split (the drop
  against the float student is its sensitivity, and selection uses it alone; the test split is
  not scored per tensor, which halves the scan: 27 tensors x 6 students in the `cpu` profile).
* ``measure``: one assignment (uniform or mixed) exported with ``quads.export.save_quantized``,
  its measured file size, and its valid / test predictions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from benchmark.metrics import macro_f1
from quads.export import measured_size_bytes, save_quantized
from quads.mixed import attach_mixed
from quads.quantize import CodebookQuantizer, QuantConfig
from quads.train import TensorData, predict


@dataclass(frozen=True)
class Splits:
    """The validation and test data of one dataset, with their labels (N,)."""

    valid: TensorData
    test: TensorData

    def truth(self, split: str) -> np.ndarray:
        return getattr(self, split).tensors["labels"].numpy()


def covered_names(model: nn.Module, base: QuantConfig | None = None) -> tuple[str, ...]:
    """The tensors PTQ and MCT put on codebooks (``QuantConfig``'s default coverage)."""
    return CodebookQuantizer(model, base or QuantConfig(bits=2)).names


@contextmanager
def quantized(model: nn.Module, bits_by_name: Mapping[str, int]) -> Iterator[tuple]:
    """``attach_mixed`` inside the block; afterwards every covered weight is its float value
    again (bit-identical to before), so trials do not accumulate."""
    modules = dict(model.named_modules())
    saved = {name: modules[name.rsplit(".", 1)[0]].weight.detach().clone() for name in bits_by_name}
    quantizers = attach_mixed(model, bits_by_name)
    try:
        yield quantizers
    finally:
        with torch.no_grad():
            for q in quantizers:
                q.detach()
            for name, w in saved.items():
                modules[name.rsplit(".", 1)[0]].weight.copy_(w)


def f1_of(model: nn.Module, splits: Splits, device) -> dict[str, object]:
    """{"valid_f1", "test_f1" (percent), "test_pred" [ids]} of the model as it is now."""
    out: dict[str, object] = {}
    for split in ("valid", "test"):
        pred = predict(model, getattr(splits, split), device=device)
        out[f"{split}_f1"] = macro_f1(splits.truth(split), pred)
        if split == "test":
            out["test_pred"] = [int(x) for x in pred]
    return out


def scan(
    model: nn.Module, splits: Splits, device, bits: int = 2, desc: str = "scan"
) -> list[dict[str, object]]:
    """One row per covered tensor: {"tensor", "numel", "valid_f1"} with that tensor alone
    k-means-quantized to ``bits`` and every other weight float."""
    modules = dict(model.named_modules())
    truth = splits.truth("valid")
    rows = []
    for name in tqdm(covered_names(model), desc=desc, unit="tensor", leave=False):
        with quantized(model, {name: bits}):
            pred = predict(model, splits.valid, device=device)
        numel = modules[name.rsplit(".", 1)[0]].weight.numel()
        rows.append({"tensor": name, "numel": numel, "valid_f1": macro_f1(truth, pred)})
    return rows


def measure(
    model: nn.Module,
    bits_by_name: Mapping[str, int],
    splits: Splits,
    device,
    path: Path,
    model_config: dict,
    skip: tuple[str, ...],
) -> dict[str, object]:
    """PTQ of the model under ``bits_by_name``: exported to ``path`` (its measured bytes in
    "size_bytes") and scored ({"valid_f1", "test_f1", "test_pred"})."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with quantized(model, bits_by_name) as quantizers:
        save_quantized(model, quantizers, path, model_config=model_config, skip=skip)
        out = f1_of(model, splits, device)
    return {"size_bytes": measured_size_bytes(path), **out}
