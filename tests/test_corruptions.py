"""Test-time corruptions of the robustness sweep (benchmark/data/corruptions.py): SNRs achieved,
determinism per utterance, different noise per utterance, reverb keeps length, bad arguments."""

import math

import numpy as np
import pytest

from benchmark.data.corruptions import (
    CONDITIONS,
    Condition,
    babble_noise,
    corrupt,
    corrupt_utterance,
    get_condition,
    reverberate,
    synthetic_rir,
    utterance_rng,
)
from benchmark.data.noise import COLORS, colored_noise, speech_power

SR = 16000


def _speech(seed: int, n: int = 2 * SR) -> np.ndarray:
    """A voiced-like signal with pauses: harmonics under a slow on/off envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    f0 = rng.uniform(100, 220)
    x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    envelope = (np.sin(2 * np.pi * rng.uniform(1, 3) * t) > -0.2).astype(float)
    return (0.3 * x * envelope).astype(np.float32)


POOL = {f"test_{i:02d}": _speech(i, SR + 1000 * i) for i in range(6)}


def test_the_registry_holds_every_family_and_level_and_refuses_unknown_names():
    assert len(CONDITIONS) == 3 * 4 + 2
    assert {c.family for c in CONDITIONS.values()} == {"babble", "blue", "violet", "reverb"}
    assert get_condition("babble-0dB").snr_db == 0.0
    assert get_condition("reverb-0.7s").rt60_s == 0.7
    with pytest.raises(ValueError, match="unknown condition 'pink-5dB'; known: babble-20dB"):
        get_condition("pink-5dB")


@pytest.mark.parametrize("name", [n for n in CONDITIONS if not n.startswith("reverb")])
def test_the_snr_is_achieved_within_a_tenth_of_a_db(name):
    c = CONDITIONS[name]
    uid = "test_03"
    x = POOL[uid]
    y = corrupt_utterance(uid, x, c, POOL)
    assert y.shape == x.shape and y.dtype == np.float32
    snr = 10 * math.log10(speech_power(x) / float(np.mean((y.astype(np.float64) - x) ** 2)))
    assert abs(snr - c.snr_db) < 0.1


@pytest.mark.parametrize("name", ["babble-5dB", "violet-10dB", "reverb-0.3s"])
def test_a_corruption_is_a_function_of_the_utterance_id(name):
    c = CONDITIONS[name]
    a = corrupt_utterance("test_01", POOL["test_01"], c, POOL)
    b = corrupt_utterance("test_01", POOL["test_01"], c, dict(reversed(POOL.items())))
    assert np.array_equal(a, b)
    # another utterance id on the same audio: other noise
    other = corrupt_utterance("test_02", POOL["test_01"], c, POOL)
    assert not np.allclose(a, other)


def test_snrs_of_one_family_share_the_waveform_and_differ_in_level():
    x = POOL["test_04"]
    n20 = corrupt_utterance("test_04", x, CONDITIONS["blue-20dB"], POOL) - x
    n0 = corrupt_utterance("test_04", x, CONDITIONS["blue-0dB"], POOL) - x
    assert np.allclose(n0, n20 * 10.0, rtol=1e-3, atol=1e-5)


def test_babble_is_other_utterances_never_the_utterance_itself():
    x = POOL["test_00"]
    only_self = {"test_00": x}
    with pytest.raises(ValueError, match="at least one non-silent other utterance"):
        corrupt_utterance("test_00", x, CONDITIONS["babble-10dB"], only_self)
    # with one other talker, the babble is that talker (looped), unrelated to x
    pool = {"test_00": x, "test_05": POOL["test_05"]}
    noise = corrupt_utterance("test_00", x, CONDITIONS["babble-10dB"], pool) - x
    assert abs(np.corrcoef(noise, x)[0, 1]) < 0.1
    b = babble_noise(1000, [POOL["test_01"], POOL["test_02"]], np.random.default_rng(0), k=4)
    assert b.shape == (1000,) and math.isclose(float(np.sqrt(np.mean(b**2))), 1.0, rel_tol=1e-4)


def test_blue_and_violet_rise_with_frequency_unlike_the_training_colours():
    rng = np.random.default_rng(0)
    high = {}
    for kind in COLORS:
        spec = np.abs(np.fft.rfft(colored_noise(32000, kind, rng))) ** 2
        high[kind] = spec[len(spec) // 2 :].sum() / spec.sum()  # share above 4 kHz
    assert high["brown"] < high["pink"] < high["white"] < high["blue"] < high["violet"]
    with pytest.raises(ValueError, match="unknown noise colour 'grey'"):
        colored_noise(10, "grey", rng)


def test_reverb_keeps_length_and_decays_by_60_db_over_rt60():
    x = POOL["test_02"]
    y = corrupt_utterance("test_02", x, CONDITIONS["reverb-0.7s"], POOL)
    assert y.shape == x.shape and np.isfinite(y).all() and not np.allclose(y, x)
    rir = synthetic_rir(0.5, np.random.default_rng(0))
    assert rir.shape == (8000,) and math.isclose(
        float(np.sum(rir.astype(np.float64) ** 2)), 1.0, rel_tol=1e-5
    )
    first, last = np.mean(rir[:400] ** 2), np.mean(rir[-400:] ** 2)  # 25 ms windows
    assert 50 < 10 * math.log10(first / last) < 65  # ~57 dB between the windows' centres
    assert reverberate(np.zeros(0, np.float32), rir).shape == (0,)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="unknown family"):
        Condition("x", "pink", snr_db=5.0)
    with pytest.raises(ValueError, match="finite snr_db"):
        Condition("x", "blue", snr_db=float("nan"))
    with pytest.raises(ValueError, match="rt60_s in"):
        Condition("x", "reverb", rt60_s=0.0)
    with pytest.raises(ValueError, match="rt60_s must be"):
        synthetic_rir(-1.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"audio must be \(T,\) mono"):
        corrupt(np.zeros((2, 10)), CONDITIONS["blue-5dB"], utterance_rng("a", "blue"))
    with pytest.raises(ValueError, match="babble needs n >= 1"):
        babble_noise(0, [POOL["test_01"]], np.random.default_rng(0))
