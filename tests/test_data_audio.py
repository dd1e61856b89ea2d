"""read_audio: resampling, downmixing, and clear errors for unusable files."""

import numpy as np
import pytest
import soundfile as sf

from benchmark.data.audio import AudioError, read_audio, read_audio_with_info, write_audio


def _sine(rate, seconds=1.0, freq=440.0, amp=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x, rate=16000):
    spec = np.abs(np.fft.rfft(x))
    return np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spec)]


@pytest.mark.parametrize("rate", [8000, 44100])
def test_other_rates_are_resampled_to_16k(tmp_path, rate):
    path = tmp_path / f"a{rate}.wav"
    sf.write(path, _sine(rate), rate)
    audio, info = read_audio_with_info(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 16000) <= 1
    assert info.resampled and info.source_rate == rate and not info.downmixed
    assert abs(_peak_hz(audio) - 440.0) < 2.0
    assert np.abs(audio[200:-200]).max() == pytest.approx(0.5, abs=0.02)


def test_16k_mono_is_returned_unchanged(tmp_path):
    x = _sine(16000)
    path = tmp_path / "a.flac"
    sf.write(path, x, 16000)  # FLAC, PCM16
    audio, info = read_audio_with_info(path)
    assert not info.resampled and not info.downmixed and info.channels == 1
    np.testing.assert_allclose(audio, x, atol=1 / 32768 + 1e-6)


def test_stereo_is_downmixed_by_averaging(tmp_path):
    x = _sine(16000)
    path = tmp_path / "st.wav"
    sf.write(path, np.stack([x, 0.2 * x], axis=1), 16000, subtype="FLOAT")
    audio, info = read_audio_with_info(path)
    assert info.downmixed and info.channels == 2 and not info.resampled
    np.testing.assert_allclose(audio, 0.6 * x, atol=1e-6)


def test_empty_file_error_names_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav.*zero samples"):
        read_audio(path)


def test_corrupt_file_error_names_file(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage" + bytes(range(200)))
    with pytest.raises(AudioError, match=r"broken\.wav.*cannot read"):
        read_audio(path)
    assert issubclass(AudioError, ValueError)


def test_nan_audio_error_names_file(tmp_path):
    x = _sine(16000)
    x[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav.*NaN"):
        read_audio(path)


def test_missing_file_error_names_file(tmp_path):
    with pytest.raises(AudioError, match=r"nothere\.wav.*not found"):
        read_audio(tmp_path / "nothere.wav")


def test_write_audio_is_atomic_and_clips(tmp_path):
    path = tmp_path / "sub" / "w.wav"
    write_audio(path, np.array([0.0, 2.0, -2.0, 0.5], np.float32))
    audio = read_audio(path)
    np.testing.assert_allclose(audio, [0.0, 1.0, -1.0, 0.5], atol=1e-4)
    assert [p.name for p in path.parent.iterdir()] == ["w.wav"]
    with pytest.raises(ValueError, match="must end in .wav or .flac"):
        write_audio(tmp_path / "x.mp3", np.zeros(4))
