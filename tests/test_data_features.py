"""Whisper log-mel against transformers, and the on-disk feature cache."""

import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import WhisperFeatureExtractor

import benchmark.data.features as features
from benchmark.data.features import (
    FEATURE_VERSION,
    LazyMel,
    feature_dir,
    load_features,
    log10_mel,
    log_mel,
)
from benchmark.data.records import Utterance, make_corpus
from quads.train import TensorData


def _speechlike(seconds, seed=0, rate=16000):
    """Amplitude-modulated harmonics plus noise: a signal with speech-like spectra."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (0.2 * x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("seconds", [2.3, 31.0])  # padded and cropped to 30 s
def test_log_mel_matches_whisper_feature_extractor(seconds):
    x = _speechlike(seconds)
    ref = WhisperFeatureExtractor(feature_size=80)(x, sampling_rate=16000, return_tensors="np")
    ours = log_mel(x, 3000)
    assert ours.shape == (80, 3000) and ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), ref.input_features[0], atol=1e-4)


def test_log10_mel_is_log_mels_spectrogram_before_whispers_floor():
    x = _speechlike(2.0)  # 200 frames of signal, then padding
    ours = log10_mel(x, 300)
    assert ours.shape == (80, 300) and ours.dtype == np.float32
    whisper = log_mel(x, 300).double().numpy() * 4.0 - 4.0  # undo Whisper's (x + 4) / 4
    floor = ours.max() - 8.0
    above = ours > floor + 1e-3
    assert above.mean() > 0.5
    np.testing.assert_allclose(whisper[above], ours[above], atol=1e-4)  # float32 vs float64 FFT
    np.testing.assert_allclose(whisper[~above], floor, atol=2e-3)  # Whisper floors the rest
    assert (ours[:, 210:] == -10.0).all()  # padding: log10 of the 1e-10 clamp, not floored


def test_short_inputs_crop_pad_and_batch():
    x = _speechlike(4.0)
    m = log_mel(x, 300)  # 300 frames = 3 s at a 10 ms hop
    assert m.shape == (80, 300)
    torch.testing.assert_close(m, log_mel(x[: 300 * 160], 300))  # only the first 3 s count
    short = log_mel(x[:8000], 300)  # 0.5 s, zero-padded
    assert short.shape == (80, 300) and short[:, 60:].std() < 1e-6
    batch = log_mel(np.stack([x[:48000], x[8000:56000]]), 300)
    assert batch.shape == (2, 80, 300)
    torch.testing.assert_close(batch[1], log_mel(x[8000:56000], 300))
    with pytest.raises(ValueError, match="n_frames must be >= 1"):
        log_mel(x, 0)


def _corpus(tmp_path, corrupt=True):
    """train: 16 kHz mono, 8 kHz (resampled), stereo (downmixed), optionally a corrupt file."""
    d = tmp_path / "audio"
    d.mkdir()
    x = _speechlike(1.5)
    sf.write(d / "a.wav", x, 16000)
    sf.write(d / "b.flac", _speechlike(1.0, seed=1)[::2], 8000)
    sf.write(d / "c.wav", np.stack([x, x], axis=1), 16000)
    (d / "d.wav").write_bytes(b"not audio at all")
    utts = [
        Utterance("a", str(d / "a.wav"), "yes", "s1", "train"),
        Utterance("b", str(d / "b.flac"), "no", "s1", "train"),
        Utterance("c", str(d / "c.wav"), "yes", "s2", "train"),
    ]
    if corrupt:
        utts.append(Utterance("d", str(d / "d.wav"), "no", "s2", "train"))
    utts.append(Utterance("t", str(d / "a.wav"), "no", "s3", "test"))
    return make_corpus("toy", "FSC", False, utts)


def test_features_are_cached_and_reused(tmp_path):
    corpus = _corpus(tmp_path)
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match=r"d\.wav"):
        first = load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    assert not first.from_cache
    assert first.mel.shape == (3, 80, 300) and first.mel.dtype == torch.float32
    assert first.uids == ("a", "b", "c")
    assert first.labels.tolist() == [corpus.label_id(x) for x in ("yes", "no", "yes")]
    assert first.intents == corpus.intents == ("no", "yes")
    assert first.notes == {
        "utterances": 4,
        "features": 3,
        "unreadable": 1,
        "resampled": 1,
        "downmixed": 1,
    }
    # float16 storage: within half a float16 step of the direct computation (|x| < 4)
    direct = log_mel(sf.read(corpus.split("train")[0].path, dtype="float32")[0], 300)
    assert (first.mel[0] - direct).abs().max() < 2e-3

    folder = feature_dir(corpus, "train", 300, cache)
    assert folder.name == f"train-f300-v{FEATURE_VERSION}"
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    with pytest.warns(UserWarning, match="1 unreadable file"):  # remembered from the build
        second = load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    assert second.from_cache
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == stamps
    torch.testing.assert_close(second.mel, first.mel)
    assert second.uids == first.uids and second.notes == first.notes
    # another frame count or split is another cache entry
    assert load_features(corpus, "test", 300, cache_dir=cache, progress=False).uids == ("t",)
    with pytest.warns(UserWarning, match=r"d\.wav"):
        assert not load_features(corpus, "train", 200, cache_dir=cache, progress=False).from_cache


def test_interrupted_build_leaves_no_cache(tmp_path, monkeypatch):
    corpus = _corpus(tmp_path, corrupt=False)
    cache = tmp_path / "cache"
    real = features.read_audio_with_info
    calls = []

    def flaky(path, sample_rate=16000):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-build
        return real(path, sample_rate)

    monkeypatch.setattr(features, "read_audio_with_info", flaky)
    with pytest.raises(KeyboardInterrupt):
        load_features(corpus, "train", 100, cache_dir=cache, progress=False)
    folder = feature_dir(corpus, "train", 100, cache)
    assert not folder.exists()
    assert list(folder.parent.iterdir()) == []  # no temporary leftovers either
    monkeypatch.setattr(features, "read_audio_with_info", real)
    done = load_features(corpus, "train", 100, cache_dir=cache, progress=False)
    assert not done.from_cache and len(done) == 3 and folder.is_dir()


def test_empty_split_and_bad_arguments(tmp_path):
    corpus = _corpus(tmp_path, corrupt=False)
    empty = load_features(corpus, "valid", 50, cache_dir=tmp_path / "c", progress=False)
    assert empty.mel.shape == (0, 80, 50) and empty.labels.shape == (0,)
    broken = make_corpus(
        "toy2",
        "FSC",
        False,
        [
            Utterance("a", str(tmp_path / "audio" / "a.wav"), "yes", "s1", "train"),
            Utterance("d", str(tmp_path / "audio" / "d.wav"), "yes", "s2", "test"),
        ],
    )
    (tmp_path / "audio" / "d.wav").write_bytes(b"corrupt")
    for _ in range(2):  # build, then read back from the cache
        with pytest.warns(UserWarning, match=r"d\.wav"):
            none = load_features(broken, "test", 50, cache_dir=tmp_path / "c", progress=False)
        assert len(none) == 0 and none.notes["unreadable"] == 1
    with pytest.raises(ValueError, match="split must be one of"):
        load_features(corpus, "dev", 50, cache_dir=tmp_path / "c")
    with pytest.raises(ValueError, match="n_frames must be >= 1"):
        load_features(corpus, "train", 0, cache_dir=tmp_path / "c")


def test_large_splits_stay_on_disk_and_read_the_same_batches(tmp_path):
    corpus = _corpus(tmp_path, corrupt=False)
    cache = tmp_path / "cache"
    eager = load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    lazy = load_features(corpus, "train", 300, cache_dir=cache, progress=False, in_memory_limit=0)
    assert isinstance(eager.mel, torch.Tensor) and isinstance(lazy.mel, LazyMel)
    assert lazy.mel.shape == eager.mel.shape and len(lazy.mel) == 3
    assert lazy.labels.tolist() == eager.labels.tolist() and lazy.uids == eager.uids
    order = torch.tensor([2, 0])
    torch.testing.assert_close(lazy.mel[order], eager.mel[order], rtol=0, atol=0)
    torch.testing.assert_close(lazy.mel[1:3], eager.mel[1:3], rtol=0, atol=0)
    torch.testing.assert_close(lazy.mel[1], eager.mel[1], rtol=0, atol=0)
    assert lazy.mel[3:].shape == (0, 80, 300)
    # the trainer's batches are the same whichever way the split is held
    lazy_batches = list(TensorData({"mel": lazy.mel, "labels": lazy.labels}).batches(2, order))
    eager_batches = list(TensorData({"mel": eager.mel, "labels": eager.labels}).batches(2, order))
    for a, b in zip(lazy_batches, eager_batches, strict=True):
        torch.testing.assert_close(a["mel"], b["mel"], rtol=0, atol=0)
