"""The CTranslate2 ``model.bin`` reader, on files written by our own writer (``write_ct2``)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest

from baselines.ctranslate2_format import read_ctranslate2, read_ctranslate2_model


def write_ct2(
    path: Path,
    variables: dict[str, tuple[int, np.ndarray]],
    aliases: dict[str, str] | None = None,
    version: int = 6,
    spec: str = "WhisperSpec",
) -> Path:
    """Our own model.bin writer: variables are name -> (CTranslate2 dtype id, array)."""

    def string(s: str) -> bytes:
        raw = s.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = [struct.pack("<I", version), string(spec), struct.pack("<II", 3, len(variables))]
    for name, (dtype_id, array) in variables.items():
        out += [string(name), struct.pack("<B", array.ndim)]
        out += [struct.pack(f"<{array.ndim}I", *array.shape), struct.pack("<B", dtype_id)]
        data = np.ascontiguousarray(array).tobytes()
        out += [struct.pack("<I", len(data)), data]
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    out += [string(a) + string(t) for a, t in aliases.items()]
    path.write_bytes(b"".join(out))
    return path


# ----------------------------------------------------------------------------- reader


def sample_variables() -> dict[str, tuple[int, np.ndarray]]:
    rng = np.random.default_rng(0)
    return {
        "a/weight": (0, rng.standard_normal((3, 5)).astype(np.float32)),
        "a/half": (4, rng.standard_normal((4,)).astype(np.float16)),
        "b/int8": (1, np.arange(-3, 3, dtype=np.int8).reshape(2, 3)),
        "b/scalar": (2, np.array(6, dtype=np.int16)),
        "b/int32": (3, np.arange(4, dtype=np.int32)),
        "c/bf16": (5, np.array([0x3F80, 0xC000], dtype=np.uint16)),  # bfloat16 1.0, -2.0
    }


def test_reader_round_trip_parts_streams_and_filter(tmp_path):
    variables = sample_variables()
    path = write_ct2(tmp_path / "model.bin", variables, {"alias": "a/weight", "alias2": "alias"})
    model = read_ctranslate2_model(path)
    assert (model.spec, model.revision) == ("WhisperSpec", 3)
    got = model.variables
    for name, (dtype_id, array) in variables.items():
        if dtype_id != 5:
            np.testing.assert_array_equal(got[name], array)
            assert got[name].dtype == array.dtype
    np.testing.assert_array_equal(got["c/bf16"], np.array([1.0, -2.0], dtype=np.float32))
    assert got["alias"] is got["a/weight"] and got["alias2"] is got["a/weight"]

    data = path.read_bytes()
    cuts = [0, 7, 60, len(data) - 3, len(data)]  # split mid-header, mid-tensor, in the aliases
    parts = []
    for i, (lo, hi) in enumerate(zip(cuts, cuts[1:], strict=False)):
        parts.append(tmp_path / f"model.bin.part{i + 1}")
        parts[-1].write_bytes(data[lo:hi])
    from_parts = read_ctranslate2(parts)
    from_stream = read_ctranslate2(io.BytesIO(data))
    for other in (from_parts, from_stream):
        assert set(other) == set(got)
        for name in got:
            np.testing.assert_array_equal(other[name], got[name])

    only_b = read_ctranslate2(parts, include=lambda n: n.startswith("b/"))
    assert set(only_b) == {"b/int8", "b/scalar", "b/int32"}


def test_reader_truncated_file_names_the_file(tmp_path):
    path = write_ct2(tmp_path / "cut.bin", sample_variables())
    path.write_bytes(path.read_bytes()[:-9])
    with pytest.raises(ValueError, match=r"cut\.bin.*truncated"):
        read_ctranslate2(path)
    with pytest.raises(ValueError, match=r"cut\.bin.*truncated"):
        read_ctranslate2(path, include=lambda n: False)  # truncation seen while skipping too


def test_reader_wrong_version_names_the_file(tmp_path):
    path = write_ct2(tmp_path / "v5.bin", sample_variables(), version=5)
    with pytest.raises(ValueError, match=r"v5\.bin.*binary version 5"):
        read_ctranslate2(path)
    other = tmp_path / "weights.safetensors"
    other.write_bytes(b"\x10\x02\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError, match=r"weights\.safetensors.*binary version"):
        read_ctranslate2(other)


def test_reader_rejects_trailing_data(tmp_path):
    path = write_ct2(tmp_path / "model.bin", sample_variables())
    extra = tmp_path / "model.bin.part2"
    extra.write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="after the alias table"):
        read_ctranslate2([path, extra])
