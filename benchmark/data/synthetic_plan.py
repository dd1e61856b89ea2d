"""What a synthetic corpus says and how it sounds: its config, speakers, utterance plans and the
rendering of one planned utterance (espeak-ng speech, silence, noise). Pure planning from a seed;
``benchmark.data.synthetic`` writes the corpus to disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data.noise import colored_noise, loop_crop, mix_at_snr, speech_power
from benchmark.data.records import SPLITS

NOISE_TYPES: tuple[str, ...] = ("white", "pink", "brown", "babble")
KINDS: dict[str, str] = {"fsc": "FSC", "slurp": "SLURP"}  # phrase bank -> paper data set


@dataclass(frozen=True)
class SyntheticConfig:
    """How to generate a synthetic corpus. Speaker counts are per split; every speaker says
    every intent `utterances_per_intent` times, so a split has
    n_speakers × n_intents × utterances_per_intent utterances."""

    kind: str = "fsc"  # phrase bank: "fsc" (31 FSC intents) | "slurp" (58 SLURP intents)
    n_train_speakers: int = 10
    n_valid_speakers: int = 3
    n_test_speakers: int = 6
    utterances_per_intent: int = 2
    intents: tuple[str, ...] | None = None  # subset of the bank's labels; None = all
    snrs_db: tuple[float | None, ...] = (None, 20.0, 10.0, 5.0)  # None = clean
    noise_types: tuple[str, ...] = NOISE_TYPES
    rate_wpm: tuple[int, int] = (140, 200)  # speaker's base rate, words per minute
    pitch: tuple[int, int] = (30, 70)  # speaker's base pitch, espeak 0-99 (50 = voice default)
    pitch_range: tuple[int, int] = (30, 70)  # espeak 0-99 (intonation range)
    rate_jitter: int = 10  # ± per utterance, wpm
    pitch_jitter: int = 5  # ± per utterance, espeak units
    lead_silence_s: tuple[float, float] = (0.05, 0.5)
    tail_silence_s: tuple[float, float] = (0.05, 0.3)
    peak: tuple[float, float] = (0.3, 0.9)  # output peak amplitude range
    n_babble_tracks: int = 6
    babble_talkers: int = 4
    seed: int = 0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {tuple(KINDS)}, got {self.kind!r}")
        for f in ("n_train_speakers", "n_test_speakers", "utterances_per_intent"):
            if getattr(self, f) < 1:
                raise ValueError(f"{f} must be >= 1, got {getattr(self, f)}")
        if self.n_valid_speakers < 0:
            raise ValueError(f"n_valid_speakers must be >= 0, got {self.n_valid_speakers}")
        bad = [t for t in self.noise_types if t not in NOISE_TYPES]
        if bad or not self.noise_types:
            raise ValueError(f"noise_types must be a non-empty subset of {NOISE_TYPES}, got {bad}")
        if not self.snrs_db:
            raise ValueError("snrs_db must not be empty (use (None,) for clean speech)")
        for f in ("rate_wpm", "pitch", "pitch_range", "lead_silence_s", "tail_silence_s", "peak"):
            lo, hi = getattr(self, f)
            if lo > hi:
                raise ValueError(f"{f} must be (low, high) with low <= high, got {(lo, hi)}")
        if not (
            self.rate_wpm[0] - self.rate_jitter >= 80 and self.rate_wpm[1] + self.rate_jitter <= 450
        ):
            raise ValueError(f"rate_wpm ± rate_jitter must stay in 80..450, got {self.rate_wpm}")
        if self.intents is not None:
            object.__setattr__(self, "intents", tuple(self.intents))
            unknown = sorted(set(self.intents) - set(phrase_bank(self.kind)))
            if unknown:
                raise ValueError(f"intents not in the {self.kind} phrase bank: {unknown}")
            if not self.intents:
                raise ValueError("intents must not be empty (None = all of the phrase bank)")
        if self.n_babble_tracks < 1 or self.babble_talkers < 1:
            raise ValueError("n_babble_tracks and babble_talkers must be >= 1")

    @property
    def label_space(self) -> tuple[str, ...]:
        """The corpus' intents, sorted."""
        return (
            tuple(sorted(self.intents)) if self.intents else tuple(sorted(phrase_bank(self.kind)))
        )


