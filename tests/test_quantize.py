"""Codebook quantizer on modules (quads/quantize.py): Eq. 4 gradients, attach/detach, freeze."""

import math

import pytest
import torch
from torch import nn
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from quads.codebook import dequantize, fit_codebook, gather_weight
from quads.quantize import CodebookQuantizer, QuantConfig


class Toy(nn.Module):
    """Linear + Conv1d + Conv2d + LayerNorm + a frozen sinusoidal table named like Whisper's."""

    def __init__(self) -> None:
        super().__init__()
        self.embed_positions = nn.Embedding(6, 8)
        pos = torch.arange(6.0)[:, None] / (10.0 ** (torch.arange(8.0) / 8))
        self.embed_positions.weight.data.copy_(torch.sin(pos))
        self.embed_positions.requires_grad_(False)
        self.conv = nn.Conv1d(4, 8, kernel_size=3, padding=1)
        self.conv2d = nn.Conv2d(1, 2, kernel_size=3, padding=1, bias=False)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 4, 6)
        h = self.conv(x).transpose(1, 2) + self.embed_positions.weight  # (B, 6, 8)
        h = h + self.conv2d(h[:, None]).mean(1)  # (B, 6, 8)
        h = torch.relu(self.fc(self.norm(h)))  # (B, 6, 16)
        return self.head(h.mean(1))  # (B, 5)


def _toy(seed: int = 0) -> Toy:
    torch.manual_seed(seed)
    return Toy()


def _tiny_whisper(seed: int = 0) -> WhisperEncoder:
    torch.manual_seed(seed)
    cfg = WhisperConfig(
        d_model=64,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=128,
        num_mel_bins=80,
        max_source_positions=50,
    )
    return WhisperEncoder(cfg).eval()


TOY_COVERED = ("conv.weight", "conv2d.weight", "fc.weight", "head.weight")


def test_centroid_gradient_is_the_per_cluster_sum_of_weight_gradients():
    """Eq. 4 on a hand-set Linear(3, 2): d L / d C_k = sum of d L / d W_ij over I_ij = k."""
    centroids = torch.tensor([-0.5, 0.1, 0.7, 1.3], requires_grad=True)
    indices = torch.tensor([[3, 0, 1], [1, 1, 0]], dtype=torch.int32)  # cluster 2 is empty
    x = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.4, -1.0]])
    r = torch.tensor([[1.0, 2.0], [-3.0, 0.5]])
    weight = gather_weight(centroids, indices.reshape(-1), (2, 3))
    (nn.functional.linear(x, weight) * r).sum().backward()
    # by hand: L = sum_b sum_o r[b, o] * (x[b] . W[o]) so dL/dW[o, i] = sum_b r[b, o] x[b, i]
    grad_w = r.T @ x  # (2, 3)
    expected = torch.zeros(4)
    for o in range(2):
        for i in range(3):
            expected[indices[o, i]] += grad_w[o, i]
    assert torch.allclose(centroids.grad, expected, atol=1e-6)
    assert centroids.grad[2] == 0
    # same through an attached module with the codebook overwritten by hand
    lin = nn.Linear(3, 2, bias=False)
    q = CodebookQuantizer(lin, QuantConfig(bits=2)).attach()
    with torch.no_grad():
        lin.weight_centroids.copy_(centroids)
        lin.weight_indices.copy_(indices.reshape(-1))
    (lin(x) * r).sum().backward()
    assert torch.allclose(lin.weight_centroids.grad, expected, atol=1e-6)
    assert torch.equal(lin.weight, centroids.detach()[indices.long()])
    assert "bits=2" in repr(q)


def test_gather_gradient_equals_autograd_indexing():
    gen = torch.Generator().manual_seed(0)
    c1 = torch.randn(16, generator=gen, requires_grad=True)
    c2 = c1.detach().clone().requires_grad_(True)
    idx = torch.randint(0, 16, (300,), generator=gen)
    g = torch.randn(20, 15, generator=gen)
    (gather_weight(c1, idx.int(), (20, 15)) * g).sum().backward()
    (c2[idx].view(20, 15) * g).sum().backward()
    assert torch.allclose(c1.grad, c2.grad, atol=1e-5)


