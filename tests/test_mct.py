"""Training strategies on a tiny random Whisper student: schedules, resume, prefix sharing."""

import pytest
import torch
import torch.nn.functional as F
from mct_kit import projector as _projector
from mct_kit import separable_data as _data
from mct_kit import student as _student

from quads.distill import DistillConfig, distillation_loss, l1_alignment
from quads.engine import phase_key, run_schedule
from quads.mct import (
    Phase,
    Schedule,
    authors_mct,
    distillation_only,
    finetune,
    mct,
    quantization_after_distillation,
)
from quads.train import (
    OptimConfig,
    epoch_order,
    load_checkpoint,
    resolve_precision,
    save_checkpoint,
)

FAST = OptimConfig("adam", lr_encoder=1e-3, lr_head=1e-2)


def _run(
    schedule,
    tmp_path=None,
    prefix=None,
    log=lambda s: None,
    identity="t",
    precision="fp32",
    stop_when=None,
):
    return run_schedule(
        _student(),
        schedule,
        _data(12, 1),
        _data(6, 2),
        seed=0,
        batch_size=4,
        projector=_projector(),
        checkpoint=None if tmp_path is None else tmp_path / "ckpt.pt",
        prefix_cache=prefix,
        identity=identity,
        log=log,
        precision=precision,
        stop_when=stop_when,
    )


def test_schedules_have_the_papers_structure():
    s = mct(bits=4, iterations=5, distill_epochs=1, quant_epochs=1, final_epochs=2)
    assert [p.kind for p in s.phases] == ["distill", "quantize"] * 5 + ["quantize"]
    assert s.quantized and s.bits == 4 and s.epochs == 12
    a = authors_mct(8)
    kinds = [p.kind for p in a.phases for _ in range(p.epochs)]
    assert len(kinds) == 20
    assert [i + 1 for i, k in enumerate(kinds) if k == "authors-distill"] == [
        1,
        2,
        3,
        *range(7, 13),
    ]
    qad = quantization_after_distillation(16, 1, 2, 1)
    assert [p.kind for p in qad.phases] == ["distill", "distill", "quantize"]
    assert not distillation_only(2).quantized
    with pytest.raises(ValueError, match="phase kind"):
        Phase("prune", 1)
    with pytest.raises(ValueError, match="no bits"):
        Schedule("x", (Phase("quantize", 1),))


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    assert torch.equal(epoch_order(10, 3, 2), epoch_order(10, 3, 2))
    assert not torch.equal(epoch_order(10, 3, 2), epoch_order(10, 3, 3))


