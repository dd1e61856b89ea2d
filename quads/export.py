"""On-disk format of a codebook-quantized model (safetensors), and its measured size.

Version 2 (written). Each tensor is stored in the smallest lossless form, and the
metadata records which form:

    indices/<name>   uint8 (ceil(numel * bits / 8),)  packed b-bit cluster indices   } storage
    codebook/<name>  float16 | float32 (k,)           its centroids                   } "packed"
    fp16             float16 (total,)                 one flat blob: every tensor stored as
                                                      fp16 values, each at its "offset"
    float/<key>      a leftover that is not fp16-exact, as it is (dtype unchanged)

Rule, per covered weight W = C[I] (n values, k centroids, b bits):
  * C is "fp16-exact" when every centroid survives a round trip through float16
    (``torch.equal(C.half().to(C.dtype), C)``); the packed codebook is then float16
    (2 bytes a centroid), else float32 as in version 1.
  * (a) "packed": ceil(n b / 8) + k * (2 | 4) bytes, always lossless.
    (b) "fp16-values": the values C[I] as float16, 2 n bytes, allowed only if C is
    fp16-exact. (b) is chosen only when strictly smaller than (a); at 4 and 8 bits it
    never is, at 16 bits it always is (2 n < 2 n + 2 k).
Every leftover (biases, norms, head, ...) goes into the fp16 blob when that is lossless
(``torch.equal(v.half().to(v.dtype), v)``; non-float tensors never), else is stored as it
is. On load every tensor gets back its recorded model dtype ("dtype", float32 in our
models), so `load_quantized` gives weights bit-identical to the in-memory model.

Why one blob: a 16-bit model whose parameters were rounded to fp16 (centroids
included) is then stored entirely as fp16, with the same payload bytes as
``safetensors.torch.save_file`` of its float state dict in fp16. What is left is the
header: there, each of the plain file's per-tensor JSON entries (about 70 bytes plus the
key) is replaced by a compressed metadata entry, so the file is not larger than the plain
fp16 file (tested on Whisper-shaped models; a model of only a handful of tensors could
exceed it by a few hundred header bytes).

Safetensors header metadata (version 2):
    "quads":      JSON {"format": "quads-codebook", "version": 2, "bits": b,
                        "body": "zlib+base64", "data": base64 of the zlib-compressed JSON
                        document below}  (format, version and bits readable without decoding;
                        one entry, since safetensors writes several in hash order)
    {"format": "quads-codebook", "version": 2, "bits": b,
     "quantized": {name: {"shape": [...], "dtype": "float32", "storage": "packed",
                          "codebook_size": k, "codebook_dtype": "float16" | "float32"
                          (+ "bits": b_name in a mixed-precision file, whose top-level
                          "bits" is then the largest; absent: the file's "bits")}
                       | {"shape": [...], "dtype": "float32", "storage": "fp16-values",
                          "offset": o}},
     "float": {key: {"shape": [...], "dtype": <model dtype>, "stored": <stored dtype>}
                    (+ "offset": o when stored is "float16", i.e. in the blob)},
     "skipped": [key, ...], "model_config": {...}}
`read_metadata` returns that document.

Version 1 (still read, no longer written): indices/<name> + float32 codebook/<name> for
every covered weight, float/<key> for every leftover as it is, and under "quads" the
plain JSON {"format", "version": 1, "bits", "quantized": {name: {"shape", "dtype",
"codebook_size"}}, "float": [key, ...], "skipped", "model_config"}. `read_metadata`
returns it unchanged and `load_quantized` loads it.

Tensors the caller marks with `skip` (e.g. Whisper's deterministic sinusoidal
positional table) are not stored; the skeleton model given to `load_quantized` must
already hold them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import zlib
from collections.abc import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from quads.codebook import (
    dequantize,
    fit_codebook,
    pack_indices,
    packed_nbytes,
    unpack_indices,
)
from quads.quantize import CodebookQuantizer, QuantConfig

FORMAT_NAME = "quads-codebook"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_META_KEY = "quads"
_BODY_KEY = "data"  # the compressed document, inside the one "quads" metadata entry
_BODY_ENCODING = "zlib+base64"
_FP16_BLOB = "fp16"
PACKED = "packed"
FP16_VALUES = "fp16-values"

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


Quantizers = CodebookQuantizer | QuantConfig | tuple[CodebookQuantizer, ...] | list


def _books_of(model: nn.Module, q: CodebookQuantizer) -> dict[str, tuple[Tensor, Tensor]]:
    """{name: (centroids, indices)} of one quantizer of ``model`` (checked: its model, and
    weights still equal to C[I] when detached)."""
    if q.model is not model:
        raise ValueError("quantizer_or_config is a quantizer of another model")
    books = q.codebooks()
    if not q.attached:
        for name, module in q:
            centroids, indices = books[name]
            if not torch.equal(module.weight, dequantize(centroids, indices, module.weight.shape)):
                raise ValueError(
                    f"{name} changed since detach(); attach() (or freeze().attach()) first"
                )
    return books


def _codebooks_for(
    model: nn.Module, quantizer_or_config: Quantizers
) -> tuple[dict[str, int], list[tuple[str, nn.Module, bool]], dict[str, tuple[Tensor, Tensor]]]:
    """({name: bits}, [(name, module, attached)], {name: (centroids, indices)}) for the
    covered weights of model; several quantizers (mixed precision) cover disjoint tensors."""
    if isinstance(quantizer_or_config, CodebookQuantizer):
        quantizer_or_config = (quantizer_or_config,)
    if isinstance(quantizer_or_config, (tuple, list)) and quantizer_or_config:
        bits: dict[str, int] = {}
        covered: list[tuple[str, nn.Module, bool]] = []
        books: dict[str, tuple[Tensor, Tensor]] = {}
        for q in quantizer_or_config:
            if not isinstance(q, CodebookQuantizer):
                raise ValueError(f"quantizer_or_config holds a {type(q).__name__}, not a quantizer")
            for name, (centroids, indices) in _books_of(model, q).items():
                if name in books:
                    raise ValueError(f"{name} is covered by two quantizers")
                books[name] = (centroids, indices)
                bits[name] = q.bits
            covered += [(name, module, q.attached) for name, module in q]
        return bits, covered, books
    if isinstance(quantizer_or_config, QuantConfig):
        cfg = quantizer_or_config
        q = CodebookQuantizer(model, cfg)  # discovery only: the model is not modified
        books = {
            name: fit_codebook(
                module.weight, cfg.bits, iters=cfg.kmeans_iters, init_method=cfg.init_method
            )
            for name, module in q
        }
        return {name: cfg.bits for name in books}, [(n, m, False) for n, m in q], books
    raise ValueError(
        f"quantizer_or_config must be a CodebookQuantizer, a QuantConfig or a non-empty tuple "
        f"of quantizers, got {type(quantizer_or_config).__name__}"
    )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _fp16_exact(t: Tensor) -> bool:
    """True if every value of the float tensor t survives a round trip through float16."""
    return t.is_floating_point() and torch.equal(t.half().to(t.dtype), t)


def save_quantized(
    model: nn.Module,
    quantizer_or_config: Quantizers,
    path: str | os.PathLike,
    model_config: dict,
    skip: SkipSpec = None,
) -> int:
    """Write `model` in the format of the module docstring (version 2); returns the
    file size in bytes.

    quantizer_or_config: the model's CodebookQuantizer (attached, or detached with its
        weights still equal to C[I]) whose codebooks are stored as they are; or a
        QuantConfig, which fits fresh codebooks to the current float weights
        (post-training quantization; the in-memory model is not changed); or a tuple of
        quantizers over disjoint tensors with different bit widths (mixed precision: each
        tensor's entry then records its own "bits", the file's "bits" is the largest).
    model_config: JSON-serialisable description the caller needs to rebuild the skeleton.
    skip: state-dict keys not to store (callable, regex, or tuple of regexes). Applies
        to the float leftovers; covered weights are always stored.
    Each tensor takes its smallest lossless form (docstring rule); a 16-bit model whose
    parameters were rounded to fp16 is thus stored entirely as fp16.
    """
    bits_of, covered, books = _codebooks_for(model, quantizer_or_config)
    mixed = len(set(bits_of.values())) > 1
    bits = max(bits_of.values())
    try:
        config_json = json.loads(json.dumps(model_config))
    except (TypeError, ValueError) as err:
        raise ValueError(f"model_config is not JSON-serialisable: {err}") from err
    is_skipped = _skip_predicate(skip)

    covered_modules = {name[: -len("weight")] for name in books}  # "a.b." prefixes
    tensors: dict[str, Tensor] = {}
    blob: list[Tensor] = []  # flat float16 pieces of the fp16 blob, in offset order
    blob_numel = 0

    def to_blob(values: Tensor) -> int:
        nonlocal blob_numel
        offset = blob_numel
        blob.append(values.detach().to("cpu").reshape(-1).half())
        blob_numel += values.numel()
        return offset

    quantized: dict[str, dict] = {}
    for name, module, attached in covered:
        centroids, indices = books[name]
        centroids = centroids.detach().to("cpu")
        shape = list(module._quads_weight_shape if attached else module.weight.shape)
        dtype = (module.weight_centroids if attached else module.weight).dtype
        numel = 1
        for d in shape:
            numel *= d
        k = int(centroids.numel())
        exact = _fp16_exact(centroids)
        packed_bytes = packed_nbytes(numel, bits_of[name]) + k * (2 if exact else 4)
        info: dict = {"shape": shape, "dtype": _dtype_name(dtype)}
        if mixed:
            info["bits"] = bits_of[name]
        if exact and 2 * numel < packed_bytes:
            info["storage"] = FP16_VALUES
            info["offset"] = to_blob(dequantize(centroids, indices.to("cpu"), (numel,)))
        else:
            book_dtype = torch.float16 if exact else torch.float32
            tensors[f"indices/{name}"] = pack_indices(indices, bits_of[name])
            tensors[f"codebook/{name}"] = centroids.to(book_dtype).contiguous()
            info["storage"] = PACKED
            info["codebook_size"] = k
            info["codebook_dtype"] = _dtype_name(book_dtype)
        quantized[name] = info
    floats: dict[str, dict] = {}
    skipped: list[str] = []
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
        value = value.detach().to("cpu")
        info = {"shape": list(value.shape), "dtype": _dtype_name(value.dtype)}
        if _fp16_exact(value):
            info["stored"] = "float16"
            info["offset"] = to_blob(value)
        else:
            info["stored"] = info["dtype"]
            tensors[f"float/{key}"] = value.contiguous().clone()
        floats[key] = info
    if blob:
        tensors[_FP16_BLOB] = torch.cat(blob)

    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "bits": bits,
        "quantized": quantized,
        "float": floats,
        "skipped": skipped,
        "model_config": config_json,
    }
    body = json.dumps(meta, separators=(",", ":")).encode()
    summary = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "bits": bits,
        "body": _BODY_ENCODING,
    }
    summary[_BODY_KEY] = base64.b64encode(zlib.compress(body, 9)).decode("ascii")
    # one metadata key: safetensors writes several in hash order, so the bytes would vary
    save_file(tensors, str(path), metadata={_META_KEY: json.dumps(summary, separators=(",", ":"))})
    return measured_size_bytes(path)


def read_metadata(path: str | os.PathLike) -> dict:
    """The metadata document of a file written by `save_quantized` (module docstring):
    version 2 decoded from its compressed body, version 1 as stored."""
    with safe_open(str(path), framework="pt") as f:
        header = f.metadata() or {}
    raw = header.get(_META_KEY)
    if raw is None:
        raise ValueError(f"{path} is not a {FORMAT_NAME} file (no '{_META_KEY}' metadata)")
    meta = json.loads(raw)
    version = meta.get("version")
    if meta.get("format") != FORMAT_NAME or version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path}: format {meta.get('format')!r} version {version!r} unsupported; "
            f"expected {FORMAT_NAME!r} version in {READABLE_VERSIONS}"
        )
    if version == 1:
        return meta
    if meta.get("body") != _BODY_ENCODING or _BODY_KEY not in meta:
        raise ValueError(f"{path}: version 2 file without a '{_BODY_KEY}' ({_BODY_ENCODING})")
    doc = json.loads(zlib.decompress(base64.b64decode(meta[_BODY_KEY])))
    if doc.get("format") != FORMAT_NAME or doc.get("version") != version:
        raise ValueError(f"{path}: metadata body does not match its summary")
    return doc


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _stored_state(meta: dict, stored: dict[str, Tensor]) -> dict[str, Tensor]:
    """{state-dict key: tensor in its model dtype} from a file's tensors and metadata."""
    bits = meta["bits"]
    blob = stored.get(_FP16_BLOB)
    state: dict[str, Tensor] = {}

    def from_blob(info: dict) -> Tensor:
        shape = tuple(info["shape"])
        offset, n = info["offset"], _numel(shape)
        return blob[offset : offset + n].view(shape).to(getattr(torch, info["dtype"]))

    for name, info in meta["quantized"].items():
        if info.get("storage", PACKED) == FP16_VALUES:
            state[name] = from_blob(info)
            continue
        shape = tuple(info["shape"])
        indices = unpack_indices(stored[f"indices/{name}"], info.get("bits", bits), _numel(shape))
        codebook = stored[f"codebook/{name}"].float()  # fp16 -> fp32 is exact
        state[name] = dequantize(codebook, indices, shape).to(getattr(torch, info["dtype"]))
    if meta["version"] == 1:
        for key in meta["float"]:
            state[key] = stored[f"float/{key}"]
    else:
        for key, info in meta["float"].items():
            if info["stored"] == "float16":
                state[key] = from_blob(info)
            else:
                state[key] = stored[f"float/{key}"].to(getattr(torch, info["dtype"]))
    return state


@torch.no_grad()
def load_quantized(path: str | os.PathLike, model: nn.Module) -> nn.Module:
    """Fill a caller-built float skeleton from a file (version 1 or 2); returns `model`.

    Covered weights become plain float Parameters W = C[I] in their recorded dtype; float
    leftovers are copied; skipped tensors keep the skeleton's values. The skeleton must
    not have a quantizer attached. Raises ValueError if the file and the skeleton
    disagree on keys.
    """
    meta = read_metadata(path)
    for name, module in model.named_modules():
        if hasattr(module, "weight_centroids"):
            raise ValueError(
                f"{name or 'model'} has a codebook attached; load into a float skeleton"
            )
    state = _stored_state(meta, load_file(str(path)))
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
