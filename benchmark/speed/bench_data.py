"""Throughput of the data path: speech synthesis, log-mel extraction, the feature cache.

Group "data" (per-utterance time = median / `extra_info["utterances"]`):
    tts-render        8 planned synthetic-fsc utterances rendered as the corpus generator does
                      (`benchmark.data.synthetic.render`: espeak-ng speech, silences, noise at
                      an SNR), 16 kHz; `audio_seconds` is the audio produced per call.
    log-mel-{3,30}s   `benchmark.data.features.log_mel` of a (16, T) batch of 3 s / 30 s audio.
    feature-cache-build  `load_features` on a fresh cache folder: read 32 WAV files of 3 s,
                      log-mel at 300 frames, write the `datasets` folder.
    feature-cache-read   `load_features` of the same split once it is cached.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from benchmark.data.audio import write_audio
from benchmark.data.features import SAMPLE_RATE, load_features, log_mel
from benchmark.data.records import Corpus, Utterance, make_corpus

GROUP = "data"
N_FRAMES = 300  # 3 s: the default profile's crop
BATCH = 16
TTS_UTTERANCES = 8
CACHE_UTTERANCES = 32  # train split of the tiny corpus (+ 4 valid, 4 test)
CACHE_INTENTS = ("a", "b", "c", "d")


@pytest.mark.benchmark(group=GROUP)
def test_tts_render(benchmark) -> None:
    from benchmark.data.synthetic import SyntheticConfig, plan_speakers, plan_utterances, render
    from benchmark.data.tts import get_synthesizer

    synth = get_synthesizer()
    config = SyntheticConfig(
        kind="fsc",
        n_train_speakers=TTS_UTTERANCES,
        n_valid_speakers=0,
        n_test_speakers=1,
        utterances_per_intent=1,
        noise_types=("white", "pink", "brown"),  # babble needs a bank made of speech first
    )
    speakers = plan_speakers(config, synth.english_languages, synth.variants)
    # one utterance per speaker, each a different intent: varied voices, rates and noises
    plans = [
        next(p for p in plan_utterances(config, speakers) if p.speaker == s and p.label == label)
        for s, label in zip(
            [s for s in speakers if s.split == "train"], config.label_space, strict=False
        )
    ]
    out: list[np.ndarray] = []

    def render_all() -> None:
        out[:] = [render(p, synth, [], config.sample_rate) for p in plans]

    benchmark.pedantic(render_all, rounds=3, warmup_rounds=1)
    benchmark.extra_info.update(
        {
            "kind": "data",
            "stage": "tts",
            "utterances": len(plans),
            "audio_seconds": round(sum(len(a) for a in out) / config.sample_rate, 3),
        }
    )


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("seconds", [3, 30], ids=["3s", "30s"])
def test_log_mel(benchmark, seconds: int) -> None:
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((BATCH, seconds * SAMPLE_RATE))).astype(np.float32)
    n_frames = seconds * 100  # 10 ms hop
    benchmark.extra_info.update(
        {"kind": "data", "stage": "log-mel", "utterances": BATCH, "n_frames": n_frames}
    )
    benchmark.pedantic(log_mel, args=(audio, n_frames), rounds=5, warmup_rounds=1)


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """32 / 4 / 4 WAV files of 3 s (noise bursts, 16 kHz PCM16) over 4 labels, seeded."""
    folder = tmp_path_factory.mktemp("tiny-corpus")
    rng = np.random.default_rng(0)
    sizes = {"train": CACHE_UTTERANCES, "valid": 4, "test": 4}
    utts = []
    for split, n in sizes.items():
        for i, label in zip(range(n), itertools.cycle(CACHE_INTENTS)):
            path = folder / split / f"{split}-{i:03d}.wav"
            write_audio(path, 0.1 * rng.standard_normal(3 * SAMPLE_RATE), SAMPLE_RATE)
            utts.append(Utterance(f"{split}-{i:03d}", str(path), label, f"spk{i % 4}", split))
    return make_corpus("bench-tiny", "FSC", True, utts, source=str(folder))


@pytest.mark.benchmark(group=GROUP)
def test_feature_cache_build(benchmark, tiny_corpus: Corpus, tmp_path: Path) -> None:
    counter = itertools.count()

    def setup():
        return (tiny_corpus, "train", N_FRAMES), {
            "cache_dir": tmp_path / f"build-{next(counter)}",
            "progress": False,
        }

    benchmark.extra_info.update(
        {"kind": "data", "stage": "feature-cache-build", "utterances": CACHE_UTTERANCES}
    )
    features = benchmark.pedantic(load_features, setup=setup, rounds=3, warmup_rounds=1)
    assert not features.from_cache and len(features) == CACHE_UTTERANCES


@pytest.mark.benchmark(group=GROUP)
def test_feature_cache_read(benchmark, tiny_corpus: Corpus, tmp_path: Path) -> None:
    cache_dir = tmp_path / "features"
    load_features(tiny_corpus, "train", N_FRAMES, cache_dir, progress=False)  # build, untimed
    benchmark.extra_info.update(
        {"kind": "data", "stage": "feature-cache-read", "utterances": CACHE_UTTERANCES}
    )
    features = benchmark.pedantic(
        load_features,
        args=(tiny_corpus, "train", N_FRAMES, cache_dir),
        kwargs={"progress": False},
        rounds=5,
        warmup_rounds=1,
    )
    assert features.from_cache and len(features) == CACHE_UTTERANCES
