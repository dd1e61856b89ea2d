"""Conformer-Transformer-Large: tiny forward/backward, full-size #params, fvcore sees the attention,
NeMo checkpoint renaming."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from baselines.ctl import CTLClassifier, CTLConfig

TINY = CTLConfig(
    d_model=32,
    encoder_layers=2,
    heads=4,
    ff_expansion=2,
    conv_kernel=5,
    subsampling_channels=8,
    decoder_layers=2,
    decoder_heads=4,
    decoder_ffn=48,
    vocab_size=8,
)
N_FRAMES = 64  # -> 16 encoder frames


def _tiny(num_classes: int = 5) -> CTLClassifier:
    torch.manual_seed(0)
    return CTLClassifier(num_classes, N_FRAMES, TINY)


def test_tiny_forward_backward() -> None:
    model = _tiny()
    mel = torch.randn(3, 80, N_FRAMES)
    assert model.inputs == ("mel",)
    assert model.features(mel).shape == (3, model.feature_dim)
    logits = model(mel)
    assert logits.shape == (3, 5) and torch.isfinite(logits).all()
    logits.sum().backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, name
    assert model.encoder.subsampling.conv[0].weight.grad.abs().sum() > 0
    assert model.encoder.layers[0].self_attn.pos_bias_v.grad.abs().sum() > 0
    bos_grad = model.query.token_embedding.weight.grad
    assert bos_grad[TINY.bos_id].abs().sum() > 0 and bos_grad[TINY.bos_id + 1].abs().sum() == 0


@pytest.mark.parametrize(
    ("n_frames", "expected"), [(64, 16), (63, 16), (61, 16), (60, 15), (300, 75)]
)
def test_subsampling_is_4x(n_frames, expected) -> None:
    model = _tiny().eval()
    with torch.no_grad():
        assert model.encoder(torch.randn(1, 80, n_frames)).shape == (1, expected, TINY.d_model)
        assert model(torch.randn(2, 80, n_frames)).shape == (2, 5)  # any length works


def test_relative_positions_make_order_matter() -> None:
    model = _tiny().eval()
    mel = torch.randn(1, 80, N_FRAMES)
    with torch.no_grad():
        forward = model.encoder(mel)
        backward = model.encoder(mel.flip(-1)).flip(1)
    assert not torch.allclose(forward, backward, atol=1e-3)


def test_fvcore_counts_the_relative_attention_matmuls() -> None:
    model = _tiny().eval()
    with torch.no_grad():
        flops = FlopCountAnalysis(model, (torch.randn(1, 80, N_FRAMES),))
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        by_op = flops.by_operator()
    t, d = 16, TINY.d_model
    per_layer = t * t * d + t * (2 * t - 1) * d + t * t * d  # content (QK), position (QP), AV
    assert by_op["matmul"] == TINY.encoder_layers * per_layer


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("num_classes", "expected"), [(31, 127_770_143), (58, 127_783_994)])
def test_full_size_parameter_count(num_classes, expected) -> None:
    with torch.device("meta"):  # shapes only, no memory
        model = CTLClassifier(num_classes)
    assert _trainable(model) == expected
    assert abs(_trainable(model) / 127e6 - 1.0) < 0.01  # paper: 127 M
    assert len(model.encoder.layers) == 17 and len(model.decoder.layers) == 3


def test_bad_options_raise() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        CTLClassifier(1, N_FRAMES, TINY)
    with pytest.raises(ValueError, match="bos_id"):
        CTLClassifier(5, N_FRAMES, replace(TINY, vocab_size=4, bos_id=4))
