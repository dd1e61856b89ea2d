"""On-disk format (quads/export.py): exact reload, metadata, skipped tensors, size, the
smallest lossless form per tensor (fp16 at 16 bits), reading version-1 files."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from small_student import SMALL_WHISPER, WhisperHead, small_student
from torch import nn

from quads.codebook import dequantize, fit_codebook, pack_indices
from quads.export import (
    FORMAT_NAME,
    load_quantized,
    measured_size_bytes,
    read_metadata,
    save_quantized,
)
from quads.quantize import CodebookQuantizer, QuantConfig


class Toy(nn.Module):
    """Conv1d + LayerNorm + Linear head + a frozen deterministic table (not to be stored)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, width, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, width)
        self.head = nn.Linear(width, 5)
        pos = torch.arange(6.0)[:, None] / (10.0 ** (torch.arange(float(width)) / width))
        self.embed_positions = nn.Parameter(torch.sin(pos), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 4, 6)
        h = self.conv(x).transpose(1, 2) + self.embed_positions  # (B, 6, W)
        return self.head(torch.relu(self.fc(self.norm(h))).mean(1))  # (B, 5)


def _whisper(seed: int) -> WhisperHead:
    return small_student(seed)


def _train_step(model: nn.Module, x: torch.Tensor, classes: int) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    y = torch.arange(x.shape[0]) % classes
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def test_toy_round_trip_gives_identical_logits(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1))
    q = CodebookQuantizer(model, QuantConfig(bits=4)).attach()
    _train_step(model, x, 5)  # centroids move away from the k-means fit
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "toy.safetensors"
    nbytes = save_quantized(model, q, path, {"width": 8}, skip=("embed_positions",))
    assert nbytes == measured_size_bytes(path) == path.stat().st_size
    torch.manual_seed(123)
    skeleton = Toy()
    assert load_quantized(path, skeleton) is skeleton
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)
    meta = read_metadata(path)
    assert meta["bits"] == 4 and meta["model_config"] == {"width": 8}
    assert set(meta["quantized"]) == {"conv.weight", "fc.weight", "head.weight"}
    assert meta["quantized"]["conv.weight"] == {
        "shape": [8, 4, 3],
        "dtype": "float32",
        "storage": "packed",
        "codebook_size": 16,
        "codebook_dtype": "float32",  # trained centroids are not fp16-exact
    }
    assert meta["skipped"] == ["embed_positions"]
    assert "conv.bias" in meta["float"] and "norm.weight" in meta["float"]
    with safe_open(str(path), framework="pt") as f:
        keys = set(f.keys())
        assert f.get_tensor("indices/fc.weight").dtype == torch.uint8
        assert f.get_tensor("indices/fc.weight").numel() == 64 * 4 // 8
    assert not any("embed_positions" in k for k in keys)
    assert "float/fc.weight" not in keys


def test_whisper_encoder_round_trip_without_positional_table(tmp_path):
    model = _whisper(seed=0)
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(2))
    q = CodebookQuantizer(model, QuantConfig(bits=3)).attach()
    assert not any("embed_positions" in n for n in q.names)
    model.train()
    _train_step(model, x, 7)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "whisper.safetensors"
    save_quantized(model, q, path, SMALL_WHISPER, skip=r"embed_positions")
    meta = read_metadata(path)
    assert meta["skipped"] == ["encoder.embed_positions.weight"]
    assert len(meta["quantized"]) == 15  # 2 convs + 2 x 6 attention/FFN linears + head
    assert meta["model_config"] == SMALL_WHISPER
    with safe_open(str(path), framework="pt") as f:
        stored = list(f.keys())
    assert stored and not any("embed_positions" in k for k in stored)
    skeleton = _whisper(seed=99)  # other random weights, same deterministic sinusoid table
    load_quantized(path, skeleton)
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)


