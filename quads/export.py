"""On-disk format of a codebook-quantized model (safetensors), and its measured size.

One safetensors file holds
    indices/<name>   uint8 (ceil(numel * bits / 8),)  packed b-bit cluster indices of a covered weight
    codebook/<name>  float32 (k,)                     its centroids
    float/<key>      every other state-dict tensor as it is (biases, norms, ...)
and, under the safetensors metadata key "quads", a JSON document:
    {"format": "quads-codebook", "version": 1, "bits": b,
     "quantized": {name: {"shape": [...], "dtype": "float32", "codebook_size": k}},
     "float": [key, ...], "skipped": [key, ...], "model_config": {...}}
Tensors the caller marks with `skip` (e.g. Whisper's deterministic sinusoidal
positional table) are not stored; the skeleton model given to `load_quantized` must
already hold them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from quads.codebook import dequantize, fit_codebook, pack_indices, unpack_indices
from quads.quantize import CodebookQuantizer, QuantConfig

FORMAT_NAME = "quads-codebook"
FORMAT_VERSION = 1
_META_KEY = "quads"

SkipSpec = Callable[[str], bool] | str | tuple[str, ...] | list[str] | None


def _skip_predicate(skip: SkipSpec) -> Callable[[str], bool]:
    """A predicate over state-dict keys from a callable, one regex, or a tuple of regexes."""
    if skip is None:
        return lambda key: False
    if callable(skip):
        return skip
    patterns = (skip,) if isinstance(skip, str) else tuple(skip)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ValueError(f"skip pattern {pattern!r} must be a str regex")
        re.compile(pattern)
    return lambda key: any(re.search(p, key) for p in patterns)


def _codebooks_for(
    model: nn.Module, quantizer_or_config: CodebookQuantizer | QuantConfig
) -> tuple[int, CodebookQuantizer, dict[str, tuple[Tensor, Tensor]]]:
    """(bits, quantizer, {name: (centroids, indices)}) for the covered weights of model."""
    if isinstance(quantizer_or_config, CodebookQuantizer):
        q = quantizer_or_config
        if q.model is not model:
            raise ValueError("quantizer_or_config is a quantizer of another model")
        books = q.codebooks()
        if not q.attached:
            for name, module in q:
                centroids, indices = books[name]
                if not torch.equal(
                    module.weight, dequantize(centroids, indices, module.weight.shape)
                ):
                    raise ValueError(
                        f"{name} changed since detach(); attach() (or freeze().attach()) first"
                    )
        return q.bits, q, books
    if isinstance(quantizer_or_config, QuantConfig):
        cfg = quantizer_or_config
        q = CodebookQuantizer(model, cfg)  # discovery only: the model is not modified
        books = {
            name: fit_codebook(
                module.weight, cfg.bits, iters=cfg.kmeans_iters, init_method=cfg.init_method
            )
            for name, module in q
        }
        return cfg.bits, q, books
    raise ValueError(
        f"quantizer_or_config must be a CodebookQuantizer or QuantConfig, "
        f"got {type(quantizer_or_config).__name__}"
    )


def save_quantized(
    model: nn.Module,
    quantizer_or_config: CodebookQuantizer | QuantConfig,
    path: str | os.PathLike,
    model_config: dict,
    skip: SkipSpec = None,
) -> int:
    """Write `model` in the packed format; returns the file size in bytes.

    quantizer_or_config: the model's CodebookQuantizer (attached, or detached with its
        weights still equal to C[I]) whose codebooks are stored as they are; or a
        QuantConfig, which fits fresh codebooks to the current float weights
        (post-training quantization; the in-memory model is not changed).
    model_config: JSON-serialisable description the caller needs to rebuild the skeleton.
    skip: state-dict keys not to store (callable, regex, or tuple of regexes). Applies
        to the float leftovers; covered weights are always stored.
    """
    bits, q, books = _codebooks_for(model, quantizer_or_config)
    try:
        config_json = json.loads(json.dumps(model_config))
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_config is not JSON-serialisable: {err}") from err
    is_skipped = _skip_predicate(skip)

    covered_modules = {name[: -len("weight")] for name in books}  # "a.b." prefixes
    tensors: dict[str, Tensor] = {}
    quantized: dict[str, dict] = {}
    for name, module in q:
        centroids, indices = books[name]
        shape = list(module._quads_weight_shape if q.attached else module.weight.shape)
        dtype = (module.weight_centroids if q.attached else module.weight).dtype
        tensors[f"indices/{name}"] = pack_indices(indices, bits)
        tensors[f"codebook/{name}"] = centroids.detach().to("cpu", torch.float32).contiguous()
        quantized[name] = {
            "shape": shape,
            "dtype": str(dtype).removeprefix("torch."),
            "codebook_size": int(centroids.numel()),
        }
    floats, skipped = [], []
    for key, value in model.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        prefix = f"{prefix}." if prefix else ""
        if prefix in covered_modules and leaf in ("weight", "weight_centroids", "weight_indices"):
            continue
        if not isinstance(value, Tensor):
            raise ValueError(f"state-dict entry {key} is not a tensor")
        if is_skipped(key):
            skipped.append(key)
            continue
        tensors[f"float/{key}"] = value.detach().to("cpu").contiguous().clone()
        floats.append(key)

    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "bits": bits,
        "quantized": quantized,
        "float": floats,
        "skipped": skipped,
        "model_config": config_json,
    }
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(meta, sort_keys=True)})
    return measured_size_bytes(path)


def read_metadata(path: str | os.PathLike) -> dict:
    """The JSON metadata of a file written by `save_quantized` (see module docstring)."""
    with safe_open(str(path), framework="pt") as f:
        raw = (f.metadata() or {}).get(_META_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a {FORMAT_NAME} file (no '{_META_KEY}' metadata)")
    meta = json.loads(raw)
    if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: format {meta.get('format')!r} version {meta.get('version')!r} unsupported; "
            f"expected {FORMAT_NAME!r} version {FORMAT_VERSION}"
        )
    return meta


@torch.no_grad()
def load_quantized(path: str | os.PathLike, model: nn.Module) -> nn.Module:
    """Fill a caller-built float skeleton from a packed file; returns `model`.

    Covered weights become plain float Parameters W = C[I]; float leftovers are copied;
    skipped tensors keep the skeleton's values. The skeleton must not have a quantizer
    attached. Raises ValueError if the file and the skeleton disagree on keys.
    """
    meta = read_metadata(path)
    for name, module in model.named_modules():
        if hasattr(module, "weight_centroids"):
            raise ValueError(
                f"{name or 'model'} has a codebook attached; load into a float skeleton"
            )
    stored = load_file(str(path))
    bits = meta["bits"]
    state: dict[str, Tensor] = {}
    for name, info in meta["quantized"].items():
        shape = tuple(info["shape"])
        numel = 1
        for d in shape:
            numel *= d
        indices = unpack_indices(stored[f"indices/{name}"], bits, numel)
        weight = dequantize(stored[f"codebook/{name}"], indices, shape)
        state[name] = weight.to(getattr(torch, info["dtype"]))
    for key in meta["float"]:
        state[key] = stored[f"float/{key}"]
    expected = model.state_dict()
    wrong = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in state.items()
        if k in expected and v.shape != expected[k].shape
    ]
    if wrong:
        raise ValueError(
            f"{path} does not fit this model (e.g. saved for another number of classes): "
            + "; ".join(wrong)
        )
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise ValueError(f"file has keys the model lacks: {result.unexpected_keys}")
    missing = sorted(set(result.missing_keys) - set(meta["skipped"]))
    if missing:
        raise ValueError(f"model keys not in the file (and not skipped): {missing}")
    return model


def measured_size_bytes(path: str | os.PathLike) -> int:
    """Size of the file on disk in bytes."""
    return os.path.getsize(path)
