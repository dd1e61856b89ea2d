"""The authors' recipe (quads.cluster_mean + the engine's authors-* phases) on a tiny random
Whisper student: fixed labels, cluster-mean projection, drift kept as mean shifts, the scaled
epoch plan, the cosine period, exact resume and export."""

import pytest
import torch
from mct_kit import projector as _projector
from mct_kit import separable_data as _data
from mct_kit import student as _student

import quads.engine as engine
from quads.cluster_mean import ClusterMeanQuantizer, cluster_means
from quads.codebook import fit_codebook
from quads.engine import run_schedule
from quads.export import load_quantized, save_quantized
from quads.mct import (
    AUTHORS_COSINE_T_MAX,
    QUANT_OPTIM,
    Budget,
    Phase,
    Schedule,
    authors_mct,
)
from quads.quantize import QuantConfig
from quads.train import OptimConfig, make_optimizer

BITS = 2
FAST_D = OptimConfig("adam", lr_encoder=1e-2, lr_head=1e-2)
FAST_Q = OptimConfig("sgd", lr_encoder=0.05, lr_head=0.05, momentum=0.9, cosine=True)


def _schedule(d=(1, 1), q=(1, 2), optim_q=FAST_Q) -> Schedule:
    phases = (
        Phase("authors-distill", d[0], FAST_D),
        Phase("authors-quantize", q[0], optim_q),
        Phase("authors-distill", d[1], FAST_D),
        Phase("authors-quantize", q[1], optim_q),
    )
    return Schedule("authors test", phases, BITS)


def _run(schedule, tmp_path=None, log=lambda s: None, batch_size=4, prefix=None):
    return run_schedule(
        _student(),
        schedule,
        _data(12, 1),
        _data(6, 2),
        seed=0,
        batch_size=batch_size,
        projector=_projector(),
        checkpoint=None if tmp_path is None else tmp_path / "ckpt.pt",
        prefix_cache=prefix,
        identity="authors",
        log=log,
    )


def _initial_labels() -> dict[str, torch.Tensor]:
    """An independent k-means of the untrained student's covered weights."""
    q = ClusterMeanQuantizer(_student(), QuantConfig(bits=BITS))
    return {n: fit_codebook(m.weight, BITS)[1] for n, m in q._modules.items()}


@pytest.fixture
def steps(monkeypatch):
    """Every optimizer step of an authors-quantize phase, seen right after its projection:
    (quantizer, {name: weight copy}, {name: centroid copy}, learning rate of the step)."""
    seen = []
    real = engine.train_epoch

    def spy(*args, after_step=None, **kw):
        if after_step is None:
            return real(*args, after_step=None, **kw)
        fixed, optimizer = after_step.__self__, args[3]

        def record():
            after_step()
            weights = {n: fixed._weight(n).detach().clone() for n in fixed.names}
            books = {n: c.clone() for n, c in fixed.centroids.items()}
            seen.append((fixed, weights, books, optimizer.param_groups[0]["lr"]))

        return real(*args, after_step=record, **kw)

    monkeypatch.setattr(engine, "train_epoch", spy)
    return seen


def test_scaled_plan_is_the_authors_d3_q3_d6_q8_and_follows_the_formula():
    budget = Budget(distill_epochs=9, mct_iterations=3, quant_per_iteration=3, final_epochs=2)
    s = budget.authors_mct(8)
    assert (budget.distill_epochs, budget.quant_epochs) == (9, 11)
    assert [(p.kind, p.epochs) for p in s.phases] == [
        ("authors-distill", 3),
        ("authors-quantize", 3),
        ("authors-distill", 6),
        ("authors-quantize", 8),
    ]
    kinds = [p.kind for p in s.phases for _ in range(p.epochs)]
    assert [i + 1 for i, k in enumerate(kinds) if k == "authors-distill"] == [
        1,
        2,
        3,
        *range(7, 13),
    ]
    assert s.quantized and s.authors and s.bits == 8 and s.budget == "D9 + Q11"
    for d, q in ((2, 2), (2, 3), (4, 4), (10, 12), (20, 22), (40, 41)):
        epochs = [p.epochs for p in authors_mct(4, d, q).phases]
        d1, q1 = max(1, round(d / 3)), max(1, round(3 * q / 11))
        assert epochs == [d1, q1, d - d1, q - q1], (d, q)
    assert [p.epochs for p in authors_mct(4, 2, 3).phases] == [1, 1, 1, 2]
    with pytest.raises(ValueError, match="authors' recipe needs"):
        authors_mct(4, 1, 3)
    with pytest.raises(ValueError, match="mixes"):
        Schedule("mixed", (Phase("distill", 1), Phase("authors-quantize", 1)), 4)


def test_cosine_rate_cycles_every_six_steps_and_restarts_each_epoch(steps):
    _run(_schedule(d=(1, 1), q=(2, 1), optim_q=QUANT_OPTIM), batch_size=1)  # 12 steps an epoch
    rates = [lr for *_, lr in steps]
    assert len(rates) == 3 * 12
    epoch = rates[:12]
    assert epoch[0] == pytest.approx(0.01) and epoch[3] == pytest.approx(0.0, abs=1e-12)
    assert epoch[1] == pytest.approx(0.0075) and epoch[2] == pytest.approx(0.0025)
    assert epoch[6:] == pytest.approx(epoch[:6])  # period 6 = 2 * T_max
    assert rates[12:24] == pytest.approx(epoch) and rates[24:] == pytest.approx(epoch)
    # the same optimizer and scheduler the engine builds, stepped on its own
    p = torch.nn.Parameter(torch.zeros(1))
    opt, sched = make_optimizer([("w", p)], QUANT_OPTIM, AUTHORS_COSINE_T_MAX)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx(epoch)


