"""Prosodic features (pitch on known signals, normalisation, guards) and the Prosody baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_data_features import _speechlike
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from baselines.prosody import (
    PROSODY_MODELS,
    ProsodyAttentionClassifier,
    ProsodyAttentionConfig,
    ProsodyClassifier,
    ProsodyConfig,
    ProsodyDistillClassifier,
    ProsodyDistillConfig,
    build_prosody_model,
    speech_frames,
)
from baselines.whisper import whisper_config
from benchmark.data.features import log_mel
from benchmark.data.prosody_features import N_PROSODY, band_energies, pitch_track, prosodic_features

SR = 16000


def _time(seconds: float) -> np.ndarray:
    return np.arange(int(SR * seconds)) / SR


def _voiced_error(f0: np.ndarray, expected: float) -> np.ndarray:
    voiced = f0[f0 > 0]
    assert voiced.size > 0
    return np.abs(voiced / expected - 1.0)


# --- features ---------------------------------------------------------------------------------


def test_pitch_of_a_200hz_tone() -> None:
    f0, periodicity = pitch_track(0.5 * np.sin(2 * np.pi * 200 * _time(2.0)), SR, 200)
    assert (f0 > 0).sum() >= 180  # all but the analysis-window edges
    assert _voiced_error(f0, 200.0).max() < 0.02
    assert periodicity[f0 > 0].min() > 0.9


def test_pitch_of_a_harmonic_rich_120hz_signal() -> None:
    rng = np.random.default_rng(0)
    t = _time(2.0)
    pulse = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 30))  # sawtooth-like
    f0, _ = pitch_track(pulse + 0.01 * rng.standard_normal(t.size), SR, 200)
    assert (f0 > 0).sum() >= 170
    assert np.median(_voiced_error(f0, 120.0)) < 0.01
    assert np.mean(_voiced_error(f0, 120.0) < 0.03) > 0.95  # no octave errors to speak of


def test_features_shape_dtype_and_padding() -> None:
    tone = 0.3 * np.sin(2 * np.pi * 150 * _time(1.0))  # 100 frames of audio
    feats = prosodic_features(tone, SR, 160)
    assert feats.shape == (N_PROSODY, 160) and feats.dtype == np.float32
    assert np.all(feats[:, 101:] == 0.0)  # past the audio: padding frames are 0
    cut = prosodic_features(tone, SR, 50)  # audio longer than n_frames is cut
    assert cut.shape == (N_PROSODY, 50) and np.isfinite(cut).all()


def test_silence_and_nan_give_finite_zeros() -> None:
    silence = prosodic_features(np.zeros(SR), SR, 100)
    assert silence.shape == (N_PROSODY, 100)
    assert np.all(silence == 0.0)
    broken = 0.3 * np.sin(2 * np.pi * 180 * _time(1.0))
    broken[1000:1100] = np.nan
    assert np.isfinite(prosodic_features(broken, SR, 100)).all()
    assert np.isfinite(prosodic_features(np.zeros(10), SR, 20)).all()  # shorter than one window


def test_pitch_rise_and_fall_is_z_normalised_log_pitch_with_signed_delta() -> None:
    t = _time(2.0)
    contour = 1.0 - np.abs(t - 1.0)  # 0 -> 1 -> 0 octaves over 2 s
    freq = 120.0 * 2.0**contour
    melody = 0.5 * np.sin(2 * np.pi * np.cumsum(freq) / SR)
    feats = prosodic_features(melody, SR, 200)
    log_pitch, delta = feats[1], feats[2]
    assert abs(log_pitch.mean()) < 1e-4 and abs(log_pitch.std() - 1.0) < 1e-3
    assert np.corrcoef(log_pitch, contour[::160])[0, 1] > 0.99
    assert delta[20:90].min() > 0.0 > delta[110:180].max()


def test_pitch_frames_are_aligned_with_mel_frames() -> None:
    t = _time(1.5)
    tone = np.where((t >= 0.5) & (t < 1.0), np.sin(2 * np.pi * 220 * t), 0.0)  # frames 50..99
    f0, _ = pitch_track(tone, SR, 150)
    voiced = np.flatnonzero(f0 > 0)
    assert voiced.min() >= 48 and voiced.max() <= 103 and voiced.size >= 45


def test_band_energies_follow_the_given_mel() -> None:
    n = 50
    ramp = np.linspace(-1.0, 1.0, n)
    mel = np.concatenate([np.tile(ramp, (40, 1)), np.tile(-2 * ramp, (40, 1))])  # (80, n)
    energies = band_energies(np.zeros(n * 160), SR, n, mel)
    assert np.allclose(energies[1], ramp) and np.allclose(energies[2], -2 * ramp)
    assert np.allclose(energies[0], -0.5 * ramp)
    feats = prosodic_features(np.zeros(n * 160), SR, n, mel=mel)
    assert np.corrcoef(feats[4], ramp)[0, 1] > 0.999 and np.corrcoef(feats[5], ramp)[0, 1] < -0.999


def test_band_energies_of_the_harness_path_are_pinned() -> None:
    """``load_prosody`` passes no mel: the energies come from ``features.log10_mel``. These are the
    numbers of the code the Prosody rows were run with (float32-rounded bins, float64 means);
    Whisper's floored log-mel, or torch's float32 STFT, would change them."""
    x = _speechlike(1.5)  # 150 frames of signal, then padding
    energies = band_energies(x, SR, 200)
    pinned = {
        0: [-2.6087733519729226, -1.9836645151488483, -3.233882188796997],
        40: [-2.771202989667654, -2.1873031720519065, -3.3551028072834015],
        100: [-2.4584995592944323, -1.376080202125013, -3.540918916463852],
        149: [-2.4553817686624826, -1.6591960424557328, -3.2515674948692324],
        199: [-10.0, -10.0, -10.0],  # padding: log10 of the 1e-10 clamp
    }
    for frame, values in pinned.items():
        np.testing.assert_allclose(energies[:, frame], values, rtol=0, atol=1e-7)


def test_energy_from_own_log_mel_tracks_loudness() -> None:
    t = _time(1.0)
    louder = np.linspace(0.01, 1.0, t.size) * np.sin(2 * np.pi * 300 * t)
    feats = prosodic_features(louder, SR, 100)
    assert np.corrcoef(feats[3, 5:-5], np.arange(5, 95))[0, 1] > 0.9


@pytest.mark.parametrize(
    ("audio", "sample_rate", "n_frames", "mel"),
    [
        (np.zeros((2, 100)), SR, 10, None),
        (np.zeros(1600), 16001, 10, None),
        (np.zeros(1600), SR, 0, None),
        (np.zeros(1600), SR, 10, np.zeros((80, 11))),
    ],
)
def test_bad_inputs_raise(audio, sample_rate, n_frames, mel) -> None:
    with pytest.raises(ValueError):
        prosodic_features(audio, sample_rate, n_frames, mel)


# --- models -----------------------------------------------------------------------------------

N_FRAMES = 40  # 0.4 s: Whisper tiny gives 20 frames
TINY = {
    ProsodyClassifier: ProsodyConfig(
        whisper_size="tiny", prosody_channels=8, acoustic_dim=8, lstm_hidden=16
    ),
    ProsodyAttentionClassifier: ProsodyAttentionConfig(whisper_size="tiny", prosody_channels=8),
    ProsodyDistillClassifier: ProsodyDistillConfig(whisper_size="tiny", dim=16),
}


def _batch(batch: int = 3, n_frames: int = N_FRAMES) -> dict[str, torch.Tensor]:
    return {
        "mel": torch.randn(batch, 80, n_frames),
        "prosody": torch.randn(batch, N_PROSODY, n_frames),
    }


@pytest.mark.parametrize("cls", list(TINY))
def test_tiny_models_run_forward_and_backward(cls) -> None:
    torch.manual_seed(0)
    model = cls(5, N_FRAMES, TINY[cls])
    assert model.inputs == ("mel", "prosody")
    inputs = _batch()
    features = model.features(**inputs)
    assert features.shape == (3, model.feature_dim)
    logits = model(**inputs)
    assert logits.shape == (3, 5) and torch.isfinite(logits).all()
    logits.sum().backward()
    assert model.encoder.layers[0].fc1.weight.grad.abs().sum() > 0
    assert model.encoder.embed_positions.weight.grad is None  # frozen sinusoids


@pytest.mark.parametrize("cls", [ProsodyClassifier, ProsodyAttentionClassifier])
def test_prosody_reaches_the_logits(cls) -> None:
    torch.manual_seed(0)
    model = cls(5, N_FRAMES, TINY[cls]).eval()
    inputs = _batch()
    other = dict(inputs, prosody=torch.randn_like(inputs["prosody"]))
    assert not torch.allclose(model(**inputs), model(**other))


def test_speech_frames_finds_the_end_of_the_audio_in_a_padded_log_mel() -> None:
    tones = [0.3 * np.sin(2 * np.pi * 150 * _time(s)) for s in (0.5, 1.0, 3.0)]
    mel = torch.stack([log_mel(t, 200) for t in tones])  # 2 s: the 3 s tone is cropped
    frames = speech_frames(mel)
    assert frames[2] == 200
    # the centred STFT window (25 ms) reaches 1-2 frames past the last sample
    assert 50 <= frames[0] <= 52 and 100 <= frames[1] <= 102
    assert speech_frames(torch.zeros(1, 80, 30)).tolist() == [1]  # silence: one frame


def test_prosody_lstm_is_read_at_the_last_frame_of_speech() -> None:
    torch.manual_seed(0)
    model = ProsodyClassifier(5, N_FRAMES, TINY[ProsodyClassifier]).eval()
    tone = 0.3 * np.sin(2 * np.pi * 150 * _time(0.2))  # 20 of 40 frames
    mel = log_mel(tone, N_FRAMES)[None]
    prosody = torch.randn(1, N_PROSODY, N_FRAMES)
    late = prosody.clone()
    late[:, :, 34:] = 5.0  # prosody frames 17-19 at 20 ms: after the readout step (10-11) and
    # beyond the two k5 convolutions' reach (+-4 frames), so only later LSTM steps see them
    assert torch.allclose(model(mel, prosody), model(mel, late))
    early = prosody.clone()
    early[:, :, :8] = 5.0
    assert not torch.allclose(model(mel, prosody), model(mel, early))


def test_prosody_length_must_match() -> None:
    model = ProsodyAttentionClassifier(5, N_FRAMES, TINY[ProsodyAttentionClassifier])
    with pytest.raises(ValueError, match="prosody"):
        model(torch.randn(1, 80, N_FRAMES), torch.randn(1, N_PROSODY, N_FRAMES // 2))


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    ("name", "num_classes", "expected", "paper"),
    [
        ("prosody", 31, 21_034_911, 21.04e6),
        ("prosody", 58, 21_041_850, 21.04e6),
        ("prosody-distill", 31, 21_445_184, 21.47e6),
        ("prosody-distill", 58, 21_472_886, 21.47e6),
    ],
)
def test_full_size_parameter_counts(name, num_classes, expected, paper) -> None:
    with torch.device("meta"):  # shapes only, no memory
        model = build_prosody_model(name, num_classes)
    assert _trainable(model) == expected
    assert abs(_trainable(model) / paper - 1.0) < 0.01


def test_unknown_model_name_lists_known() -> None:
    with pytest.raises(ValueError, match="prosody-distill"):
        build_prosody_model("prosody_lstm", 31)
    assert set(PROSODY_MODELS) == {"prosody", "prosody-distill", "prosody-attention"}


def test_distillation_loss_is_finite_and_reaches_both_branches() -> None:
    torch.manual_seed(0)
    model = ProsodyDistillClassifier(5, N_FRAMES, TINY[ProsodyDistillClassifier])
    labels = torch.tensor([0, 3, 4])
    loss, logits = model.training_loss(labels, **_batch())
    assert torch.isfinite(loss) and logits.shape == (3, 5)
    loss.backward()
    for module in (
        model.encoder,
        model.acoustic_proj,
        model.acoustic_pool,
        model.acoustic_head,
        model.prosody_encoder,
        model.prosody_pool,
        model.prosody_head,
    ):
        grads = [p.grad for p in module.parameters() if p.requires_grad]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_distillation_prosody_stage_trains_the_prosody_branch_only() -> None:
    torch.manual_seed(0)
    model = ProsodyDistillClassifier(5, N_FRAMES, TINY[ProsodyDistillClassifier])
    model.set_stage("prosody")
    loss, logits = model.training_loss(torch.tensor([1, 2, 0]), **_batch())
    loss.backward()
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(logits, torch.tensor([1, 2, 0])))
    assert model.prosody_head.weight.grad is not None
    assert all(p.grad is None for p in model.encoder.parameters())
    assert model.acoustic_head.weight.grad is None
    with pytest.raises(ValueError, match="joint"):
        model.set_stage("acoustic")


def test_distillation_inference_ignores_prosody() -> None:
    torch.manual_seed(0)
    model = ProsodyDistillClassifier(5, N_FRAMES, TINY[ProsodyDistillClassifier]).eval()
    inputs = _batch()
    assert torch.equal(model(**inputs), model(inputs["mel"]))


@pytest.mark.parametrize("cls", list(TINY))
def test_load_encoder_state_crops_pretrained_positions(cls) -> None:
    torch.manual_seed(0)
    pretrained = WhisperEncoder(whisper_config("tiny")).state_dict()  # 1500 positions
    model = cls(5, N_FRAMES, TINY[cls])
    model.load_encoder_state(pretrained)
    state = model.encoder.state_dict()
    assert torch.equal(
        state["embed_positions.weight"], pretrained["embed_positions.weight"][: N_FRAMES // 2]
    )
    assert torch.equal(state["layers.0.fc1.weight"], pretrained["layers.0.fc1.weight"])
    assert not model.encoder.embed_positions.weight.requires_grad
    assert model(**_batch(1)).shape == (1, 5)
