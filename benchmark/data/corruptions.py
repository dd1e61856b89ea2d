"""Test-time corruptions for the noise-robustness sweep (``quads-bench robustness``).

Every corruption is one the synthetic training corpora never contain (they mix white / pink /
brown noise and babble from a separate bank of babble voices at 20 / 10 / 5 dB,
``benchmark.data.synthetic_plan``):

- ``babble``: a few (``BABBLE_TALKERS``) OTHER test utterances of the same corpus, summed;
- ``blue`` / ``violet``: coloured noise whose power rises with frequency (∝ f, f²);
- ``reverb``: convolution with a synthetic room impulse response (Polack's model, below).

Noise is mixed at 20 / 10 / 5 / 0 dB SNR relative to ``speech_power`` of the utterance itself
(``benchmark.data.noise``). Pure numpy functions on (T,) float signals; randomness only through
an ``rng`` argument, and ``utterance_rng(uid, family)`` makes it a function of the utterance id
and the noise family, so an utterance gets the same noise waveform at every SNR (only its level
differs) and different utterances get different noise.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from benchmark.data.noise import COLORS, colored_noise, loop_crop, mix_at_snr, speech_power

SAMPLE_RATE = 16000
BABBLE_TALKERS = 4  # as the training corpora's babble bank (SyntheticConfig.babble_talkers)
SNRS_DB = (20.0, 10.0, 5.0, 0.0)
RT60S = (0.3, 0.7)  # seconds: a furnished office / a classroom (typical ranges, ISO 3382-2 rooms)
NOISE_FAMILIES = ("babble", "blue", "violet")
FAMILIES = (*NOISE_FAMILIES, "reverb")
TRAINING_NOISE = ("white", "pink", "brown")  # colours the training corpora already contain


@dataclass(frozen=True)
class Condition:
    """One test-time corruption: a noise family at an SNR, or reverberation with an RT60."""

    name: str  # registry key, e.g. "babble-10dB", "reverb-0.3s"
    family: str  # one of FAMILIES
    snr_db: float | None = None  # noise families: speech power / noise power, in dB
    rt60_s: float | None = None  # reverb: seconds for the impulse response to decay by 60 dB

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.family == "reverb":
            if self.rt60_s is None or not (0 < self.rt60_s <= 5) or self.snr_db is not None:
                raise ValueError(f"{self.name}: reverb needs rt60_s in (0, 5] s and no snr_db")
        elif self.snr_db is None or not math.isfinite(self.snr_db) or self.rt60_s is not None:
            raise ValueError(f"{self.name}: {self.family} needs a finite snr_db and no rt60_s")

    @property
    def level(self) -> float:
        """The sweep's x axis: SNR in dB, or RT60 in seconds."""
        return self.snr_db if self.snr_db is not None else float(self.rt60_s)


def _build_registry() -> dict[str, Condition]:
    out = {}
    for family in NOISE_FAMILIES:
        for snr in SNRS_DB:
            c = Condition(f"{family}-{snr:g}dB", family, snr_db=snr)
            out[c.name] = c
    for rt60 in RT60S:
        c = Condition(f"reverb-{rt60:g}s", "reverb", rt60_s=rt60)
        out[c.name] = c
    return out


CONDITIONS: dict[str, Condition] = _build_registry()


def get_condition(name: str) -> Condition:
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {name!r}; known: {', '.join(CONDITIONS)}")
    return CONDITIONS[name]


def utterance_rng(uid: str, family: str) -> np.random.Generator:
    """The generator of one utterance's corruption: a pure function of (uid, family)."""
    digest = hashlib.sha256(f"robustness\0{family}\0{uid}".encode()).digest()
    return np.random.default_rng([int.from_bytes(digest[i : i + 4], "little") for i in (0, 4)])