def test_labels_fixed_and_weights_on_cluster_means_after_every_step(steps):
    out = _run(_schedule())
    initial = _initial_labels()
    assert len(steps) == 3 * 3  # 3 quantization epochs x 3 batches
    for fixed, weights, books, _ in steps:
        for name, w in weights.items():
            labels = fixed.labels[name]
            assert torch.equal(labels, initial[name].to(labels.dtype)), name
            assert torch.equal(cluster_means(w, labels, books[name]), books[name]), name
            assert torch.equal(w.reshape(-1), books[name][labels]), name  # W = C[L]
    # the returned model is exactly C[L] with the initial labels, on an attached codebook
    assert out.quantizer.attached and out.quantizer.bits == BITS
    for name, (centroids, indices) in out.quantizer.codebooks().items():
        assert torch.equal(indices, initial[name].to(indices.dtype)), name
        assert centroids.unique().numel() <= 2**BITS


def test_a_distillation_drift_survives_as_a_shift_of_the_cluster_means(steps):
    # quantization at learning rate 0: its steps only project, so the means it ends with are
    # the means of the weights the distillation phase left
    still = OptimConfig("sgd", lr_encoder=0.0, lr_head=0.0, momentum=0.9, cosine=True)
    distilled = _run(Schedule("d", (Phase("authors-distill", 1, FAST_D),), BITS)).model
    _run(
        Schedule(
            "dq", (Phase("authors-distill", 1, FAST_D), Phase("authors-quantize", 1, still)), BITS
        )
    )
    fixed = steps[0][0]
    start = ClusterMeanQuantizer(_student(), QuantConfig(bits=BITS)).fit()
    params = dict(distilled.named_parameters())
    shifted = 0
    for name in fixed.names:
        drift_means = cluster_means(params[name], fixed.labels[name], start.centroids[name])
        for _, weights, _, _ in steps:  # every step keeps the shifted means
            assert torch.equal(weights[name].reshape(-1), drift_means[fixed.labels[name]]), name
        shifted += int((drift_means - start.centroids[name]).abs().max() > 1e-6)
    assert shifted == len(fixed.names)  # every tensor's means moved with the distillation drift


def test_cluster_mean_projection_moves_only_the_shifted_cluster():
    model = _student()
    q = ClusterMeanQuantizer(model, QuantConfig(bits=BITS)).fit()
    name = q.names[0]
    w, labels = q._weight(name), q.labels[name]
    before = q.centroids[name].clone()
    assert torch.equal(w.detach().reshape(-1), before[labels])  # snapped by fit()
    with torch.no_grad():
        flat = w.view(-1)
        members = (labels == 1).nonzero().squeeze(1)
        flat[members[0]] += 0.5 * members.numel()  # cluster 1's mean rises by 0.5
    q.project()
    assert q.centroids[name][1].item() == pytest.approx(before[1].item() + 0.5, abs=1e-6)
    others = torch.arange(before.numel()) != 1
    assert torch.equal(q.centroids[name][others], before[others])
    assert torch.equal(w.detach().reshape(-1), q.centroids[name][labels])
    assert torch.equal(q.labels[name], labels)
    with pytest.raises(RuntimeError, match="computed once"):
        q.fit()
    assert "fixed" in repr(q) and f"bits={BITS}" in repr(q)


def test_resume_mid_phase_gives_the_uninterrupted_weights_and_labels(tmp_path):
    schedule = _schedule()  # D1 Q1 D1 Q2: epochs 4 and 5 are the final phase
    reference = _run(schedule)

    class Stop(Exception):
        pass

    def stop_mid_final_phase(msg: str) -> None:
        if "epoch 5/" in msg:  # the final quantization phase's second epoch
            raise Stop

    with pytest.raises(Stop):
        _run(schedule, tmp_path, log=stop_mid_final_phase)
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert (saved["phase"], saved["epoch"]) == (3, 1) and saved["cluster_mean"]["labels"]
    resumed = _run(schedule, tmp_path)
    assert resumed.resumed_from == "checkpoint"
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in reference.history]
    for (k, a), (_, b) in zip(
        reference.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    initial = _initial_labels()
    for name, (_, indices) in resumed.quantizer.codebooks().items():
        assert torch.equal(indices, initial[name].to(indices.dtype)), name


def test_prefix_cache_keeps_the_labels_and_is_not_shared_with_our_distillation(tmp_path):
    prefix = tmp_path / "prefix"
    schedule = _schedule()
    first = _run(schedule, prefix=prefix)
    again = _run(schedule, prefix=prefix)
    assert again.resumed_from == "prefix cache"
    for (k, a), (_, b) in zip(
        first.model.state_dict().items(), again.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    entries = {p.name for p in prefix.iterdir()}
    ours = Schedule("Distillation", (Phase("distill", 1, FAST_D),))
    assert _run(ours, prefix=prefix).resumed_from is None
    assert {p.name for p in prefix.iterdir()} - entries  # its own entry, not the authors' one


def test_the_exported_file_loads_back_to_the_same_logits(tmp_path):
    out = _run(_schedule())
    path = tmp_path / "authors.safetensors"
    save_quantized(out.model, out.quantizer, path, {"model": "tiny"}, skip=(r"embed_positions",))
    loaded = load_quantized(path, _student(seed=7)).eval()
    mel = _data(6, 3).tensors["mel"]
    with torch.no_grad():
        assert torch.equal(out.model.eval()(mel=mel), loaded(mel=mel))
