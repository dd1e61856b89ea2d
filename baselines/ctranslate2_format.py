"""Reader for CTranslate2 ``model.bin`` files (binary version 6), with no dependency on ctranslate2.

Layout (little-endian; see ``ctranslate2/specs/model_spec.py::_serialize``):

    <I version   string spec_name   <I revision   <I n_vars
    n_vars x [ string name   <B rank   <I x rank dims   <B dtype   <I nbytes   nbytes of data ]
    <I n_aliases   n_aliases x [ string alias   string target ]

A string is ``<H`` (length + 1), UTF-8 bytes, NUL. dtype ids: 0 float32, 1 int8, 2 int16, 3 int32,
4 float16, 5 bfloat16 (returned as float32, which holds every bfloat16 value exactly).

A model may be split into part files (``model.bin.part1``, ``model.bin.part2``, ...): pass the
parts in order and they are read as one stream, each tensor read once into its own buffer.

``dequantize`` and ``whisper_encoder_state`` turn a ``WhisperSpec`` model's ``encoder/...``
variables into a ``transformers`` ``WhisperEncoder`` state dict: ``encoder/conv1|conv2``,
``encoder/position_encodings/encodings``, ``encoder/layer_norm``, and per layer the fused
``self_attention/linear_0`` = [q; k; v] (k has no bias in Whisper: its third of the bias is zeros),
``self_attention/linear_1`` = out_proj, ``ffn/linear_0|linear_1`` = fc1|fc2 and their layer norms.
"""

from __future__ import annotations

import io
import os
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

SUPPORTED_BINARY_VERSIONS = (6,)  # ctranslate2.specs.model_spec.CURRENT_BINARY_VERSION in 4.x

# dtype id -> (numpy dtype as stored, bytes per element)
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16 bits; widened to float32 below
}
_MAX_RANK = 8  # sanity bound: a wrong file otherwise asks for absurd allocations
_MAX_VARIABLES = 1_000_000

Source = str | os.PathLike | Sequence[str | os.PathLike] | BinaryIO


