"""Synthetic corpora: phrase banks, espeak-ng TTS, planning, noise, generation on disk."""

import itertools
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from helpers import TINY_FSC

from benchmark.data.noise import colored_noise, loop_crop, mix_at_snr, speech_power
from benchmark.data.phrases_fsc import FSC_INTENTS, FSC_PHRASES
from benchmark.data.phrases_slurp import (
    SLURP_INTENTS,
    SLURP_SCENARIOS,
    SLURP_TEMPLATES,
    fill_template,
    template_slots,
)
from benchmark.data.synthetic import (
    DEFAULT_CONFIGS,
    MARKER,
    SyntheticConfig,
    config_from_dict,
    corpus_dir,
    load_synthetic,
    plan_speakers,
    plan_utterances,
)
from benchmark.data.tts import get_synthesizer

# FSC's label set: (action, object, location) as in the dataset's csv files.
_FSC_TRIPLES = (
    [("change language", o, "none") for o in ("none", "Chinese", "English", "German", "Korean")]
    + [(a, o, "none") for a in ("activate", "deactivate") for o in ("lamp", "music")]
    + [(a, "lights", loc) for a in ("activate", "deactivate") for loc in ("none", "kitchen", "bedroom", "washroom")]
    + [("bring", o, "none") for o in ("juice", "newspaper", "shoes", "socks")]
    + [(a, "heat", loc) for a in ("increase", "decrease") for loc in ("none", "kitchen", "bedroom", "washroom")]
    + [(a, "volume", "none") for a in ("increase", "decrease")]
)  # fmt: skip

TINY = TINY_FSC  # generated once per session: the tiny_fsc_corpora fixture


def test_fsc_bank_is_fsc_label_set_with_many_phrasings():
    assert len(_FSC_TRIPLES) == 31
    assert set(FSC_INTENTS) == {f"{a}_{o}_{loc}" for a, o, loc in _FSC_TRIPLES}
    assert tuple(sorted(FSC_INTENTS)) == FSC_INTENTS
    for label, phrases in FSC_PHRASES.items():
        assert len(set(phrases)) == len(phrases) >= 9, label


def test_slurp_bank_shape_and_templates_fill():
    assert 50 <= len(SLURP_INTENTS) <= 60
    assert {i.split("_")[0] for i in SLURP_INTENTS} == set(SLURP_SCENARIOS)
    rng = np.random.default_rng(0)
    words = []
    for label, templates in SLURP_TEMPLATES.items():
        assert len(templates) >= 5, label
        for t in templates:
            text = fill_template(t, rng)
            assert "{" not in text and "}" not in text, t
            words.append(len(text.split()))
    assert any(template_slots(t) for t in SLURP_TEMPLATES["alarm_set"])
    fsc_words = [len(p.split()) for ps in FSC_PHRASES.values() for p in ps]
    assert np.mean(words) > np.mean(fsc_words) + 1.5  # SLURP's sentences are longer


def test_numbered_slots_draw_distinct_values():
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = fill_template("{city}|{city2}", rng).split("|")
        assert a != b


def test_tts_speaks_16k_float_and_checks_voices():
    synth = get_synthesizer()
    assert synth is get_synthesizer()
    assert {"en-us", "en-gb", "en-gb-scotland"} <= set(synth.english_languages)
    assert {"m3", "f3", "klatt"} <= set(synth.variants) and "whisper" not in synth.variants
    slow = synth.synthesize("turn on the kitchen lights", "en-gb+m3", rate=120)
    fast = synth.synthesize("turn on the kitchen lights", "en-gb+m3", rate=260)
    assert slow.dtype == np.float32 and slow.ndim == 1
    assert 0.8 * 16000 < len(fast) < len(slow) < 4 * 16000
    assert 0.1 < np.abs(slow).max() <= 1.1
    with pytest.raises(ValueError, match="variant 'nope' not installed"):
        synth.synthesize("hello", "en-us+nope")
    with pytest.raises(ValueError, match="rate must be in 80..450"):
        synth.synthesize("hello", rate=20)
    with pytest.raises(ValueError, match="text must not be empty"):
        synth.synthesize("  ")


def test_speaker_plan_splits_are_disjoint_and_bounded():
    variants = tuple(f"v{i}" for i in range(30))
    cfg = DEFAULT_CONFIGS["synthetic-fsc"]
    speakers = plan_speakers(cfg, ("en-us", "en-gb"), variants)
    by_split = {
        s: {sp.variant for sp in speakers if sp.split == s} for s in ("train", "valid", "test")
    }
    assert [len(by_split[s]) for s in ("train", "valid", "test")] == [10, 3, 6]
    for a, b in itertools.combinations(by_split.values(), 2):
        assert not a & b
    assert len({s.id for s in speakers}) == len(speakers)
    assert all(140 <= s.rate <= 200 for s in speakers)
    plans = plan_utterances(cfg, speakers)
    assert len(plans) == (10 + 3 + 6) * 31 * 2
    assert {p.noise for p in plans} == {"none", "white", "pink", "brown", "babble"}
    assert plans == plan_utterances(cfg, speakers)  # deterministic for a seed
    other = plan_utterances(SyntheticConfig(seed=1), speakers)
    assert [p.text for p in other] != [p.text for p in plans]
    with pytest.raises(ValueError, match="exceeds the 5 installed"):
        plan_speakers(cfg, ("en-us",), variants[:5])


