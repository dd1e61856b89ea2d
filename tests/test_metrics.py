"""Metrics on modules and labels whose answers are known by hand."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from baselines.whisper import WhisperClassifier
from benchmark.metrics import (
    accuracy,
    count_params,
    gmacs_flop_counter,
    gmacs_fvcore,
    macro_f1,
    paper_size_mb,
)


class _Wrap(nn.Module):
    inputs = ("mel",)

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.inner(mel)


def test_linear_macs_and_params():
    lin = nn.Linear(20, 7)
    x = torch.randn(1, 5, 20)  # 5 positions x 20 in x 7 out
    assert gmacs_fvcore(_Wrap(lin), {"mel": x}) * 1e9 == pytest.approx(5 * 20 * 7)
    assert gmacs_flop_counter(_Wrap(lin), {"mel": x}) * 1e9 == pytest.approx(5 * 20 * 7)
    assert count_params(lin) == 20 * 7 + 7


def test_conv1d_macs():
    conv = nn.Conv1d(4, 6, kernel_size=3, stride=2, padding=1)
    x = torch.randn(1, 4, 10)  # output length (10 + 2 - 3) // 2 + 1 = 5
    expected = 6 * 4 * 3 * 5
    assert gmacs_fvcore(_Wrap(conv), {"mel": x}) * 1e9 == pytest.approx(expected)
    assert gmacs_flop_counter(_Wrap(conv), {"mel": x}) * 1e9 == pytest.approx(expected)


class _Attention(nn.Module):
    """Single-head attention with explicit matmuls: q, k, v, out projections + 2 matmuls."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=False) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q(x), self.k(x), self.v(x)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(x.shape[-1]), dim=-1)
        return self.o(w @ v)


def test_attention_block_macs():
    t, d = 9, 8
    expected = 4 * t * d * d + 2 * t * t * d  # four projections, QK^T and AV
    x = torch.randn(1, t, d)
    assert gmacs_fvcore(_Wrap(_Attention(d)), {"mel": x}) * 1e9 == pytest.approx(expected)
    assert gmacs_flop_counter(_Wrap(_Attention(d)), {"mel": x}) * 1e9 == pytest.approx(expected)


def test_fvcore_and_flop_counter_agree_on_tiny_whisper():
    torch.manual_seed(0)
    model = WhisperClassifier("tiny", num_classes=31, n_frames=200).eval()
    inputs = {"mel": torch.randn(1, 80, 200)}
    fv = gmacs_fvcore(model, inputs)
    fc = gmacs_flop_counter(model, inputs)
    assert fv > 0
    assert abs(fv - fc) / fc < 0.01
    # without layer_norm fvcore counts exactly what FlopCounterMode counts
    assert gmacs_fvcore(model, inputs, count_norms=False) == pytest.approx(fc, rel=1e-9)


def test_whisper_tiny_params_match_paper_fsc_row():
    # Paper Table 1, QUADS on FSC: 7.64 M params, 29.16 MB at 32 bit, 3.65 MB at 4 bit
    model = WhisperClassifier("tiny", num_classes=31, n_frames=200)
    n = count_params(model)
    assert round(n / 1e6, 2) == 7.64
    assert round(paper_size_mb(n, 32), 2) == 29.16
    assert round(paper_size_mb(n, 4), 2) == 3.65
    # the frozen positional table is not counted
    assert count_params(model, trainable_only=False) == n + 100 * 384


def test_count_params_counts_shared_tensors_once():
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, lin)
    assert count_params(model) == 12


def test_accuracy_and_macro_f1_by_hand():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0]
    assert accuracy(y_true, y_pred) == pytest.approx(100 * 4 / 6)
    # class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: tp1 fp0 fn1 -> 2/3
    assert macro_f1(y_true, y_pred) == pytest.approx(100 * (0.5 + 0.8 + 2 / 3) / 3)


