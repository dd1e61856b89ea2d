"""Six prosodic features per 10 ms frame, aligned with the log-mel frames (Prosody baselines).

After S. Rajaa (Interspeech 2023, github skit-ai/slu-prosody), who used Kaldi's pitch (NCCF,
log-pitch, delta) and band energies. Kaldi's pitch tracker is not on PyPI in a maintained form, so
pitch comes from Praat's autocorrelation tracker (Boersma 1993) through ``praat-parselmouth``:
prebuilt wheels, about 4 ms per second of audio on one core, and each frame's candidates carry the
normalised autocorrelation peak, which is the NCCF-like periodicity Kaldi exposes.

Rows of the output, each z-normalised over the frames that hold audio:
  0 periodicity: best normalised autocorrelation among voiced candidates (0 when unvoiced)
  1 log-pitch: ln F0, linearly interpolated through unvoiced frames (Kaldi-style continuous pitch)
  2 pitch delta: frame-to-frame slope of row 1
  3 energy of all mel bands, 4 low band (mel bins [0, 40)), 5 high band (mel bins [40, 80)):
    the mean log-mel over those bins
Frame i is centred at ``i * 10 ms`` like Whisper's log-mel (STFT with ``center=True``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth

from benchmark.data.features import SAMPLE_RATE, log10_mel

N_PROSODY = 6
FRAME_RATE = 100  # frames per second: 10 ms hop, as the log-mel


@dataclass(frozen=True)
class ProsodyFeatureConfig:
    pitch_floor: float = 60.0  # Hz; Praat's window is 3 periods of the floor (50 ms)
    pitch_ceiling: float = 500.0  # Hz; skit-ai used Kaldi's 20..500 Hz


def pitch_track(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    config: ProsodyFeatureConfig = ProsodyFeatureConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Raw F0 and periodicity at the log-mel frame times.

    audio: (n_samples,) mono; returns ``f0`` (n_frames,) in Hz, 0 where unvoiced, and
    ``periodicity`` (n_frames,) in [0, 1], the best voiced candidate's normalised autocorrelation.
    """
    _check_inputs(audio, sample_rate, n_frames)
    times = np.arange(n_frames) / FRAME_RATE  # (n_frames,) frame centres in seconds
    f0 = np.zeros(n_frames)
    periodicity = np.zeros(n_frames)
    window = 3.0 / config.pitch_floor  # Praat needs one full analysis window of audio
    if audio.size / sample_rate < window or not np.any(audio):
        return f0, periodicity
    sound = parselmouth.Sound(audio.astype(np.float64), sampling_frequency=float(sample_rate))
    pitch = sound.to_pitch_ac(
        time_step=1.0 / FRAME_RATE,
        pitch_floor=config.pitch_floor,
        pitch_ceiling=config.pitch_ceiling,
    )
    track_times = np.asarray(pitch.xs())  # (n_track,)
    selected = np.nan_to_num(pitch.selected_array["frequency"])  # (n_track,)
    candidates = pitch.to_array()  # (n_candidates, n_track), padded with NaN
    voiced_strength = np.where(candidates["frequency"] > 0, candidates["strength"], 0.0)
    track_periodicity = np.nan_to_num(voiced_strength).max(axis=0).clip(0.0, 1.0)
    periodicity = np.interp(times, track_times, track_periodicity, left=0.0, right=0.0)
    # nearest track frame for F0 (the track has the same 10 ms step, offset by less than a step)
    position = (times - track_times[0]) / pitch.dt
    inside = (position > -0.5) & (position < track_times.size - 0.5)
    nearest = np.clip(np.rint(position), 0, track_times.size - 1).astype(int)
    f0 = np.where(inside, selected[nearest], 0.0)
    return f0, periodicity


def band_energies(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    mel: np.ndarray | None = None,
) -> np.ndarray:
    """Mean log-mel over all / low-half / high-half bands: (3, n_frames).

    ``mel`` (n_mels, n_frames), any log scale (e.g. Whisper's), is used when given; otherwise
    ``benchmark.data.features.log10_mel`` of the audio (16 kHz only), as ``load_prosody`` does.
    """
    if mel is None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(
                f"the log-mel is computed from {SAMPLE_RATE} Hz audio, got {sample_rate} Hz: "
                "resample, or pass mel="
            )
        mel = log10_mel(audio, n_frames)
    mel = np.asarray(mel, dtype=np.float64)
    if mel.ndim != 2 or mel.shape[1] != n_frames or mel.shape[0] < 2:
        raise ValueError(f"mel must have shape (n_mels, {n_frames}), got {mel.shape}")
    half = mel.shape[0] // 2  # 40 of 80 mel bins
    return np.stack([mel.mean(axis=0), mel[:half].mean(axis=0), mel[half:].mean(axis=0)])


def prosodic_features(
    audio: np.ndarray,
    sample_rate: int,
    n_frames: int,
    mel: np.ndarray | None = None,
    config: ProsodyFeatureConfig = ProsodyFeatureConfig(),
) -> np.ndarray:
    """The six prosodic features of one utterance: (6, n_frames) float32.

    audio: (n_samples,) mono at ``sample_rate``; it is cut or (implicitly) zero-padded to
    ``n_frames`` 10 ms frames. mel: optional (n_mels, n_frames) log-mel of the same padded audio.
    Each row is z-normalised over the frames that hold audio; frames past the end of the audio
    (padding) are 0. A row with zero variance (silence, constant pitch) becomes 0; never NaN.
    """
    audio = np.asarray(audio, dtype=np.float64)
    _check_inputs(audio, sample_rate, n_frames)
    audio = np.nan_to_num(audio)
    hop = sample_rate / FRAME_RATE
    audio = audio[: int(round(n_frames * hop))]
    f0, periodicity = pitch_track(audio, sample_rate, n_frames, config)

    voiced = f0 > 0
    if voiced.any():
        frames = np.arange(n_frames)
        log_pitch = np.interp(frames, frames[voiced], np.log(f0[voiced]))
    else:
        log_pitch = np.zeros(n_frames)
    delta = np.gradient(log_pitch) if n_frames > 1 else np.zeros(n_frames)

    rows = np.concatenate(
        [
            np.stack([periodicity, log_pitch, delta]),
            band_energies(audio, sample_rate, n_frames, mel),
        ]
    )  # (6, n_frames)
    n_valid = min(n_frames, max(1, int(np.ceil(audio.size / hop))))
    return _znorm(np.nan_to_num(rows), n_valid).astype(np.float32)


def _znorm(rows: np.ndarray, n_valid: int) -> np.ndarray:
    """Z-normalise each row of (F, T) over its first ``n_valid`` frames; the rest become 0."""
    valid = rows[:, :n_valid]
    mean = valid.mean(axis=1, keepdims=True)
    std = valid.std(axis=1, keepdims=True)
    scale = np.where(std > 1e-8 * np.maximum(1.0, np.abs(mean)), std, np.inf)
    out = np.zeros_like(rows)
    out[:, :n_valid] = (valid - mean) / scale
    return out


def _check_inputs(audio: np.ndarray, sample_rate: int, n_frames: int) -> None:
    if audio.ndim != 1:
        raise ValueError(f"audio must be 1-D (mono), got shape {audio.shape}")
    if sample_rate <= 0 or sample_rate % FRAME_RATE:
        raise ValueError(
            f"sample_rate must be a positive multiple of {FRAME_RATE} Hz, got {sample_rate}"
        )
    if n_frames <= 0:
        raise ValueError(f"n_frames must be positive, got {n_frames}")
