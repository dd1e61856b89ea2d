"""Reading and writing audio with soundfile (no FFmpeg/torchcodec needed).

`read_audio` always returns float32 mono at the requested rate; `read_audio_with_info`
also says what it had to do (resample, downmix) so callers can count it. Anything that
is not usable speech input (unreadable, corrupt, zero samples, NaN/inf) raises
`AudioError`, a `ValueError` whose message names the file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from benchmark.data.cache import atomic_write


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, corrupt, empty or non-finite. Names the file."""


@dataclass(frozen=True)
class AudioInfo:
    """What `read_audio_with_info` found and did."""

    path: str
    source_rate: int
    channels: int
    n_samples: int  # after resampling
    resampled: bool
    downmixed: bool


def resample(audio: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling of a (T,) signal, float32 out. 22050 -> 16000 uses 320/441."""
    if orig_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {target_rate}")
    if orig_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    g = math.gcd(orig_rate, target_rate)
    return resample_poly(audio, target_rate // g, orig_rate // g).astype(np.float32)


def read_audio_with_info(
    path: str | os.PathLike, sample_rate: int = 16000
) -> tuple[np.ndarray, AudioInfo]:
    """Read an audio file as float32 mono (T,) at `sample_rate`, plus what was done to it.

    Multi-channel audio is averaged over channels; other rates are resampled with
    `scipy.signal.resample_poly`. Raises `AudioError` naming the file if it is missing,
    unreadable/corrupt, has zero samples, or contains NaN/inf.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise AudioError(f"{path}: audio file not found")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)  # (T, C)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: cannot read audio ({e})") from e
    n_frames, channels = data.shape
    if n_frames == 0:
        raise AudioError(f"{path}: audio is empty (zero samples)")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: audio contains NaN or infinite samples")
    audio = data[:, 0] if channels == 1 else data.mean(axis=1)
    resampled = rate != sample_rate
    if resampled:
        audio = resample(audio, rate, sample_rate)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    info = AudioInfo(
        path=path,
        source_rate=int(rate),
        channels=int(channels),
        n_samples=int(audio.shape[0]),
        resampled=resampled,
        downmixed=channels > 1,
    )
    return audio, info


def read_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """Float32 mono (T,) at `sample_rate`; see `read_audio_with_info`."""
    return read_audio_with_info(path, sample_rate)[0]


def write_audio(
    path: str | os.PathLike, audio: np.ndarray, sample_rate: int = 16000, subtype: str = "PCM_16"
) -> None:
    """Write a (T,) float signal atomically (temporary file, then rename).

    The format follows the suffix (.wav, .flac); samples are clipped to [-1, 1].
    """
    path = Path(path)
    fmt = {".wav": "WAV", ".flac": "FLAC"}.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"path must end in .wav or .flac, got {path}")
    with atomic_write(path) as tmp:
        sf.write(tmp, np.clip(audio, -1.0, 1.0), sample_rate, subtype=subtype, format=fmt)