def test_attach_detach_round_trip_on_toy_model():
    model = _toy()
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1))
    untouched = {
        n: (p, p.detach().clone()) for n, p in model.named_parameters() if n not in TOY_COVERED
    }
    floats = {n: p for n, p in model.named_parameters() if n in TOY_COVERED}
    q = CodebookQuantizer(model, QuantConfig(bits=3))
    assert q.names == TOY_COVERED  # positional table and norms/biases are not covered
    assert [name for name, _ in q] == list(TOY_COVERED)
    q.attach()
    params = dict(model.named_parameters())
    for name in TOY_COVERED:
        prefix = name.removesuffix("weight")
        assert f"{prefix}weight_centroids" in params and name not in params
        assert all(p is not floats[name] for p in model.parameters())
        assert params[f"{prefix}weight_centroids"].shape == (8,)
    logits_q = model(x)
    books = {n: (c.clone(), i.clone()) for n, (c, i) in q.codebooks().items()}
    q.detach()
    params = dict(model.named_parameters())
    for name, module in q:
        c, i = books[name]
        assert torch.equal(module.weight, dequantize(c, i, module.weight.shape))
        assert isinstance(module.weight, nn.Parameter) and name in params
        assert not hasattr(module, "weight_centroids") and not hasattr(module, "weight_indices")
        assert not module._forward_pre_hooks
    assert torch.equal(model(x), logits_q)
    for name, (param, value) in untouched.items():
        assert params[name] is param and torch.equal(param, value)


def test_whisper_encoder_covered_set_and_forward():
    enc = _tiny_whisper()
    q = CodebookQuantizer(enc, QuantConfig(bits=4))
    assert len(q) == 2 + 2 * 6  # conv1, conv2 + per layer q, k, v, out, fc1, fc2
    assert "embed_positions.weight" not in q.names
    assert not any("layer_norm" in n for n in q.names)
    # the table would be covered if it were an unfrozen Embedding and not excluded by name
    # the table is an Embedding kept out twice: by the default exclude pattern and as frozen
    table_name, table = "embed_positions.weight", enc.embed_positions
    assert QuantConfig(4, ("Embedding",), exclude=(), skip_frozen=False).covers(table, table_name)
    assert not QuantConfig(4, ("Embedding",), skip_frozen=False).covers(table, table_name)
    assert not QuantConfig(4, ("Embedding",), exclude=()).covers(table, table_name)
    frozen_fc = nn.Linear(2, 2).requires_grad_(False)
    assert not QuantConfig(bits=4).covers(frozen_fc, "fc.weight")
    assert QuantConfig(bits=4, skip_frozen=False).covers(frozen_fc, "fc.weight")
    x = torch.randn(2, 80, 100, generator=torch.Generator().manual_seed(2))
    table = enc.embed_positions.weight.detach().clone()
    with torch.no_grad():
        float_out = enc(x).last_hidden_state
    q.attach()
    with torch.no_grad():
        quant_out = enc(x).last_hidden_state
        # the quantized encoder equals a float encoder whose weights are C[I]
        ref = _tiny_whisper(seed=1)
        ref.load_state_dict(
            {k: v for k, v in enc.state_dict().items() if "weight_" not in k}, strict=False
        )
        for name, (c, i) in q.codebooks().items():
            ref.get_submodule(name.removesuffix(".weight")).weight.copy_(
                dequantize(c, i, enc.get_submodule(name.removesuffix(".weight")).weight.shape)
            )
        assert torch.equal(ref(x).last_hidden_state, quant_out)
    assert torch.equal(enc.embed_positions.weight, table)
    assert 0 < (quant_out - float_out).abs().mean() < 0.2 * float_out.abs().mean()


