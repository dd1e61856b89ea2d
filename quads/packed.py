"""Run an exported model with its weights kept packed in memory (b-bit indices + codebook).

`load_quantized` (quads/export.py) dequantizes every covered weight on load, so the model then
holds float32 weights and takes as much memory as the float model. `load_packed` instead keeps
each covered weight as it is in the file, its packed indices (uint8 (ceil(n b / 8),)) plus a
small lookup table built from its codebook, and makes `module.weight` a parametrization
(`torch.nn.utils.parametrize`) that computes W = C[I] on every access. A Linear or Conv reads
its weight once per forward, so each weight is materialised just before its layer runs and is
freed when the layer returns (in `no_grad` / `inference_mode`; with autograd on, the graph
keeps it until backward). Peak weight memory is then the packed model plus one float weight.

Dequantization is one gather per weight. Measured on one Whisper-tiny fc1 (1536 x 384) on one
core of a shared 2-core x86 CPU: at 1, 2 and 4 bits through a byte table T
(256, 8 / b) whose row v holds the centroids of the 8 / b indices packed in a byte of value v,
so W = T[packed] needs no unpacking; at 4 bits a row (two float32) is gathered as one int64
word (0.14 ms; gathering (256, 2) rows took 0.58 ms, the bit-stream
`quads.codebook.unpack_indices` + gather 18 ms). At 8 bits W = C[packed] (0.35 ms); at 3, 5,
6 and 7 bits the bytes are read 8 indices (b bytes) at a time by shifts and masks, then
gathered. A kernel that skips the float weight and multiplies through the codebook
(y_o = sum_k C_k sum_{j: I_oj = k} x_j, a scatter-add) took 98 ms for that layer at 150
frames against 1.9 ms for the float matmul, so gather + the float (BLAS) kernel is kept. Its
values are those `load_quantized` produces, so a packed model's outputs are bitwise equal to
the dequantized-on-load model's (tests/test_packed.py).

Weights stored as fp16 values ("fp16-values", 16-bit files) stay fp16 in memory and are cast to
their model dtype on access; float leftovers (biases, norms) are loaded in their model dtype.

The skeleton may be built on the meta device (`with torch.device("meta"): ...`) so that no
float weights are ever allocated; tensors the file skipped (Whisper's sinusoidal positional
table) must then be real before loading (see `baselines/skeleton.py`).
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import load_file
from torch import Tensor, nn
from torch.nn.utils import parametrize

from quads.codebook import check_bits, packed_nbytes, unpack_indices
from quads.export import FP16_VALUES, PACKED, read_metadata

_BYTE_TABLE_BITS = (1, 2, 4)  # 8 % bits == 0 and bits < 8: a byte holds 8 // bits whole indices
_GROUPED_BITS = (3, 5, 6, 7)  # 8 indices span exactly `bits` bytes
# bytes of a byte-table row -> an integer dtype of that size: gathering one word per byte is
# ~4x faster than gathering (256, 8 / b) rows (0.14 vs 0.58 ms for a 4-bit 1536 x 384 weight)
_WORD_DTYPES = {2: torch.int16, 4: torch.int32, 8: torch.int64}


def byte_table(codebook: Tensor, bits: int) -> Tensor:
    """(256, 8 // bits) table: row v = codebook values of the indices packed in byte v.

    codebook: (k,) with k <= 2**bits; indices >= k never occur, their rows hold 0. The layout
    follows `quads.codebook.pack_indices` (LSB first): index j of a byte is (v >> j b) & mask.
    """
    if bits not in _BYTE_TABLE_BITS:
        raise ValueError(f"bits={bits} has no byte table; supported: {_BYTE_TABLE_BITS}")
    full = codebook.new_zeros(2**bits)
    full[: codebook.numel()] = codebook
    v = torch.arange(256)[:, None]  # (256, 1)
    shifts = torch.arange(0, 8, bits)[None, :]  # (1, 8 // bits)
    return full[(v >> shifts) & (2**bits - 1)].contiguous()


def unpack_grouped(packed: Tensor, bits: int, numel: int) -> Tensor:
    """`quads.codebook.unpack_indices` for 3, 5, 6 and 7 bits, 8 indices (b bytes) at a time.

    packed: (ceil(numel * bits / 8),) uint8. Returns (numel,) int32.
    """
    if bits not in _GROUPED_BITS:
        raise ValueError(f"bits={bits} is not grouped; supported: {_GROUPED_BITS}")
    pad = (-packed.numel()) % bits
    data = torch.cat([packed, packed.new_zeros(pad)]).view(-1, bits).to(torch.int64)  # (G, b)
    words = (data << (8 * torch.arange(bits))).sum(1)  # (G,) 8 b-bit indices, LSB first
    idx = (words[:, None] >> (bits * torch.arange(8))) & (2**bits - 1)  # (G, 8)
    return idx.reshape(-1)[:numel].to(torch.int32)


class PackedCodebookWeight(nn.Module):
    """Parametrization W = C[I] of a weight whose original is its packed indices.

    original: (ceil(n b / 8),) uint8, the packed indices of `quads.codebook.pack_indices`.
    table: (256, 8 // b) byte table at 1, 2, 4 bits, else the (k,) codebook; in the model dtype.
    """

    def __init__(self, codebook: Tensor, bits: int, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.shape = tuple(shape)
        self.numel = 1
        for d in self.shape:
            self.numel *= d
        self.codebook_size = codebook.numel()
        table = byte_table(codebook, bits) if bits in _BYTE_TABLE_BITS else codebook.clone()
        self.register_buffer("table", table)

    def forward(self, packed: Tensor) -> Tensor:
        if self.bits in _BYTE_TABLE_BITS:
            table = self.table  # (256, 8 // b)
            word = _WORD_DTYPES.get(table.shape[1] * table.element_size())
            if word is not None:  # one row = one machine word: a 1-D gather of words
                rows = table.view(word).view(-1).index_select(0, packed.to(torch.int32))
                values = rows.view(table.dtype)  # (bytes * 8 / b,)
            else:
                values = table.index_select(0, packed.to(torch.int32)).view(-1)
            values = values[: self.numel]
        elif self.bits == 8:
            values = self.table.index_select(0, packed.to(torch.int32))
        elif self.bits in _GROUPED_BITS:
            values = self.table.index_select(0, unpack_grouped(packed, self.bits, self.numel))
        else:  # 16 bits (version-1 files): two bytes per index
            values = self.table.index_select(0, unpack_indices(packed, self.bits, self.numel))
        return values.view(self.shape)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, shape={self.shape}, codebook={self.codebook_size}"


class Fp16Weight(nn.Module):
    """Parametrization W = original.to(dtype) of a weight kept as fp16 values in memory."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype

    def forward(self, original: Tensor) -> Tensor:
        return original.to(self.dtype)

    def extra_repr(self) -> str:
        return f"float16 -> {str(self.dtype).removeprefix('torch.')}"


def _module_of(model: nn.Module, name: str, path: str | os.PathLike) -> nn.Module:
    module_name, _, leaf = name.rpartition(".")
    if leaf != "weight":
        raise ValueError(f"{path}: covered tensor {name} is not a module's weight")
    try:
        return model.get_submodule(module_name)
    except AttributeError as err:
        raise ValueError(f"{path}: the model has no module {module_name!r} for {name}") from err


def _install(module: nn.Module, original: Tensor, parametrization: nn.Module) -> None:
    """Replace module.weight by `original` (packed) under `parametrization` (W on access)."""
    if parametrize.is_parametrized(module, "weight"):
        raise ValueError(f"{type(module).__name__}.weight is already parametrized")
    module.weight = nn.Parameter(original, requires_grad=False)
    # unsafe: the original (packed uint8) has another dtype and shape than W
    parametrize.register_parametrization(module, "weight", parametrization, unsafe=True)


@torch.no_grad()
def load_packed(path: str | os.PathLike, model: nn.Module) -> nn.Module:
    """Fill a float skeleton from a `quads.export` file (version 1 or 2), keeping covered
    weights packed in memory; returns `model` (module docstring).

    The skeleton may live on the meta device; every tensor the file does not hold (its
    "skipped" keys) must already be real. Outputs equal those of `load_quantized` on the same
    file. Raises ValueError naming the file when file and skeleton disagree on keys or shapes.
    """
    meta = read_metadata(path)
    stored = load_file(str(path))
    bits = meta["bits"]
    blob = stored.pop("fp16", None)
    expected = model.state_dict()

    def check_shape(key: str, shape: tuple[int, ...]) -> None:
        if key not in expected:
            raise ValueError(f"{path}: file has {key}, which the model lacks")
        if tuple(expected[key].shape) != shape:
            raise ValueError(
                f"{path} does not fit this model (e.g. saved for another number of classes): "
                f"{key}: file {shape} vs model {tuple(expected[key].shape)}"
            )

    def from_blob(info: dict) -> Tensor:
        shape = tuple(info["shape"])
        n = 1
        for d in shape:
            n *= d
        return blob[info["offset"] : info["offset"] + n].view(shape)

    floats: dict[str, Tensor] = {}
    version_1 = meta["version"] == 1
    for key in meta["float"]:
        if version_1:
            value = stored[f"float/{key}"]
        else:
            info = meta["float"][key]
            dtype = getattr(torch, info["dtype"])
            stored_value = (
                from_blob(info) if info["stored"] == "float16" else stored[f"float/{key}"]
            )
            value = stored_value.to(dtype).clone()
        check_shape(key, tuple(value.shape))
        floats[key] = value
    for name, info in meta["quantized"].items():
        check_shape(name, tuple(info["shape"]))
    missing = sorted(set(expected) - set(floats) - set(meta["quantized"]) - set(meta["skipped"]))
    if missing:
        raise ValueError(f"{path}: model keys not in the file (and not skipped): {missing}")

    model.load_state_dict(floats, strict=False, assign=True)
    for name, info in meta["quantized"].items():
        module = _module_of(model, name, path)
        shape, dtype = tuple(info["shape"]), getattr(torch, info["dtype"])
        if info.get("storage", PACKED) == FP16_VALUES:
            _install(module, from_blob(info).clone(), Fp16Weight(dtype))
            continue
        packed = stored.pop(f"indices/{name}")
        n = 1
        for d in shape:
            n *= d
        if packed.numel() != packed_nbytes(n, bits):
            raise ValueError(f"{path}: indices/{name} has {packed.numel()} bytes for {shape}")
        codebook = stored.pop(f"codebook/{name}").float().to(dtype)  # as load_quantized
        _install(module, packed, PackedCodebookWeight(codebook, bits, shape))
    on_meta = [k for k, t in model.state_dict().items() if t.is_meta]
    on_meta += [f"{k} (buffer)" for k, t in model.named_buffers() if t.is_meta]
    if on_meta:
        raise ValueError(
            f"{path}: tensors still on the meta device after loading: {sorted(set(on_meta))}; "
            f"the file skips {meta['skipped']}: make them real in the skeleton first"
        )
    return model


def tensor_nbytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and buffers, each storage counted once.

    For a packed model this counts the packed indices and tables, not the weights materialised
    during a forward.
    """
    seen: dict[int, int] = {}
    for t in list(model.parameters()) + list(model.buffers()):
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
    return sum(seen.values())
