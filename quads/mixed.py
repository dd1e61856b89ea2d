"""Per-tensor bit widths (mixed precision): one ``CodebookQuantizer`` per bit width.

``attach_mixed(model, {"encoder.layers.0.fc1.weight": 8, ...})`` puts each named weight on a
k-means codebook of its own bit width (``QuantConfig.include`` restricts each quantizer to its
tensors) and returns the quantizers; ``quads.export.save_quantized`` stores them together (each
tensor's entry then records its bits). Tensors left out of the mapping stay float.

``tensor_costs`` gives what the packed file pays per covered tensor and bit width: packed indices
``ceil(n b / 8)`` bytes + ``min(2**b, n)`` float32 centroids (4 bytes each: post-training
k-means centroids are not fp16-exact, so ``quads.export`` stores them as float32).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from quads.codebook import check_bits, dequantize, fit_codebook, packed_nbytes
from quads.quantize import CodebookQuantizer, QuantConfig


def attach_mixed(
    model: nn.Module, bits_by_name: Mapping[str, int], base: QuantConfig | None = None
) -> tuple[CodebookQuantizer, ...]:
    """Attach one quantizer per bit width over the named weights (k-means from the current float
    weights, no warm start: post-training quantization). ``base`` gives the other settings
    (k-means iterations, init, exclusions; default ``QuantConfig(bits=2)``'s). Raises
    ``ValueError`` naming a tensor that is not covered by ``base`` or an unsupported width."""
    base = base or QuantConfig(bits=2)
    known = CodebookQuantizer(model, base).names  # discovery only: the model is not modified
    unknown = sorted(set(bits_by_name) - set(known))
    if unknown:
        raise ValueError(f"bits_by_name names tensors that are not covered: {unknown[:3]}")
    groups: dict[int, list[str]] = {}
    for name in known:  # model order, so each quantizer lists its tensors as the model does
        if name in bits_by_name:
            groups.setdefault(check_bits(int(bits_by_name[name])), []).append(name)
    # every quantizer is built before any attaches (a quantizer refuses modules already on a
    # codebook, covered by it or not)
    quantizers = tuple(
        CodebookQuantizer(model, replace(base, bits=b, include=tuple(re.escape(n) for n in names)))
        for b, names in sorted(groups.items())
    )
    for q in quantizers:
        q.attach(warm_start=False)
    return quantizers


@dataclass(frozen=True)
class TensorCost:
    """One covered tensor: its size and k-means error at each bit width."""

    name: str
    numel: int
    nbytes: dict[int, int]  # bits -> packed indices + float32 codebook, bytes
    mse: dict[int, float]  # bits -> mean squared error of W - C[I] (k-means, no warm start)


@torch.no_grad()
def tensor_costs(
    model: nn.Module, levels: Sequence[int], base: QuantConfig | None = None
) -> list[TensorCost]:
    """Bytes and k-means error of every covered tensor of ``model`` at each of ``levels``."""
    base = base or QuantConfig(bits=2)
    out = []
    for name, module in CodebookQuantizer(model, base):
        w = module.weight.detach().float()
        n = w.numel()
        nbytes, mse = {}, {}
        for b in levels:
            centroids, indices = fit_codebook(
                w, check_bits(b), iters=base.kmeans_iters, init_method=base.init_method
            )
            nbytes[b] = packed_nbytes(n, b) + int(centroids.numel()) * 4
            err = w - dequantize(centroids, indices, w.shape)
            mse[b] = float(err.pow(2).mean())
        out.append(TensorCost(name, n, nbytes, mse))
    return out