def test_post_training_quantization_from_a_config(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "ptq.safetensors"
    save_quantized(model, QuantConfig(bits=2), path, {}, skip=lambda key: key == "embed_positions")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # unchanged
    torch.manual_seed(7)
    skeleton = load_quantized(path, Toy())
    c, i = fit_codebook(model.fc.weight, 2)
    assert torch.equal(skeleton.fc.weight, dequantize(c, i, (8, 8)))
    assert torch.equal(skeleton.norm.bias, model.norm.bias)


def test_detached_quantizer_must_match_the_weights(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    q = CodebookQuantizer(model, QuantConfig(bits=4)).attach().detach()
    save_quantized(model, q, tmp_path / "ok.safetensors", {})  # weights still C[I]
    with torch.no_grad():
        model.fc.weight.add_(0.01)
    with pytest.raises(ValueError, match="changed"):
        save_quantized(model, q, tmp_path / "bad.safetensors", {})


def test_load_and_save_errors(tmp_path):
    torch.manual_seed(0)
    model = Toy()
    path = tmp_path / "m.safetensors"
    save_quantized(model, QuantConfig(bits=4), path, {}, skip="embed_positions")
    attached = Toy()
    CodebookQuantizer(attached, QuantConfig(bits=4)).attach()
    with pytest.raises(ValueError, match="attached"):
        load_quantized(path, attached)
    with pytest.raises(ValueError, match="lacks"):
        load_quantized(path, Toy(width=8).head)  # the file has keys the skeleton lacks
    with pytest.raises(ValueError, match="not in the file"):
        load_quantized(tmp_path / "m.safetensors", _WithExtra())
    with pytest.raises(ValueError, match="model_config"):
        save_quantized(model, QuantConfig(bits=4), tmp_path / "x.safetensors", {"f": object()})
    with pytest.raises(ValueError, match="quantizer_or_config"):
        save_quantized(model, 4, tmp_path / "x.safetensors", {})
    plain = tmp_path / "plain.safetensors"
    save_file({"a": torch.zeros(2)}, str(plain))
    with pytest.raises(ValueError, match="not a quads-codebook file"):
        read_metadata(plain)


class _WithExtra(Toy):
    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(2, 2)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_file_size_is_packed_payload_plus_small_overhead(tmp_path, bits):
    """bytes = ceil(n b / 8) per weight + 4 k per codebook + float leftovers + header.

    Bound: header (8-byte length + safetensors JSON + our metadata JSON) < 2 KiB for this
    model of 3 covered tensors and 5 float tensors.
    """
    torch.manual_seed(0)
    model = Toy(width=128)
    path = tmp_path / f"size{bits}.safetensors"
    q = CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
    nbytes = save_quantized(model, q, path, {"width": 128}, skip=("embed_positions",))
    stats = q.stats()
    packed = sum(-(-s.numel * bits // 8) for s in stats)
    codebooks = sum(4 * s.codebook_size for s in stats)
    floats = [v for k, v in model.state_dict().items() if k.endswith("bias")] + [model.norm.weight]
    # leftovers are fp16 when lossless (LayerNorm's ones and zeros), else fp32
    leftovers = sum(v.numel() * (2 if _fp16_exact(v) else 4) for v in floats)
    payload = packed + codebooks + leftovers
    assert payload < nbytes < payload + 2048
    numel = sum(s.numel for s in stats)
    assert nbytes <= numel * bits / 8 + 2**bits * 4 * 3 + leftovers + 2048
    header = json.loads(path.read_bytes()[8 : 8 + int.from_bytes(path.read_bytes()[:8], "little")])
    assert json.loads(header["__metadata__"]["quads"])["bits"] == bits
    assert {i["storage"] for i in read_metadata(path)["quantized"].values()} == {"packed"}


def test_loading_into_a_model_with_another_class_count_names_the_file(tmp_path):
    from baselines.whisper import WhisperClassifier, WhisperDims

    dims = WhisperDims(d_model=16, layers=1, heads=2, ffn=32)
    torch.manual_seed(0)
    model = WhisperClassifier("tiny", 5, 20, dims=dims)
    path = tmp_path / "five.safetensors"
    save_quantized(model, QuantConfig(bits=4), path, {"classes": 5}, skip=r"embed_positions")
    other = WhisperClassifier("tiny", 7, 20, dims=dims)
    with pytest.raises(
        ValueError, match=r"five\.safetensors.*head\.weight: file \(5, 16\) vs model \(7, 16\)"
    ):
        load_quantized(path, other)


def _fp16_exact(t: torch.Tensor) -> bool:
    return torch.equal(t.half().float(), t)


def _round_to_fp16(model: nn.Module, keep: str = "embed_positions") -> None:
    """What the caller does before a 16-bit export: every parameter (centroids included)
    rounded to fp16, except the positional table that is not stored (the skeleton's
    fp32 sinusoids would otherwise differ from the in-memory model)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if keep not in name:
                p.copy_(p.half().float())


def _plain_fp16_size(model: nn.Module, path, skip: str = "embed_positions") -> int:
    state = {
        k: v.detach().half().contiguous() for k, v in model.state_dict().items() if skip not in k
    }
    save_file(state, str(path))
    return path.stat().st_size


def _trained_whisper(bits: int, x: torch.Tensor) -> tuple[WhisperHead, CodebookQuantizer]:
    model = _whisper(seed=0)
    q = CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
    model.train()
    _train_step(model, x, 7)
    return model.eval(), q


def test_16_bit_fp16_rounded_model_is_no_larger_than_plain_fp16(tmp_path):
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(3))
    model, q = _trained_whisper(16, x)
    _round_to_fp16(model)
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "w16.safetensors"
    nbytes = save_quantized(model, q, path, SMALL_WHISPER, skip=r"embed_positions")
    meta = read_metadata(path)
    assert meta["version"] == 2 and meta["bits"] == 16
    assert len(meta["quantized"]) == 15
    assert {i["storage"] for i in meta["quantized"].values()} == {"fp16-values"}
    assert all(i["dtype"] == "float32" for i in meta["quantized"].values())
    assert {i["stored"] for i in meta["float"].values()} == {"float16"}
    assert all(i["dtype"] == "float32" for i in meta["float"].values())
    with safe_open(str(path), framework="pt") as f:
        assert list(f.keys()) == ["fp16"]  # the whole file is fp16
        assert f.get_tensor("fp16").dtype == torch.float16
    q.detach()  # the float state dict W = C[I], as a plain fp16 file would store it
    plain = _plain_fp16_size(model, tmp_path / "plain.safetensors")
    assert nbytes <= plain
    skeleton = _whisper(seed=99)
    load_quantized(path, skeleton)
    assert all(p.dtype == torch.float32 for p in skeleton.parameters())
    reference = model.state_dict()
    assert all(torch.equal(v, reference[k]) for k, v in skeleton.state_dict().items())
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)


def test_16_bit_centroids_not_fp16_exact_stay_packed_and_lossless(tmp_path):
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(4))
    model, q = _trained_whisper(16, x)  # trained fp32 centroids: not fp16-exact
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "w16.safetensors"
    save_quantized(model, q, path, SMALL_WHISPER, skip=r"embed_positions")
    meta = read_metadata(path)
    for info in meta["quantized"].values():
        assert info["storage"] == "packed" and info["codebook_dtype"] == "float32"
    skeleton = _whisper(seed=99)
    load_quantized(path, skeleton)
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)


def test_fp16_exact_4_bit_codebooks_are_stored_as_fp16_and_stay_packed(tmp_path):
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(5))
    model, q = _trained_whisper(4, x)
    _round_to_fp16(model)
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "w4.safetensors"
    save_quantized(model, q, path, SMALL_WHISPER, skip=r"embed_positions")
    meta = read_metadata(path)
    assert {(i["storage"], i["codebook_dtype"]) for i in meta["quantized"].values()} == {
        ("packed", "float16")
    }
    with safe_open(str(path), framework="pt") as f:
        assert f.get_tensor("codebook/head.weight").dtype == torch.float16
        assert f.get_tensor("indices/head.weight").numel() == 7 * 64 * 4 // 8
    skeleton = _whisper(seed=99)
    load_quantized(path, skeleton)
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)


def _save_version_1(model, q, path, model_config, skip: str) -> None:
    """A version-1 file as `save_quantized` wrote it before version 2."""
    books = q.codebooks()
    tensors, quantized, floats, skipped = {}, {}, [], []
    for name, module in q:
        centroids, indices = books[name]
        tensors[f"indices/{name}"] = pack_indices(indices, q.bits)
        tensors[f"codebook/{name}"] = centroids.detach().to(torch.float32).contiguous()
        quantized[name] = {
            "shape": list(module._quads_weight_shape),
            "dtype": "float32",
            "codebook_size": int(centroids.numel()),
        }
    covered = {name[: -len("weight")] for name in books}
    for key, value in model.state_dict().items():
        prefix, _, leaf = key.rpartition(".")
        if f"{prefix}." in covered and leaf in ("weight_centroids", "weight_indices"):
            continue
        if skip in key:
            skipped.append(key)
            continue
        tensors[f"float/{key}"] = value.detach().contiguous().clone()
        floats.append(key)
    meta = {
        "format": FORMAT_NAME,
        "version": 1,
        "bits": q.bits,
        "quantized": quantized,
        "float": floats,
        "skipped": skipped,
        "model_config": model_config,
    }
    save_file(tensors, str(path), metadata={"quads": json.dumps(meta, sort_keys=True)})


def test_version_1_files_still_load(tmp_path):
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(6))
    model, q = _trained_whisper(4, x)
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "v1.safetensors"
    _save_version_1(model, q, path, SMALL_WHISPER, skip="embed_positions")
    meta = read_metadata(path)
    assert meta["version"] == 1 and meta["skipped"] == ["encoder.embed_positions.weight"]
    skeleton = _whisper(seed=99)
    load_quantized(path, skeleton)
    with torch.no_grad():
        assert torch.equal(skeleton(x), expected)


def test_unknown_version_is_refused(tmp_path):
    path = tmp_path / "v3.safetensors"
    meta = {"format": FORMAT_NAME, "version": 3, "bits": 4}
    save_file({"a": torch.zeros(2)}, str(path), metadata={"quads": json.dumps(meta)})
    with pytest.raises(ValueError, match="version 3 unsupported"):
        read_metadata(path)