@dataclass(frozen=True)
class CTranslate2Model:
    """Contents of a ``model.bin``: the spec name (e.g. ``WhisperSpec``), its revision and variables."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]


class _PartsReader:
    """Sequential reads over one or more binary streams, as if they were concatenated."""

    def __init__(self, streams: Sequence[BinaryIO], name: str) -> None:
        self._streams = list(streams)
        self._index = 0
        self.name = name
        self.offset = 0  # bytes consumed so far, across parts

    def readinto(self, buffer: memoryview) -> int:
        filled = 0
        while filled < len(buffer) and self._index < len(self._streams):
            n = self._streams[self._index].readinto(buffer[filled:])
            if not n:
                self._index += 1
                continue
            filled += n
        self.offset += filled
        return filled

    def read_exact(self, n: int, what: str) -> bytes:
        buffer = bytearray(n)
        self._fill(memoryview(buffer), what)
        return bytes(buffer)

    def _fill(self, view: memoryview, what: str) -> None:
        start = self.offset
        got = self.readinto(view)
        if got != len(view):
            raise ValueError(
                f"{self.name}: truncated CTranslate2 model: needed {len(view)} bytes for {what} "
                f"at offset {start}, got {got}"
            )

    def read_array(self, n: int, dtype: np.dtype, what: str) -> np.ndarray:
        """Read ``n`` bytes straight into a fresh numpy buffer (one copy, no intermediate bytes)."""
        array = np.empty(n // dtype.itemsize, dtype=dtype)
        self._fill(memoryview(array).cast("B"), what)
        return array

    def skip(self, n: int, what: str) -> None:
        remaining = n
        while remaining and self._index < len(self._streams):
            stream = self._streams[self._index]
            if stream.seekable():
                here = stream.tell()
                end = stream.seek(0, io.SEEK_END)
                step = min(remaining, end - here)
                stream.seek(here + step)
            else:
                step = len(stream.read(min(remaining, 1 << 20)))
            if step == 0:
                self._index += 1
            remaining -= step
            self.offset += step
        if remaining:
            raise ValueError(
                f"{self.name}: truncated CTranslate2 model: {remaining} bytes missing in {what}"
            )

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack(fmt, self.read_exact(struct.calcsize(fmt), what))

    def string(self, what: str) -> str:
        (length,) = self.unpack("<H", f"length of {what}")
        raw = self.read_exact(length, what)
        if length == 0 or raw[-1] != 0:
            raise ValueError(
                f"{self.name}: corrupt CTranslate2 model: {what} is not NUL-terminated"
            )
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{self.name}: corrupt CTranslate2 model: {what} is not UTF-8"
            ) from err

    def at_end(self) -> bool:
        return self.readinto(memoryview(bytearray(1))) == 0


def _describe(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, Sequence):
        return " + ".join(str(p) for p in source)
    return str(getattr(source, "name", repr(source)))


def read_ctranslate2_model(
    source: Source, include: Callable[[str], bool] | None = None
) -> CTranslate2Model:
    """Parse a CTranslate2 ``model.bin`` (path, list of part paths in order, or binary stream).

    ``include(name)`` selects which variables to load; the others are skipped without reading
    their data (seek). Aliases are resolved to the same array as their target (and kept only if
    the alias name passes ``include``). Arrays keep their stored dtype, except bfloat16 -> float32;
    a shape ``(d0, ..., dk)`` is as stored (e.g. Linear weights are ``(out, in)``).
    Raises ``ValueError`` naming the file for a wrong version, truncation or corruption.
    """
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        paths = [Path(source)]
    elif isinstance(source, Sequence):
        paths = [Path(p) for p in source]
        if not paths:
            raise ValueError("read_ctranslate2: empty list of part files")
    else:
        return _parse(_PartsReader([source], name), include)
    streams = [open(p, "rb") for p in paths]  # noqa: SIM115 - closed below
    try:
        return _parse(_PartsReader(streams, name), include)
    finally:
        for s in streams:
            s.close()


def read_ctranslate2(
    source: Source, include: Callable[[str], bool] | None = None
) -> dict[str, np.ndarray]:
    """Variables of a CTranslate2 ``model.bin``: name -> array. See ``read_ctranslate2_model``."""
    return read_ctranslate2_model(source, include).variables


def _parse(reader: _PartsReader, include: Callable[[str], bool] | None) -> CTranslate2Model:
    (version,) = reader.unpack("<I", "binary version")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise ValueError(
            f"{reader.name}: not a supported CTranslate2 model.bin: binary version {version} "
            f"(supported: {', '.join(map(str, SUPPORTED_BINARY_VERSIONS))})"
        )
    spec = reader.string("spec name")
    (revision,) = reader.unpack("<I", "spec revision")
    (n_vars,) = reader.unpack("<I", "variable count")
    if n_vars > _MAX_VARIABLES:
        raise ValueError(f"{reader.name}: corrupt CTranslate2 model: {n_vars} variables")

    variables: dict[str, np.ndarray] = {}
    for i in range(n_vars):
        var = reader.string(f"name of variable {i}")
        (rank,) = reader.unpack("<B", f"rank of {var!r}")
        if rank > _MAX_RANK:
            raise ValueError(f"{reader.name}: corrupt CTranslate2 model: {var!r} has rank {rank}")
        dims = reader.unpack(f"<{rank}I", f"shape of {var!r}")
        dtype_id, nbytes = reader.unpack("<BI", f"dtype and size of {var!r}")
        if dtype_id not in _DTYPES:
            raise ValueError(f"{reader.name}: {var!r} has unknown dtype id {dtype_id}")
        dtype = _DTYPES[dtype_id]
        if nbytes != int(np.prod(dims, dtype=np.int64)) * dtype.itemsize:
            raise ValueError(
                f"{reader.name}: corrupt CTranslate2 model: {var!r} has shape {dims} of "
                f"{dtype} but {nbytes} bytes"
            )
        if include is not None and not include(var):
            reader.skip(nbytes, f"data of {var!r}")
            continue
        array = reader.read_array(nbytes, dtype, f"data of {var!r}").reshape(dims)
        if dtype_id == 5:
            array = (array.astype(np.uint32) << 16).view(np.float32)
        variables[var] = array

    (n_aliases,) = reader.unpack("<I", "alias count")
    aliases = {}
    for i in range(n_aliases):
        alias = reader.string(f"alias {i}")
        aliases[alias] = reader.string(f"target of alias {alias!r}")
    if not reader.at_end():
        raise ValueError(
            f"{reader.name}: unexpected data after the alias table (offset {reader.offset - 1}); "
            "are the part files complete and in order?"
        )
    for alias in aliases:
        target, seen = alias, set()
        while target in aliases and target not in seen:  # chains of aliases
            seen.add(target)
            target = aliases[target]
        if target in variables and (include is None or include(alias)):
            variables[alias] = variables[target]
    return CTranslate2Model(spec=spec, revision=revision, variables=variables)


def model_parts(folder: Path) -> list[Path]:
    """The part files ``model.bin.part1`` .. ``partN`` of a split model in ``folder``, in order."""
    found = {
        int(m.group(1)): p
        for p in folder.iterdir()
        if (m := re.fullmatch(r"model\.bin\.part(\d+)", p.name))
    }
    if sorted(found) != list(range(1, len(found) + 1)):
        raise ValueError(f"{folder}: model.bin parts are not numbered 1..N: {sorted(found)}")
    return [found[i] for i in sorted(found)]


# ----------------------------------------------------------------------------- Whisper encoder


def dequantize(var: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Undo CTranslate2 int8/int16 weight quantization: weight = q / weight_scale (per row or scalar)."""
    out = dict(var)
    for key in [k for k in var if k.endswith("/weight_scale")]:
        weight_key = key[: -len("_scale")]
        scale = var[key].astype(np.float32)
        scale = scale.reshape(-1, *([1] * (var[weight_key].ndim - 1))) if scale.ndim else scale
        out[weight_key] = var[weight_key].astype(np.float32) / scale
        del out[key]
    return out