def test_macro_f1_counts_predicted_only_classes():
    # class 3 is predicted but never true: it counts with F1 0 (scikit-learn's convention)
    assert macro_f1([0, 0], [0, 3]) == pytest.approx(100 * (2 / 3 + 0) / 2)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="non-empty"):
        accuracy([], [])
    with pytest.raises(ValueError, match="equal"):
        macro_f1([0, 1], [0])
    with pytest.raises(ValueError, match="bits"):
        paper_size_mb(10, 0)


def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_data():
    import numpy as np

    from benchmark.metrics import accuracy, bootstrap_ci, chance_accuracy, macro_f1

    rng = np.random.default_rng(0)

    def sample(n):
        t = rng.integers(0, 10, n)
        p = np.where(rng.random(n) < 0.6, t, rng.integers(0, 10, n))
        return t, p

    t, p = sample(400)
    ci = bootstrap_ci(t, [p])
    assert ci == bootstrap_ci(t, [p])  # deterministic for a seed
    for metric, score in (("accuracy", accuracy(t, p)), ("f1", macro_f1(t, p))):
        lo, hi = ci[metric]
        assert lo < score < hi and hi - lo < 15
    t4, p4 = sample(4000)
    lo, hi = bootstrap_ci(t4, [p4])["accuracy"]
    assert hi - lo < (ci["accuracy"][1] - ci["accuracy"][0]) / 2
    # two seeds: the interval of their mean
    lo, hi = bootstrap_ci(t, [p, t])["accuracy"]
    assert lo < (accuracy(t, p) + 100) / 2 < hi
    assert chance_accuracy([0, 0, 1, 2]) == 50.0
    with pytest.raises(ValueError, match="same length|test set's length"):
        bootstrap_ci(t, [p[:-1]])


def test_a_model_that_mostly_repeats_a_rare_class_is_at_chance_by_macro_f1():
    import numpy as np

    from benchmark.metrics import at_chance, bootstrap_ci, chance_accuracy, chance_f1

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 50, 1000)  # 50 balanced classes: chance accuracy about 2-3 %
    assert chance_f1(truth) == pytest.approx(2.0)
    # the prior-matched guesser scores about chance_f1 in macro F1
    guess = rng.permutation(truth)
    lo, hi = bootstrap_ci(truth, [guess])["f1"]
    assert lo <= chance_f1(truth) <= hi
    # either interval reaching its chance level puts a model at chance: the SLURP Prosody row of
    # the cpu reference (58 classes) had accuracy [3.4, 7.8] above the 1.7 % majority rate and
    # macro F1 [1.1, 3.2] reaching 100 / 58 = 1.7
    slurp_like = np.repeat(np.arange(58), 8)
    assert chance_accuracy(slurp_like) == pytest.approx(100 / 58)
    assert at_chance(slurp_like, 3.4, 1.1)
    assert at_chance(slurp_like, 1.5, 10.0)
    assert not at_chance(slurp_like, 3.4, 1.8)
    # a model right on 60 %: neither
    good = np.where(rng.random(1000) < 0.6, truth, 0)
    ci = bootstrap_ci(truth, [good])
    assert not at_chance(truth, ci["accuracy"][0], ci["f1"][0])


def _old_bootstrap(t, preds, n_resamples=1000, seed=0):
    """The per-recording bootstrap's accuracy as it was written before groups (indices, not
    counts)."""
    idx = np.random.default_rng(seed).integers(0, t.size, size=(n_resamples, t.size))
    acc = sum((t[idx] == p[idx]).mean(1) * 100.0 for p in preds) / len(preds)
    return tuple(float(x) for x in np.percentile(acc, (2.5, 97.5)))