def test_default_configs_give_big_enough_splits():
    for name, cfg in DEFAULT_CONFIGS.items():
        per = len(cfg.label_space) * cfg.utterances_per_intent
        train, test = cfg.n_train_speakers * per, cfg.n_test_speakers * per
        assert (train, test) >= ((500, 350) if name == "synthetic-fsc" else (800, 400)), name


def test_config_validation_and_roundtrip():
    with pytest.raises(ValueError, match="kind must be one of"):
        SyntheticConfig(kind="atis")
    with pytest.raises(ValueError, match="n_test_speakers must be >= 1"):
        SyntheticConfig(n_test_speakers=0)
    with pytest.raises(ValueError, match="noise_types"):
        SyntheticConfig(noise_types=("traffic",))
    with pytest.raises(ValueError, match="not in the fsc phrase bank"):
        SyntheticConfig(intents=("alarm_set",))
    assert config_from_dict(json.loads(json.dumps(TINY.__dict__))) == TINY


def test_noise_colours_and_snr():
    rng = np.random.default_rng(0)
    n = 32000
    low = {}
    for kind in ("white", "pink", "brown"):
        x = colored_noise(n, kind, rng)
        assert x.shape == (n,) and np.sqrt(np.mean(x**2)) == pytest.approx(1.0, rel=1e-4)
        spec = np.abs(np.fft.rfft(x)) ** 2
        low[kind] = spec[: len(spec) // 16].sum() / spec.sum()  # share below 500 Hz
    assert low["white"] < low["pink"] < low["brown"]
    speech = 0.3 * np.sin(np.arange(n) / 5.0)
    noise = colored_noise(n, "white", rng)
    mixed = mix_at_snr(speech, noise, 10.0, speech_power(speech))
    snr = 10 * np.log10(np.mean(speech**2) / np.mean((mixed - speech) ** 2))
    assert snr == pytest.approx(10.0, abs=0.05)
    looped = loop_crop(np.arange(5.0), 12, rng)
    assert len(looped) == 12 and all((b - a) % 5 == 1 for a, b in itertools.pairwise(looped))


def _tree_bytes(folder):
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "generation.json":
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def test_tiny_corpus_has_its_splits_with_disjoint_speakers(tiny_fsc_corpora):
    a = load_synthetic("synthetic-fsc", TINY, cache_dir=tiny_fsc_corpora, progress=False)
    folder_a = corpus_dir("synthetic-fsc", TINY, tiny_fsc_corpora)
    assert (
        len(_tree_bytes(folder_a)) == 12 + 4
    )  # wavs + manifest, config, integrity record, marker (not timing)
    assert a.stands_for == "FSC" and a.synthetic and a.intents == tuple(sorted(TINY.intents))
    assert a.counts() == {"train": 6, "valid": 3, "test": 3}
    spk = {s: {u.speaker for u in a.split(s)} for s in ("train", "valid", "test")}
    assert len(spk["train"]) == 2 and len(spk["valid"]) == len(spk["test"]) == 1
    variants = {s: {x.split("+")[1] for x in v} for s, v in spk.items()}
    for x, y in itertools.combinations(variants.values(), 2):
        assert not x & y
    for u in a.utterances:
        audio, rate = sf.read(u.path, dtype="float32")
        assert rate == 16000 and audio.ndim == 1 and 0.5 < len(audio) / rate < 6
        assert 0.29 < np.abs(audio).max() < 0.91
    rows = [json.loads(line) for line in (folder_a / "manifest.jsonl").read_text().splitlines()]
    assert {r["uid"] for r in rows} == {u.uid for u in a.utterances}
    assert all(r["noise"] in ("none", "white", "pink", "brown", "babble") for r in rows)


def test_existing_corpus_is_reused_and_damaged_one_regenerated_to_the_same_bytes(
    tmp_path, tiny_fsc_corpora
):
    session = corpus_dir("synthetic-fsc", TINY, tiny_fsc_corpora)
    folder = corpus_dir("synthetic-fsc", TINY, tmp_path)
    shutil.copytree(session, folder)  # a complete corpus, generated by another process
    marker_time = (folder / MARKER).stat().st_mtime_ns
    c = load_synthetic("synthetic-fsc", TINY, cache_dir=tmp_path, progress=False)
    again = load_synthetic("synthetic-fsc", TINY, cache_dir=tmp_path, progress=False)
    assert again == c and (folder / MARKER).stat().st_mtime_ns == marker_time
    # an interrupted run leaves a temporary folder of a dead process; a damaged corpus has
    # no marker: both are cleaned up and the corpus regenerated
    stale = folder.parent / f"{folder.name}.tmp-999999999-deadbeef"
    stale.mkdir()
    (folder / MARKER).unlink()
    (folder / "junk.txt").write_text("x")
    regenerated = load_synthetic("synthetic-fsc", TINY, cache_dir=tmp_path, progress=False)
    assert regenerated == c
    assert _tree_bytes(folder) == _tree_bytes(session)  # same config and seed -> same bytes
    assert not (folder / "junk.txt").exists() and not stale.exists()
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]
