"""Packed inference (quads/packed.py): weights kept as packed indices + codebook in memory give
the same logits, bit for bit, as the model dequantized on load; errors name the file."""

import pytest
import torch
from small_student import WhisperHead, small_student
from torch import nn

from baselines.registry import build_model, example_inputs
from baselines.skeleton import meta_skeleton
from quads.codebook import SUPPORTED_BITS, dequantize, fit_codebook, pack_indices
from quads.export import FP16_VALUES, PACKED, load_quantized, read_metadata, save_quantized
from quads.packed import PackedCodebookWeight, load_packed, tensor_nbytes
from quads.quantize import CodebookQuantizer, QuantConfig


def _skeleton(classes: int = 7) -> WhisperHead:
    # other random weights than the saved model: all must come from the file
    return small_student(123, classes)


def _quantized_file(tmp_path, bits: int, fp16_centroids: bool = False):
    """A small student after a quantized training step, exported; returns (path, input)."""
    torch.manual_seed(0)
    model = WhisperHead()
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(1))
    q = CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    nn.functional.cross_entropy(model(x), torch.tensor([1, 3])).backward()
    opt.step()
    if fp16_centroids:
        with torch.no_grad():
            for _, module in q:
                module.weight_centroids.copy_(module.weight_centroids.half().float())
    path = tmp_path / f"student-{bits}.safetensors"
    save_quantized(model, q, path, {"bits": bits}, skip=r"embed_positions")
    return path, x


@pytest.mark.parametrize("bits", SUPPORTED_BITS)
def test_packed_weight_equals_the_gather_at_every_bit_width(bits):
    """Byte tables (1, 2, 4), the direct gather (8), grouped unpacking (3, 5, 6, 7) and 16 bits:
    the same values as dequantize(C, I), on a length that leaves a partly filled last byte."""
    shape = (7, 13)  # 91 values: 91 * b bits is not a whole number of bytes for odd b
    values = torch.randn(shape, generator=torch.Generator().manual_seed(bits))
    centroids, indices = fit_codebook(values, bits)
    weight = PackedCodebookWeight(centroids, bits, shape)
    got = weight(pack_indices(indices, bits))
    assert torch.equal(got, dequantize(centroids, indices, shape))
    k = min(2**bits, 91)
    assert repr(weight) == f"PackedCodebookWeight(bits={bits}, shape={shape}, codebook={k})"


@pytest.mark.parametrize("bits", [4, 8])
def test_packed_logits_equal_the_dequantized_models(tmp_path, bits):
    path, x = _quantized_file(tmp_path, bits)
    dequantized = load_quantized(path, _skeleton())
    packed = load_packed(path, _skeleton())
    with torch.inference_mode():
        expected, got = dequantized(x), packed(x)
    assert torch.equal(got, expected)
    # covered weights are held packed: uint8 originals, no float weight left in the model
    fc1 = packed.encoder.layers[0].fc1
    assert fc1.parametrizations.weight.original.dtype == torch.uint8
    assert fc1.parametrizations.weight.original.numel() == 128 * 64 * bits // 8
    assert "weight" not in fc1._parameters
    assert tensor_nbytes(packed) < tensor_nbytes(dequantized) * (bits / 32 + 0.2)


def test_whisper_tiny_from_a_meta_skeleton_allocates_no_float_weights(tmp_path):
    """The benchmark's path: the whisper-tiny student, post-training quantized, loaded into a
    meta-device skeleton (only the sinusoidal table is real) at 4 and 8 bits."""
    n_frames = 40
    torch.manual_seed(0)
    model = build_model("whisper-tiny", 31, n_frames).eval()
    x = example_inputs(model, n_frames, batch=2)
    for bits in (4, 8):
        path = tmp_path / f"tiny-{bits}.safetensors"
        save_quantized(model, QuantConfig(bits=bits, kmeans_iters=2), path, {}, "embed_positions")
        torch.manual_seed(0)
        dequantized = load_quantized(path, build_model("whisper-tiny", 31, n_frames)).eval()
        skeleton = meta_skeleton("whisper-tiny", 31, n_frames)
        assert skeleton.encoder.layers[0].fc1.weight.is_meta
        packed = load_packed(path, skeleton).eval()
        with torch.inference_mode():
            assert torch.equal(packed(**x), dequantized(**x))
        assert tensor_nbytes(packed) < tensor_nbytes(dequantized) * (bits / 32 + 0.05)


def test_fp16_values_stay_fp16_in_memory_and_match(tmp_path):
    """16 bits with fp16-exact centroids: stored as fp16 values, kept as fp16, cast on access."""
    path, x = _quantized_file(tmp_path, 16, fp16_centroids=True)
    assert {info["storage"] for info in read_metadata(path)["quantized"].values()} == {FP16_VALUES}
    packed = load_packed(path, _skeleton())
    assert packed.encoder.layers[0].fc1.parametrizations.weight.original.dtype == torch.float16
    with torch.inference_mode():
        assert torch.equal(packed(x), load_quantized(path, _skeleton())(x))


def test_16_bit_packed_indices_match(tmp_path):
    path, x = _quantized_file(tmp_path, 16)
    assert PACKED in {info["storage"] for info in read_metadata(path)["quantized"].values()}
    with torch.inference_mode():
        assert torch.equal(load_packed(path, _skeleton())(x), load_quantized(path, _skeleton())(x))


def test_errors_name_the_file(tmp_path):
    path, _ = _quantized_file(tmp_path, 4)
    with pytest.raises(
        ValueError, match=r"student-4\.safetensors does not fit.*head\.(weight|bias)"
    ):
        load_packed(path, _skeleton(classes=9))
    with torch.device("meta"):
        skeleton = WhisperHead()  # its positional table (skipped by the file) is still meta
    with pytest.raises(ValueError, match=r"student-4.*meta device.*embed_positions\.weight"):
        load_packed(path, skeleton)


def test_meta_skeleton_equals_a_random_init_skeleton_on_the_skipped_table():
    torch.manual_seed(0)
    real = build_model("whisper-tiny", 31, 40)
    skeleton = meta_skeleton("whisper-tiny", 31, 40)
    table = skeleton.encoder.embed_positions.weight
    assert not table.is_meta and not table.requires_grad
    assert torch.equal(table, real.encoder.embed_positions.weight)
