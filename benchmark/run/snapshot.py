"""The evaluated model of a trained row, kept in the cache for later inference-only studies
(``quads-bench robustness``): a plain float state dict of exactly the weights the test split
was scored with.

Quantized rows hold ``<module>.weight_centroids`` (k,) and ``<module>.weight_indices`` (n,)
while attached; the snapshot stores their dequantized ``W = C[I]`` as ``<module>.weight``, so a
fresh ``build_model`` loads it with ``strict=True`` and gives the same logits. 16-bit rows are
stored after their fp16 rounding. The file lives beside the exported models
(``<cache>/runs/evaluated/<profile>/<run id>.pt``) and is not part of a result file's content.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor, nn

from baselines.registry import build_model
from benchmark.data.integrity import load_torch_cache, save_torch_cache
from quads.codebook import dequantize
from quads.quantize import CodebookQuantizer

WHAT = "evaluated model snapshot"


def float_state(model: nn.Module, quantizer: CodebookQuantizer | None) -> dict[str, Tensor]:
    """``model.state_dict()`` with every attached codebook replaced by its weight C[I]."""
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if quantizer is None or not quantizer.attached:
        return state
    books = quantizer.codebooks()
    for name, module in quantizer:  # name: "<module>.weight"
        prefix = name.rsplit(".", 1)[0]
        state.pop(f"{prefix}.weight_centroids")
        state.pop(f"{prefix}.weight_indices")
        centroids, indices = books[name]
        state[name] = dequantize(centroids, indices, module._quads_weight_shape).clone()
    return state


def save_evaluated(
    path: Path, model: nn.Module, quantizer: CodebookQuantizer | None, meta: dict
) -> Path:
    """Write the snapshot (``float_state`` + ``meta``: model name, classes, n_frames)."""
    save_torch_cache(path, {"meta": meta, "state": float_state(model, quantizer)}, WHAT)
    return path


def load_evaluated(path: Path) -> nn.Module | None:
    """The snapshot's model in eval mode, or None when the file is missing or damaged."""
    blob = load_torch_cache(path, WHAT)
    if blob is None:
        return None
    meta = blob["meta"]
    model = build_model(meta["model"], meta["classes"], meta["n_frames"])
    model.load_state_dict(blob["state"], strict=True)
    return model.eval()