# Defaults: synthetic-fsc 31 intents × 2 × (10 / 3 / 6 speakers) = 620 / 186 / 372 utterances;
# synthetic-slurp 58 intents × 2 × (8 / 2 / 4 speakers) = 928 / 232 / 464 utterances.
DEFAULT_CONFIGS: dict[str, SyntheticConfig] = {
    "synthetic-fsc": SyntheticConfig(kind="fsc"),
    "synthetic-slurp": SyntheticConfig(
        kind="slurp", n_train_speakers=8, n_valid_speakers=2, n_test_speakers=4
    ),
}


def phrase_bank(kind: str) -> dict[str, tuple[str, ...]]:
    """intent -> phrasings (fsc) or templates with {slots} (slurp)."""
    if kind == "fsc":
        from benchmark.data.phrases_fsc import FSC_PHRASES

        return dict(FSC_PHRASES)
    if kind == "slurp":
        from benchmark.data.phrases_slurp import SLURP_TEMPLATES

        return dict(SLURP_TEMPLATES)
    raise ValueError(f"kind must be one of {tuple(KINDS)}, got {kind!r}")


def _realise(kind: str, phrase: str, rng: np.random.Generator) -> str:
    if kind == "slurp":
        from benchmark.data.phrases_slurp import fill_template

        return fill_template(phrase, rng)
    return phrase


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Speaker:
    id: str  # "<language>+<variant>", unique
    language: str
    variant: str
    split: str  # "train" | "valid" | "test" | "babble"
    rate: int
    pitch: int
    pitch_range: int


@dataclass(frozen=True)
class UtterancePlan:
    uid: str
    split: str
    speaker: Speaker
    label: str
    text: str
    rate: int
    pitch: int
    pitch_range: int
    lead_s: float
    tail_s: float
    snr_db: float | None
    noise: str  # "none" | one of NOISE_TYPES
    peak: float
    noise_seed: int


def plan_speakers(
    config: SyntheticConfig, languages: tuple[str, ...], variants: tuple[str, ...]
) -> list[Speaker]:
    """Assign voice variants to splits (disjoint: no timbre is shared between splits), a
    random accent and base rate/pitch to each speaker; leftover variants speak babble."""
    n = {
        "train": config.n_train_speakers,
        "valid": config.n_valid_speakers,
        "test": config.n_test_speakers,
    }
    total = sum(n.values())
    if total > len(variants):
        raise ValueError(
            f"n_train_speakers + n_valid_speakers + n_test_speakers = {total} exceeds the "
            f"{len(variants)} installed espeak-ng variants"
        )
    rng = np.random.default_rng([config.seed, 1])
    order = [variants[i] for i in rng.permutation(len(variants))]
    splits = [s for s in SPLITS for _ in range(n[s])]
    splits += ["babble"] * (len(order) - total)
    speakers = []
    for variant, split in zip(order, splits, strict=True):
        language = languages[int(rng.integers(len(languages)))]
        speakers.append(
            Speaker(
                id=f"{language}+{variant}",
                language=language,
                variant=variant,
                split=split,
                rate=int(rng.integers(config.rate_wpm[0], config.rate_wpm[1] + 1)),
                pitch=int(rng.integers(config.pitch[0], config.pitch[1] + 1)),
                pitch_range=int(rng.integers(config.pitch_range[0], config.pitch_range[1] + 1)),
            )
        )
    return speakers