def babble_noise(
    n: int, talkers: Sequence[np.ndarray], rng: np.random.Generator, k: int = BABBLE_TALKERS
) -> np.ndarray:
    """(n,) float32 babble of unit RMS: ``k`` of ``talkers`` (other utterances, (T_i,) each),
    drawn without replacement, each looped / cropped to n from a random offset and scaled to
    unit ``speech_power``, then summed."""
    pool = [t for t in talkers if t.size and speech_power(t) > 0]
    if not pool:
        raise ValueError("babble needs at least one non-silent other utterance")
    if n < 1 or k < 1:
        raise ValueError(f"babble needs n >= 1 and k >= 1, got n={n}, k={k}")
    picks = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    out = np.zeros(n, np.float64)
    for i in picks:
        voice = pool[int(i)]
        out += loop_crop(voice, n, rng) / math.sqrt(speech_power(voice))
    return (out / (math.sqrt(float(np.mean(out**2))) + 1e-12)).astype(np.float32)


def synthetic_rir(rt60_s: float, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE):
    """(L,) float32 room impulse response of unit energy, L = RT60 · sample_rate samples.

    Polack's statistical model of the late reverberation (J.-D. Polack, "Playing billiards in
    the concert hall: the mathematical foundations of geometrical room acoustics", Applied
    Acoustics 38, 1993): Gaussian noise times exp(-t / τ), with the energy decaying 60 dB in
    RT60 (Sabine's definition): exp(-2·RT60/τ) = 10^-6, so τ = RT60 / (3·ln 10).
    """
    if not (0 < rt60_s <= 5) or sample_rate < 1:
        raise ValueError(
            f"rt60_s must be in (0, 5] s and sample_rate >= 1, got {rt60_s}, {sample_rate}"
        )
    t = np.arange(max(1, int(round(rt60_s * sample_rate)))) / sample_rate  # (L,) seconds
    h = rng.standard_normal(t.size) * np.exp(-t * 3 * math.log(10) / rt60_s)
    return (h / math.sqrt(float(np.sum(h**2)))).astype(np.float32)


def reverberate(audio: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``audio`` (T,) convolved with ``rir`` (L,), cut to T samples (the tail past the end of the
    recording is dropped, as a recorder that stops with the speech would)."""
    from scipy.signal import fftconvolve

    if audio.ndim != 1 or rir.ndim != 1 or rir.size == 0:
        raise ValueError(
            f"reverberate needs (T,) audio and a non-empty (L,) rir, got {audio.shape}, {rir.shape}"
        )
    if audio.size == 0:
        return audio.astype(np.float32)
    return fftconvolve(audio.astype(np.float64), rir.astype(np.float64))[: audio.size].astype(
        np.float32
    )


def corrupt(
    audio: np.ndarray,
    condition: Condition,
    rng: np.random.Generator,
    others: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """(T,) float32: ``audio`` (T,) under ``condition``; ``others`` are the babble talkers
    (other utterances, never ``audio`` itself), needed for the babble family only."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be (T,) mono, got shape {x.shape}")
    if condition.family == "reverb":
        return reverberate(x, synthetic_rir(float(condition.rt60_s), rng))
    if condition.family == "babble":
        noise = babble_noise(x.size, others, rng)
    elif condition.family in COLORS and condition.family not in TRAINING_NOISE:
        noise = colored_noise(x.size, condition.family, rng)
    else:
        raise ValueError(f"{condition.name}: no noise source for family {condition.family!r}")
    return mix_at_snr(x, noise, float(condition.snr_db), speech_power(x)).astype(np.float32)


def corrupt_utterance(
    uid: str, audio: np.ndarray, condition: Condition, pool: Mapping[str, np.ndarray]
) -> np.ndarray:
    """``corrupt`` with the utterance's own generator (``utterance_rng``); babble talkers are
    drawn from ``pool`` (uid -> (T,) audio, e.g. the test split) without ``uid`` itself."""
    others = [pool[u] for u in sorted(pool) if u != uid] if condition.family == "babble" else ()
    return corrupt(audio, condition, utterance_rng(uid, condition.family), others)
