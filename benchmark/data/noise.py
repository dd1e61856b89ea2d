"""Additive noise for the synthetic corpora: coloured noise, SNR mixing, babble cropping.

Pure numpy functions on (T,) float signals; randomness only through the `rng` argument.
"""

from __future__ import annotations

import numpy as np

# power spectrum ∝ 1/f^a: the training corpora use white / pink / brown (benchmark.data.
# synthetic_plan); blue and violet (rising with frequency) are kept for the robustness sweep
# (benchmark.data.corruptions), so its coloured noise is a family never heard in training
COLORS: dict[str, float] = {"white": 0.0, "pink": 1.0, "brown": 2.0, "blue": -1.0, "violet": -2.0}


def colored_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """(n,) float32 noise of unit RMS; power spectrum ∝ 1/f^a, a = ``COLORS[kind]``: 0 white,
    1 pink, 2 brown, -1 blue, -2 violet."""
    if kind not in COLORS:
        raise ValueError(f"unknown noise colour {kind!r}; known: {', '.join(COLORS)}")
    alpha = COLORS[kind]
    white = rng.standard_normal(n)
    if alpha:
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n)
        f[0] = f[1] if n > 1 else 1.0
        white = np.fft.irfft(spec / f ** (alpha / 2), n)
    return (white / (np.sqrt(np.mean(white**2)) + 1e-12)).astype(np.float32)


def speech_power(x: np.ndarray) -> float:
    """Mean power over samples above -60 dB of the peak (ignores espeak's own pauses)."""
    active = x[np.abs(x) > 1e-3 * (np.abs(x).max() + 1e-12)]
    return float(np.mean(active**2)) if active.size else 0.0


def mix_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, speech_pow: float
) -> np.ndarray:
    """speech + noise scaled so that 10·log10(speech_pow / noise power) = snr_db."""
    noise_pow = float(np.mean(noise**2)) + 1e-12
    gain = np.sqrt(speech_pow / (noise_pow * 10 ** (snr_db / 10)))
    return speech + gain * noise


def loop_crop(track: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) excerpt of `track` from a random offset, looping the track as often as needed."""
    if n <= 0:
        return np.zeros(0, track.dtype)
    start = int(rng.integers(len(track)))
    reps = int(np.ceil((start + n) / len(track)))
    return np.tile(track, reps)[start : start + n]