def test_bootstrap_by_sentence_is_wider_when_sentences_repeat():
    """Four recordings of each sentence, right or wrong together (as one sentence's recordings
    tend to be): resampling sentences shows the real noise, resampling recordings hides it."""
    from benchmark.metrics import bootstrap_ci

    rng = np.random.default_rng(3)
    n_sentences, reps = 60, 4
    truth_s = rng.integers(0, 5, n_sentences)
    right_s = rng.random(n_sentences) < 0.6
    pred_s = np.where(right_s, truth_s, (truth_s + 1) % 5)
    truth, pred = np.repeat(truth_s, reps), np.repeat(pred_s, reps)
    groups = np.repeat(np.arange(n_sentences), reps)
    per_rec = bootstrap_ci(truth, [pred])
    per_sent = bootstrap_ci(truth, [pred], groups=groups)
    for m in ("accuracy", "f1"):
        width_rec = per_rec[m][1] - per_rec[m][0]
        width_sent = per_sent[m][1] - per_sent[m][0]
        assert width_sent > 1.5 * width_rec  # about sqrt(4) = 2 for perfectly correlated repeats


def test_one_recording_per_group_is_the_per_recording_bootstrap():
    from benchmark.metrics import bootstrap_ci, resample_counts

    rng = np.random.default_rng(4)
    t = rng.integers(0, 7, 150)
    p = np.where(rng.random(150) < 0.7, t, rng.integers(0, 7, 150))
    plain = bootstrap_ci(t, [p], seed=5)
    assert plain == bootstrap_ci(t, [p], groups=np.arange(150), seed=5)
    # any labelling of singleton groups gives the same resamples once mapped to first appearance
    assert plain == bootstrap_ci(t, [p], groups=np.arange(150)[::-1] * 7 + 1000, seed=5)
    assert plain["accuracy"] == _old_bootstrap(t, [p], seed=5)
    counts = resample_counts(np.arange(150), 20, seed=5)
    assert counts.shape == (20, 150) and (counts.sum(1) == 150).all()


def test_paired_resamples_draw_the_same_groups_with_all_their_recordings():
    from benchmark.metrics import resample_counts

    groups = np.array([7, 7, 7, 3, 3, 9])  # sentences of 3, 2 and 1 recordings
    a, b = resample_counts(groups, 50, seed=1), resample_counts(groups, 50, seed=1)
    assert (a == b).all()  # two rows compared pairwise see identical resamples
    # recordings of one sentence are always drawn together, the same number of times
    assert (a[:, 0] == a[:, 1]).all() and (a[:, 1] == a[:, 2]).all() and (a[:, 3] == a[:, 4]).all()
    per_sentence = a[:, [0, 3, 5]]
    assert (per_sentence.sum(1) == 3).all()  # 3 sentences drawn per resample
    with pytest.raises(ValueError, match="group ids"):
        from benchmark.metrics import bootstrap_ci

        bootstrap_ci([0, 1, 1], [[0, 1, 0]], groups=[0, 1])


def test_other_load_counts_only_other_processes_cpu_time():
    # machine busy 10 s more, of which 4 s were ours, over 5 s of wall time on N cores
    import os

    from benchmark.metrics import cpu_times, other_load

    n = os.cpu_count() or 1
    assert other_load((100.0, 10.0), (110.0, 14.0), 5.0) == pytest.approx(min(6.0 / (5.0 * n), 1))
    assert other_load((100.0, 10.0), (101.0, 11.0), 5.0) == 0.0  # only us
    assert other_load(None, (1.0, 1.0), 5.0) is None
    now = cpu_times()
    assert now is None or (now[0] >= 0 and now[1] >= 0)


def test_a_busy_machine_is_flagged_in_the_energy_note(monkeypatch):
    """An energy figure measured beside other work says so in its note (the report shows it)."""
    from benchmark.metrics import BUSY_MACHINE, EnergyMeasurement
    from benchmark.run import experiment as runner

    measured = EnergyMeasurement(1.0, 0.5, 10, 2.0, "cpu_load", "cpu", other_load=0.4)
    assert measured.other_load > BUSY_MACHINE
    text = runner.energy_note(measured, 300, 32)
    assert "other processes used 40 %" in text and "too high" in text
    idle = EnergyMeasurement(1.0, 0.5, 10, 2.0, "cpu_load", "cpu", other_load=0.01)
    assert "other processes" not in runner.energy_note(idle, 300, 32)
