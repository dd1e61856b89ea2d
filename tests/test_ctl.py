"""Conformer-Transformer-Large: tiny forward/backward, full-size #params, fvcore sees the attention,
NeMo checkpoint renaming."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from baselines.ctl import CTLClassifier, CTLConfig, load_nemo_checkpoint, nemo_to_ctl_state

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
        CTLClassifier(5, N_FRAMES, CTLConfig(vocab_size=4, bos_id=4))


# --- NeMo checkpoint ---------------------------------------------------------------------------


def _nemo_state(cfg: CTLConfig) -> dict[str, torch.Tensor]:
    """Random tensors under NeMo's SLU names and shapes (ConformerEncoder, TransformerEmbedding,
    TransformerDecoder, MultiLayerPerceptron), as in NeMo's module definitions."""
    d, c, ff, k, h = (
        cfg.d_model,
        cfg.subsampling_channels,
        cfg.ff_expansion * cfg.d_model,
        cfg.conv_kernel,
        cfg.heads,
    )
    shapes: dict[str, tuple[int, ...]] = {
        "preprocessor.featurizer.window": (400,),
        "encoder.pre_encode.conv.0.weight": (c, 1, 3, 3),
        "encoder.pre_encode.conv.0.bias": (c,),
        "encoder.pre_encode.conv.2.weight": (c, c, 3, 3),
        "encoder.pre_encode.conv.2.bias": (c,),
        "encoder.pre_encode.out.weight": (d, c * 20),
        "encoder.pre_encode.out.bias": (d,),
        "encoder.pos_enc.pe": (1, 99, d),
        "embedding.token_embedding.weight": (cfg.vocab_size, d),
        "embedding.token_type_embedding.weight": (1, d),
        "embedding.layer_norm.weight": (d,),
        "embedding.layer_norm.bias": (d,),
        "embedding.position_embedding.pos_enc": (512, d),
        "classifier.mlp.layer0.weight": (cfg.vocab_size, d),
        "classifier.mlp.layer0.bias": (cfg.vocab_size,),
    }
    for i in range(cfg.encoder_layers):
        p = f"encoder.layers.{i}."
        for norm in (
            "norm_feed_forward1",
            "norm_self_att",
            "norm_conv",
            "norm_feed_forward2",
            "norm_out",
        ):
            shapes[p + norm + ".weight"] = shapes[p + norm + ".bias"] = (d,)
        for ffn in ("feed_forward1", "feed_forward2"):
            shapes.update({f"{p}{ffn}.linear1.weight": (ff, d), f"{p}{ffn}.linear1.bias": (ff,)})
            shapes.update({f"{p}{ffn}.linear2.weight": (d, ff), f"{p}{ffn}.linear2.bias": (d,)})
        for lin in ("linear_q", "linear_k", "linear_v", "linear_out"):
            shapes.update({f"{p}self_attn.{lin}.weight": (d, d), f"{p}self_attn.{lin}.bias": (d,)})
        shapes[p + "self_attn.linear_pos.weight"] = (d, d)
        shapes[p + "self_attn.pos_bias_u"] = shapes[p + "self_attn.pos_bias_v"] = (h, d // h)
        shapes.update(
            {
                p + "conv.pointwise_conv1.weight": (2 * d, d, 1),
                p + "conv.pointwise_conv1.bias": (2 * d,),
            }
        )
        shapes.update(
            {p + "conv.depthwise_conv.weight": (d, 1, k), p + "conv.depthwise_conv.bias": (d,)}
        )
        for bn in ("weight", "bias", "running_mean", "running_var"):
            shapes[p + "conv.batch_norm." + bn] = (d,)
        shapes[p + "conv.batch_norm.num_batches_tracked"] = ()
        shapes.update(
            {p + "conv.pointwise_conv2.weight": (d, d, 1), p + "conv.pointwise_conv2.bias": (d,)}
        )
    for j in range(cfg.decoder_layers):
        p = f"decoder.layers.{j}."
        for norm in ("layer_norm_1", "layer_norm_2", "layer_norm_3"):
            shapes[p + norm + ".weight"] = shapes[p + norm + ".bias"] = (d,)
        for attn in ("first_sub_layer", "second_sub_layer"):
            for lin in ("query_net", "key_net", "value_net", "out_projection"):
                shapes.update({f"{p}{attn}.{lin}.weight": (d, d), f"{p}{attn}.{lin}.bias": (d,)})
        shapes.update({p + "third_sub_layer.dense_in.weight": (cfg.decoder_ffn, d)})
        shapes.update({p + "third_sub_layer.dense_in.bias": (cfg.decoder_ffn,)})
        shapes.update({p + "third_sub_layer.dense_out.weight": (d, cfg.decoder_ffn)})
        shapes.update({p + "third_sub_layer.dense_out.bias": (d,)})
    gen = torch.Generator().manual_seed(1)
    state = {name: torch.randn(shape, generator=gen) for name, shape in shapes.items()}
    for name in state:
        if name.endswith("running_var"):
            state[name] = state[name].abs() + 0.5  # a variance
    return state


def _write_nemo(path: Path, state: dict[str, torch.Tensor]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("./model_weights.ckpt")
        info.size = buffer.getbuffer().nbytes
        buffer.seek(0)
        archive.addfile(info, buffer)


def test_load_nemo_checkpoint_covers_every_tensor(tmp_path: Path) -> None:
    nemo = _nemo_state(TINY)
    _write_nemo(tmp_path / "ctl.nemo", nemo)
    model = _tiny()
    head = model.head.weight.clone()
    load_nemo_checkpoint(model, tmp_path / "ctl.nemo")
    state = model.state_dict()
    d = TINY.d_model
    key = "decoder.layers.1.multihead_attn.in_proj_weight"
    assert torch.equal(
        state[key][d : 2 * d], nemo["decoder.layers.1.second_sub_layer.key_net.weight"]
    )
    assert torch.equal(
        state["decoder.layers.0.linear2.bias"],
        nemo["decoder.layers.0.third_sub_layer.dense_out.bias"],
    )
    assert torch.equal(
        state["encoder.layers.1.conv_module.depthwise_conv.bias"],
        nemo["encoder.layers.1.conv.depthwise_conv.bias"],
    )
    assert torch.equal(
        state["encoder.layers.0.conv_module.layer_norm.weight"],
        nemo["encoder.layers.0.norm_conv.weight"],
    )
    assert torch.equal(
        state["encoder.subsampling.out.weight"], nemo["encoder.pre_encode.out.weight"]
    )
    assert torch.equal(
        state["query.token_embedding.weight"], nemo["embedding.token_embedding.weight"]
    )
    assert torch.equal(model.head.weight, head)  # the intent head is ours
    assert torch.isfinite(model.eval()(torch.randn(1, 80, N_FRAMES))).all()


def test_nemo_tied_position_biases_are_copied_to_every_layer() -> None:
    nemo = _nemo_state(TINY)
    tied = torch.randn(TINY.heads, TINY.d_model // TINY.heads)
    for i in range(TINY.encoder_layers):
        del nemo[f"encoder.layers.{i}.self_attn.pos_bias_u"]
    nemo["encoder.pos_bias_u"] = tied
    state = nemo_to_ctl_state(nemo, TINY.encoder_layers)
    for i in range(TINY.encoder_layers):
        assert torch.equal(state[f"encoder.layers.{i}.self_attn.pos_bias_u"], tied)


def test_load_nemo_checkpoint_rejects_mismatches(tmp_path: Path) -> None:
    nemo = _nemo_state(TINY)
    del nemo["encoder.layers.0.norm_out.bias"]
    _write_nemo(tmp_path / "missing.nemo", nemo)
    with pytest.raises(ValueError, match="missing"):
        load_nemo_checkpoint(_tiny(), tmp_path / "missing.nemo")
    with pytest.raises(ValueError, match="unexpected NeMo"):
        nemo_to_ctl_state({"encoder.layers.0.macaron.weight": torch.zeros(1)}, 1)