def plan_utterances(config: SyntheticConfig, speakers: list[Speaker]) -> list[UtterancePlan]:
    """Every non-babble speaker says every intent `utterances_per_intent` times."""
    rng = np.random.default_rng([config.seed, 2])
    bank = phrase_bank(config.kind)
    intents = config.label_space
    plans = []
    for split in SPLITS:
        split_speakers = [s for s in speakers if s.split == split]
        for si, spk in enumerate(split_speakers):
            for ii, label in enumerate(intents):
                phrases = bank[label]
                k = config.utterances_per_intent
                picks = rng.choice(len(phrases), size=k, replace=k > len(phrases))
                for j, p in enumerate(picks):
                    snr = config.snrs_db[int(rng.integers(len(config.snrs_db)))]
                    noise = "none"
                    if snr is not None:
                        noise = config.noise_types[int(rng.integers(len(config.noise_types)))]
                    text = _realise(config.kind, phrases[int(p)], rng)
                    d_rate = int(rng.integers(-config.rate_jitter, config.rate_jitter + 1))
                    d_pitch = int(rng.integers(-config.pitch_jitter, config.pitch_jitter + 1))
                    plans.append(
                        UtterancePlan(
                            uid=f"{split}_{si:02d}_{ii:02d}_{j}",
                            split=split,
                            speaker=spk,
                            label=label,
                            text=text,
                            rate=spk.rate + d_rate,
                            pitch=min(99, max(0, spk.pitch + d_pitch)),
                            pitch_range=spk.pitch_range,
                            lead_s=round(float(rng.uniform(*config.lead_silence_s)), 3),
                            tail_s=round(float(rng.uniform(*config.tail_silence_s)), 3),
                            snr_db=None if snr is None else float(snr),
                            noise=noise,
                            peak=round(float(rng.uniform(*config.peak)), 3),
                            noise_seed=int(rng.integers(2**31)),
                        )
                    )
    return plans


# --------------------------------------------------------------------------- signal


def babble_bank(
    config: SyntheticConfig, speakers: list[Speaker], synth, rng: np.random.Generator
) -> list[np.ndarray]:
    """`n_babble_tracks` tracks, each `babble_talkers` voices saying 3 random phrases."""
    bank = phrase_bank(config.kind)
    labels = sorted(bank)
    pool = [s for s in speakers if s.split == "babble"] or speakers
    tracks = []
    for _ in range(config.n_babble_tracks):
        voices = []
        for _ in range(config.babble_talkers):
            spk = pool[int(rng.integers(len(pool)))]
            parts = []
            for _ in range(3):
                phrases = bank[labels[int(rng.integers(len(labels)))]]
                text = _realise(config.kind, phrases[int(rng.integers(len(phrases)))], rng)
                voice = f"{spk.language}+{spk.variant}"
                a = synth.synthesize(
                    text, voice, spk.rate, spk.pitch, spk.pitch_range, config.sample_rate
                )
                parts += [a, np.zeros(int(0.2 * config.sample_rate), np.float32)]
            v = np.concatenate(parts)
            voices.append(v / (np.sqrt(speech_power(v)) + 1e-12))
        track = np.zeros(max(len(v) for v in voices), np.float32)
        for v in voices:
            start = int(rng.integers(0, len(track) - len(v) + 1))
            track[start : start + len(v)] += v
        tracks.append(track / (np.sqrt(np.mean(track**2)) + 1e-12))
    return tracks


def render(plan: UtterancePlan, synth, babble: list[np.ndarray], sample_rate: int) -> np.ndarray:
    """Synthesize one planned utterance: silence + speech + silence, noise, peak gain. (T,) float32."""
    spk = plan.speaker
    speech = synth.synthesize(
        plan.text,
        f"{spk.language}+{spk.variant}",
        plan.rate,
        plan.pitch,
        plan.pitch_range,
        sample_rate,
    )
    p_speech = speech_power(speech)
    lead = np.zeros(int(plan.lead_s * sample_rate), np.float32)
    tail = np.zeros(int(plan.tail_s * sample_rate), np.float32)
    x = np.concatenate([lead, speech, tail])
    rng = np.random.default_rng(plan.noise_seed)
    if plan.snr_db is not None:
        if plan.noise == "babble":
            noise = loop_crop(babble[int(rng.integers(len(babble)))], len(x), rng)
        else:
            noise = colored_noise(len(x), plan.noise, rng)
        x = mix_at_snr(x, noise, plan.snr_db, p_speech)
    return (x * (plan.peak / (np.abs(x).max() + 1e-12))).astype(np.float32)