def whisper_encoder_state(
    var: dict[str, np.ndarray],
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """CTranslate2 ``encoder/...`` variables -> (WhisperEncoder state dict, dims)."""

    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(array, dtype=np.float32, copy=True))

    conv1 = var["encoder/conv1/weight"]  # (d_model, n_mels, 3)
    d = conv1.shape[0]
    state = {
        "conv1.weight": t(conv1),
        "conv1.bias": t(var["encoder/conv1/bias"]),
        "conv2.weight": t(var["encoder/conv2/weight"]),  # (d_model, d_model, 3)
        "conv2.bias": t(var["encoder/conv2/bias"]),
        "embed_positions.weight": t(var["encoder/position_encodings/encodings"]),  # (1500, d)
        "layer_norm.weight": t(var["encoder/layer_norm/gamma"]),
        "layer_norm.bias": t(var["encoder/layer_norm/beta"]),
    }
    layers = 1 + max(
        (int(m.group(1)) for k in var if (m := re.match(r"encoder/layer_(\d+)/", k))), default=-1
    )
    for i in range(layers):
        src, dst = f"encoder/layer_{i}", f"layers.{i}"
        qkv_w = var[f"{src}/self_attention/linear_0/weight"]  # (3d, d) = [q; k; v]
        qkv_b = var[f"{src}/self_attention/linear_0/bias"]  # (3d,); k's third is zeros
        for j, proj in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{dst}.self_attn.{proj}.weight"] = t(qkv_w[j * d : (j + 1) * d])
            if (
                proj != "k_proj"
            ):  # Whisper's key projection has no bias (a key bias cancels in softmax)
                state[f"{dst}.self_attn.{proj}.bias"] = t(qkv_b[j * d : (j + 1) * d])
        pairs = {
            "self_attention/linear_1": "self_attn.out_proj",
            "ffn/linear_0": "fc1",  # (ffn, d)
            "ffn/linear_1": "fc2",  # (d, ffn)
        }
        for ct2, hf in pairs.items():
            state[f"{dst}.{hf}.weight"] = t(var[f"{src}/{ct2}/weight"])
            state[f"{dst}.{hf}.bias"] = t(var[f"{src}/{ct2}/bias"])
        for ct2, hf in (
            ("self_attention/layer_norm", "self_attn_layer_norm"),
            ("ffn/layer_norm", "final_layer_norm"),
        ):
            state[f"{dst}.{hf}.weight"] = t(var[f"{src}/{ct2}/gamma"])
            state[f"{dst}.{hf}.bias"] = t(var[f"{src}/{ct2}/beta"])
    dims = {
        "d_model": d,
        "n_mels": conv1.shape[1],
        "layers": layers,
        "ffn": var["encoder/layer_0/ffn/linear_0/weight"].shape[0] if layers else 4 * d,
        "positions": var["encoder/position_encodings/encodings"].shape[0],
    }
    return state, dims


def read_whisper_encoder(
    parts: Sequence[str | os.PathLike],
) -> tuple[dict[str, torch.Tensor], dict[str, int], str]:
    """The encoder of a CTranslate2 ``WhisperSpec`` model: (state dict, dims, stored dtype name).

    ``dims``: d_model, n_mels, layers, ffn, positions, and heads where the file records them
    (``encoder/num_heads``). Raises ``ValueError`` for another spec or a missing variable.
    """
    where = " + ".join(str(p) for p in parts)
    model = read_ctranslate2_model(parts, include=lambda v: v.startswith("encoder/"))
    if model.spec != "WhisperSpec":
        raise ValueError(f"{where}: CTranslate2 spec is {model.spec!r}, expected 'WhisperSpec'")
    var = dequantize(model.variables)
    stored = model.variables["encoder/conv1/weight"].dtype
    try:
        state, dims = whisper_encoder_state(var)
    except KeyError as err:
        raise ValueError(f"{where}: CTranslate2 Whisper encoder lacks variable {err}") from err
    if "encoder/num_heads" in var:
        dims["heads"] = int(var["encoder/num_heads"])
    return state, dims, stored.name