def test_optimizer_built_after_attach_trains_centroids_only():
    model = _toy()
    q = CodebookQuantizer(model, QuantConfig(bits=2)).attach()
    before = {n: (c.clone(), i.clone()) for n, (c, i) in q.codebooks().items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(4, 4, 6, generator=torch.Generator().manual_seed(3))
    y = torch.tensor([0, 1, 2, 3])
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    model(x)  # the pre-hook refreshes module.weight
    for name, module in q:
        c, i = q.codebooks()[name]
        assert not torch.equal(c, before[name][0])
        assert torch.equal(i, before[name][1])
        assert torch.equal(module.weight, dequantize(c, i, module.weight.shape))


def test_warm_start_freeze_and_reattach():
    model = _toy()
    q = CodebookQuantizer(model, QuantConfig(bits=3)).attach()
    first = {n: (c.clone(), i.clone()) for n, (c, i) in q.codebooks().items()}
    q.detach().attach()  # nothing trained in between: warm start reproduces the codebooks
    for name, (c, i) in q.codebooks().items():
        assert torch.equal(c, first[name][0]) and torch.equal(i, first[name][1])
    q.detach()
    with torch.no_grad():  # a "distillation phase" moves the floats
        for _, module in q:
            module.weight.add_(0.05 * torch.randn(module.weight.shape))
    moved = {name: module.weight.detach().clone() for name, module in q}
    q.attach()  # re-cluster, warm-started from the previous centroids
    for name, (c, i) in q.codebooks().items():
        warm = fit_codebook(moved[name], 3, init=first[name][0])
        assert torch.equal(c, warm[0]) and torch.equal(i, warm[1])
    assert any(  # the warm start matters: a cold fit differs on at least one tensor
        not torch.equal(c, fit_codebook(moved[name], 3)[0])
        for name, (c, _) in q.codebooks().items()
    )
    second = {n: (c.clone(), i.clone()) for n, (c, i) in q.codebooks().items()}
    q.detach()
    with torch.no_grad():  # another float phase
        for _, module in q:
            module.weight.add_(0.05 * torch.randn(module.weight.shape))
    moved = {name: module.weight.detach().clone() for name, module in q}
    q.freeze().attach()
    assert q.frozen and q.attached
    for name, (c, i) in q.codebooks().items():
        assert torch.equal(i, second[name][1])  # assignments kept
        w = moved[name].reshape(-1)
        for k in range(c.numel()):
            members = w[i.long() == k]
            if members.numel():
                assert math.isclose(float(c[k]), float(members.double().mean()), abs_tol=1e-6)
            else:
                assert c[k] == second[name][0][k]


def test_state_dict_restores_attached_structure():
    model = _toy()
    q = CodebookQuantizer(model, QuantConfig(bits=2)).attach()
    state, weights = q.state_dict(), {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(2, 4, 6, generator=torch.Generator().manual_seed(4))
    expected = model(x)
    fresh = _toy(seed=5)
    q2 = CodebookQuantizer(fresh, QuantConfig(bits=2))
    q2.load_state_dict(state)
    fresh.load_state_dict(weights)
    assert q2.attached and torch.equal(fresh(x), expected)
    with pytest.raises(ValueError, match="bits"):
        CodebookQuantizer(_toy(), QuantConfig(bits=4)).load_state_dict(state)


def test_stats_repr_and_errors():
    model = _toy()
    q = CodebookQuantizer(model, QuantConfig(bits=4))
    stats = {s.name: s for s in q.stats()}
    assert stats["fc.weight"].numel == 128 and stats["fc.weight"].codebook_size == 16
    assert stats["conv2d.weight"].numel == 18 and stats["conv2d.weight"].codebook_size == 16
    assert stats["head.weight"].shape == (5, 16) and stats["head.weight"].bits == 4
    text = repr(q)
    assert "bits=4" in text and "tensors=4" in text and "conv.weight" in text
    with pytest.raises(RuntimeError):
        q.detach()
    with pytest.raises(RuntimeError):
        q.codebooks()
    q.attach()
    with pytest.raises(RuntimeError):
        q.attach()
    with pytest.raises(ValueError, match="already"):
        CodebookQuantizer(model, QuantConfig(bits=4))
    with pytest.raises(ValueError, match="no weight"):
        CodebookQuantizer(nn.LayerNorm(4), QuantConfig(bits=4))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"bits": 9}, "bits"),
        ({"bits": 4, "module_types": ("LSTM",)}, "Conv1d"),
        ({"bits": 4, "exclude": ("(",)}, "exclude"),
        ({"bits": 4, "exclude": "embed"}, "exclude"),
        ({"bits": 4, "kmeans_iters": -1}, "kmeans_iters"),
        ({"bits": 4, "init_method": "random"}, "init_method"),
    ],
)
def test_bad_config_raises_value_error_naming_it(kwargs, word):
    with pytest.raises(ValueError, match=word):
        QuantConfig(**kwargs)