def test_distillation_loss_is_eq3():
    model, proj = _student(), _projector()
    batch = {k: v[:4] for k, v in _data(4, 0).tensors.items()}
    feats = model.features(mel=batch["mel"])
    logits = model.head(feats)
    l1 = l1_alignment(proj(feats, batch["teacher"])[0], batch["teacher"])
    ce = F.cross_entropy(logits, batch["labels"])
    for alpha in (0.0, 0.3, 1.0):
        loss, _ = distillation_loss(proj, DistillConfig(alpha=alpha))(model, batch)
        assert loss.item() == pytest.approx((alpha * l1 + (1 - alpha) * ce).item(), rel=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        DistillConfig(alpha=1.5)


def test_two_step_training_reproduces_stored_losses():
    # stored from a run of this exact configuration (seeded, CPU); a change in the loss, the
    # optimizer groups or the data order changes these numbers
    out = run_schedule(
        _student(),
        finetune(2, FAST),
        _data(8, 1),
        _data(6, 2),
        seed=0,
        batch_size=8,
        log=lambda s: None,
    )
    losses = [h["loss"] for h in out.history]
    assert losses == pytest.approx(STORED_FINETUNE_LOSSES, rel=1e-4)


STORED_FINETUNE_LOSSES = [1.158201, 1.096129]


def test_mct_ends_on_codebooks_with_at_most_2_to_the_b_values():
    out = _run(
        mct(
            bits=2,
            iterations=1,
            distill_epochs=1,
            quant_epochs=1,
            final_epochs=1,
            optim_d=FAST,
            optim_q=FAST,
        )
    )
    assert out.quantizer is not None and out.quantizer.attached
    assert len(out.history) == 3
    for name, module in out.quantizer:
        assert module.weight.unique().numel() <= 4, name
    # the positional table stays float and untouched
    assert all("embed_positions" not in n for n in out.quantizer.names)


def test_interrupted_run_resumes_to_the_same_model(tmp_path):
    schedule = mct(
        bits=2,
        iterations=1,
        distill_epochs=2,
        quant_epochs=1,
        final_epochs=1,
        optim_d=FAST,
        optim_q=FAST,
    )
    reference = _run(schedule)

    class Stop(Exception):
        pass

    def stop_after_epoch_2(msg: str) -> None:
        if "epoch 2/" in msg:
            raise Stop

    with pytest.raises(Stop):
        _run(schedule, tmp_path, log=stop_after_epoch_2)
    assert (tmp_path / "ckpt.pt").exists()
    resumed = _run(schedule, tmp_path)
    assert resumed.resumed_from == "checkpoint"
    assert [h["loss"] for h in resumed.history] == pytest.approx(
        [h["loss"] for h in reference.history], rel=1e-6
    )
    for (k, a), (_, b) in zip(
        reference.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k
    assert not (tmp_path / "ckpt.pt").exists()


def test_strategies_share_their_first_phase_through_the_prefix_cache(tmp_path):
    distill = distillation_only(1, 1, FAST)
    first = _run(distill, prefix=tmp_path)
    assert first.resumed_from is None
    again = _run(distill, prefix=tmp_path)
    assert again.resumed_from == "prefix cache"
    # MCT shares only the first distillation phase with it
    schedule = Schedule("MCT", (distill.phases[0], Phase("quantize", 1, FAST)), bits=2)
    shared = _run(schedule, prefix=tmp_path)
    fresh = _run(schedule)
    assert shared.resumed_from == "prefix cache"
    assert [h["loss"] for h in shared.history] == pytest.approx(
        [h["loss"] for h in fresh.history], rel=1e-6
    )
    # a different identity (other data or init) never reuses the cache
    other = _run(schedule, prefix=tmp_path, identity="other")
    assert other.resumed_from is None


def test_a_first_phase_one_bit_width_trained_is_reused_by_another(tmp_path):
    # the shared first distillation phase is keyed without bits; the first row to finish it
    # (here 16-bit MCT) stores it, and a row of another bit width must resume from it exactly as
    # it would train it (a crash here stopped the converged run at 8 bits, seed 2)
    def mct_at(bits):
        return Schedule("MCT", (Phase("distill", 1, FAST), Phase("quantize", 1, FAST)), bits=bits)

    sixteen = _run(mct_at(16), prefix=tmp_path)
    # an entry as stored before the fix: with the 16-bit run's quantizer state in it
    entry_path = tmp_path / f"{phase_key('t', mct_at(16), 1, 0)}.pt"
    entry = load_checkpoint(entry_path)
    assert entry["quantizer"] is None  # a prefix every bit width shares holds no quantizer
    save_checkpoint(entry_path, entry | {"quantizer": sixteen.quantizer.state_dict()})
    shared = _run(mct_at(8), prefix=tmp_path)
    fresh = _run(mct_at(8))
    assert shared.resumed_from == "prefix cache"
    assert [h["loss"] for h in shared.history] == pytest.approx(
        [h["loss"] for h in fresh.history], rel=1e-6
    )
    assert shared.quantizer.bits == 8


def test_reused_prefix_never_supplies_the_final_model(tmp_path):
    # QaD = the whole Distillation schedule + a quantization phase: the best-on-valid model must
    # come from the quantization phase even when the cached distillation scored higher
    _run(distillation_only(1, 1, FAST), prefix=tmp_path)
    qad = _run(quantization_after_distillation(2, 1, 1, 1, FAST, FAST), prefix=tmp_path)
    assert qad.resumed_from == "prefix cache"
    assert qad.best_epoch == 3
    assert qad.quantizer.attached


def test_a_checkpoint_from_another_configuration_is_not_resumed(tmp_path):
    schedule = finetune(3, FAST)

    class Stop(Exception):
        pass

    def stop(msg: str) -> None:
        if "epoch 2/" in msg:  # the checkpoint of epoch 1 exists by then
            raise Stop

    with pytest.raises(Stop):
        _run(schedule, tmp_path, log=stop, identity="corpus A")
    messages = []
    out = _run(schedule, tmp_path, log=messages.append, identity="corpus B")
    assert out.resumed_from is None
    assert any("another configuration" in m for m in messages)


def test_only_the_encoder_gets_the_encoder_learning_rate():
    from baselines.registry import build_model
    from quads.train import make_optimizer

    model = build_model("prosody", 5, 20)
    opt, _ = make_optimizer(list(model.named_parameters()), FAST, 10)
    lr_of = {id(p): g["lr"] for g in opt.param_groups for p in g["params"]}
    for name, p in model.named_parameters():
        if not p.requires_grad:  # the frozen positional table
            assert id(p) not in lr_of, name
            continue
        expected = FAST.lr_encoder if name.startswith("encoder.") else FAST.lr_head
        assert lr_of[id(p)] == expected, name


def _trained_weights(precision: str, bits: int | None = None) -> dict[str, torch.Tensor]:
    schedule = mct(bits, 1, 1, 1, 1, FAST, FAST) if bits else distillation_only(1, 1, FAST)
    out = _run(schedule, precision=precision)
    return {k: v.clone() for k, v in out.model.state_dict().items()}


@pytest.mark.parametrize("bits", [None, 4])
def test_bf16_training_is_deterministic_and_not_fp32(bits):
    first, again = _trained_weights("bf16", bits), _trained_weights("bf16", bits)
    for k in first:
        torch.testing.assert_close(first[k], again[k], rtol=0, atol=0)
        if first[k].is_floating_point():
            assert first[k].dtype == torch.float32  # autocast: the weights stay float32
    fp32 = _trained_weights("fp32", bits)
    floats = [k for k in first if first[k].is_floating_point()]
    assert any(not torch.equal(first[k], fp32[k]) for k in floats)
    # same training, other rounding: close to the fp32 weights, not far off
    assert max((first[k] - fp32[k]).abs().max().item() for k in floats) < 0.05


def test_precision_names_are_checked():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) in ("fp32", "bf16")
    with pytest.raises(ValueError, match="unknown precision 'fp16'"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision must be"):
        run_schedule(
            _student(),
            finetune(1, FAST),
            _data(4, 1),
            _data(2, 2),
            seed=0,
            log=lambda s: None,
            precision="auto",
        )


# --- equal budgets and the final phase ------------------------------------------------------


def test_every_strategy_of_a_budget_distills_for_the_same_epochs():
    from quads.mct import Budget

    budget = Budget(4, 2, 1, 2, FAST, FAST)
    dist, qad, m = budget.distillation(), budget.quantization_after_distillation(4), budget.mct(4)
    assert dist.epochs_of("distill") == qad.epochs_of("distill") == m.epochs_of("distill") == 4
    # QaD and MCT quantize for as long as each other: only the order of phases differs
    assert qad.epochs_of("quantize") == m.epochs_of("quantize") == 2 * 1 + 2
    assert dist.epochs_of("quantize") == 0
    # all three share their first distillation phase (the prefix cache computes it once)
    assert dist.phases[0] == qad.phases[0] == m.phases[0]
    assert (dist.budget, qad.budget, m.budget) == ("D4", "D4 + Q4", "D4 + Q4")


def test_mct_alternates_at_least_twice_and_ends_on_a_frozen_final_phase():
    from quads.mct import Budget

    kinds = [p.kind for p in Budget(2, 2, 1, 1, FAST, FAST).mct(4).phases]
    assert kinds == ["distill", "quantize", "distill", "quantize", "quantize"]
    phases = Budget(2, 2, 1, 1, FAST, FAST).mct(4).phases
    assert [p.frozen for p in phases] == [False, False, False, False, True]
    with pytest.raises(ValueError, match="mct_iterations must be >= 2"):
        Budget(2, 1, 1, 1)
    with pytest.raises(ValueError, match="split evenly"):
        Budget(3, 2, 1, 1)
    with pytest.raises(ValueError, match="frozen=True needs a quantize phase"):
        Phase("distill", 1, FAST, frozen=True)


def test_the_final_phase_keeps_assignments_and_trains_only_centroids():
    """Stop before the final phase, then run it: indices and non-codebook weights stay fixed."""
    from quads.mct import Budget

    schedule = Budget(2, 2, 1, 1, FAST, FAST).mct(2)
    before_final = Schedule("MCT", schedule.phases[:-1], 2)
    a = _run(before_final)
    # rerun the full schedule: the first four phases are identical (same seed, same data)
    b = _run(schedule)
    assert b.quantizer.frozen and not a.quantizer.frozen
    # the best epoch of `a` is its only final-phase epoch, the last one: compare with b's start
    sa, sb = a.model.state_dict(), b.model.state_dict()
    for key in sa:
        if key.endswith("weight_indices"):
            assert torch.equal(sa[key], sb[key]), key
        elif key.endswith("weight_centroids"):
            assert not torch.equal(sa[key], sb[key]), key
        elif sa[key].is_floating_point():
            assert torch.equal(sa[key], sb[key]), key


def test_stop_when_ends_the_final_phase_early_and_keeps_it_out_of_the_prefix_cache(tmp_path):
    schedule = distillation_only(6)
    asked = []

    def after_three(history):
        asked.append(len(history))
        return len(history) == 3

    out = _run(schedule, prefix=tmp_path / "prefix", stop_when=after_three)
    assert [h["epoch"] for h in out.history] == [1, 2, 3] and asked == [1, 2, 3]
    assert 1 <= out.best_epoch <= 3
    assert not list((tmp_path / "prefix").glob("*.pt"))  # not the 6-epoch phase its key names


def test_a_float_twin_keeps_its_best_epoch_of_any_phase_and_mct_its_final_phases():
    """select="all" (MCT's float twin, early-stopped before PTQ) keeps the best validation epoch
    over every phase; the default keeps the final phase's best, as a quantized row must. A
    second phase at a destructive rate makes the best epoch an early one."""
    from quads.engine import accuracy_percent, phase_key

    wreck = OptimConfig("adam", lr_encoder=10.0, lr_head=100.0)
    phases = (Phase("finetune", 3, FAST), Phase("finetune", 2, wreck))
    final, every = Schedule("twin", phases), Schedule("twin", phases, select="all")
    valid = _data(60, 2)

    def run(schedule):
        kit = dict(seed=0, batch_size=4, projector=_projector(), precision="fp32")
        return run_schedule(_student(), schedule, _data(24, 1), valid, **kit)

    a, b = run(final), run(every)
    acc = [h["valid_accuracy"] for h in a.history]
    assert acc == [h["valid_accuracy"] for h in b.history]  # the same training
    assert max(acc[:3]) > max(acc[3:])  # the premise: the best epoch is in the first phase
    assert b.best_epoch == 1 + acc.index(max(acc)) <= 3
    assert a.best_epoch == 4 + acc[3:].index(max(acc[3:]))
    assert accuracy_percent(b.model, valid, "cpu", "fp32") == pytest.approx(max(acc))
    # its checkpoints and prefix entries are its own; every other schedule keeps its keys
    assert phase_key("t", every, 1, 0) != phase_key("t", final, 1, 0)
    with pytest.raises(ValueError, match="select='all' is for float schedules"):
        Schedule("q", (Phase("quantize", 1, FAST),), bits=2, select="all")
    with pytest.raises(ValueError, match="select must be one of"):
        Schedule("twin", phases, select="best")
