"""Text-to-speech with espeak-ng through ctypes, no system packages needed.

The `espeakng_loader` wheel ships `libespeak-ng.so` and its data folder. The C API used
(speak_lib.h): `espeak_Initialize(AUDIO_OUTPUT_RETRIEVAL=1, buflength 0, data_path, 0)`
returns the native rate (22050 Hz); a callback registered with `espeak_SetSynthCallback`
receives int16 chunks; `espeak_SetVoiceByName(b"en-us+f3")` picks language + variant;
`espeak_SetParameter` sets rate (1, words per minute), pitch (3, 0-99) and pitch range
(4, 0-99); `espeak_Synth` then `espeak_Synchronize` renders a text.

The library is process-global state: initialise once per process (a second
`espeak_Initialize` deadlocks here), so there is one `EspeakSynthesizer` per process
(`get_synthesizer()`), guarded by a lock. espeak-ng keeps internal state between calls
(pitch flutter phase, noise generator), so the same text with the same voice gives
slightly different samples on a second call; output is reproducible only for the same
sequence of calls in a fresh process after `seed()` (the noise generator is otherwise
seeded differently in each process). `synthetic.py` generates in a child process for that.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np

from benchmark.data.audio import resample

ESPEAK_RATE = 22050  # Hz, what espeak_Initialize returns for the bundled voices
_AUDIO_OUTPUT_RETRIEVAL = 1
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4  # espeak_PARAMETER enum

# Variants left out of the speaker pool: unstable ("fast"), whispered (no voicing) or
# deliberately robotic/distorted voices that no real speaker resembles, and variants that
# Whisper tiny.en transcribed with WER >= 0.5 on a 6-sentence probe (en-us, 175 wpm; the
# rest scored 0.05-0.49, median 0.16), i.e. barely intelligible.
EXCLUDED_VARIANTS: frozenset[str] = frozenset(
    {"fast", "whisper", "whisperf", "Demonic", "UniRobot", "anikaRobot", "Mr serious"}
    | {f"robosoft{i}" for i in ("", 2, 3, 4, 5, 6, 7, 8)}
    | {"RicishayMax", "RicishayMax2", "RicishayMax3", "Lee", "shelby", "Jacky", "boris"}
    | {"Andy", "grandma", "kaukovalta"}
)
# Language voices that are English speech (en-Shaw is English written in Shavian script).
EXCLUDED_LANGUAGES: frozenset[str] = frozenset({"en-shaw"})


class _EspeakVoice(ctypes.Structure):
    # espeak_VOICE from speak_lib.h
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),  # (priority byte, language string, NUL)*, NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice: a language voice ("en-us") plus an optional variant ("m3")."""

    language: str
    variant: str = ""

    @property
    def name(self) -> str:
        """The string `espeak_SetVoiceByName` takes, e.g. "en-us+m3"."""
        return f"{self.language}+{self.variant}" if self.variant else self.language


class EspeakSynthesizer:
    """The process' espeak-ng instance. Use `get_synthesizer()`, not the constructor."""

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib = self._lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_EspeakVoice)]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_EspeakVoice))
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]

        data_path = espeakng_loader.get_data_path().encode()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_RETRIEVAL, 0, data_path, 0)
        if rate != ESPEAK_RATE:
            raise RuntimeError(f"espeak_Initialize returned {rate}, expected {ESPEAK_RATE} Hz")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self.seed(0)
        self._languages = self._list_languages()
        self._variants = self._list_variants()

    def _on_audio(self, wav, n, _events) -> int:
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = continue synthesis

    def _voices(self, spec: _EspeakVoice | None) -> list[_EspeakVoice]:
        arr = self._lib.espeak_ListVoices(ctypes.byref(spec) if spec is not None else None)
        out, i = [], 0
        while arr[i]:
            out.append(arr[i].contents)
            i += 1
        return out

    def _list_languages(self) -> dict[str, str]:
        """English language code ("en-gb") -> the voice file name espeak accepts with a
        variant ("en"); `SetVoiceByName("en-gb+m3")` fails, `"en+m3"` works."""
        files = {}
        for v in self._voices(None):
            file = v.identifier.decode().split("/")[-1]
            # languages: priority byte, then the language code, NUL-terminated
            lang = ctypes.string_at(v.languages)[1:].decode().lower()
            if lang.startswith("en") and lang not in EXCLUDED_LANGUAGES:
                files[lang] = file
        return dict(sorted(files.items()))

    def _list_variants(self) -> tuple[str, ...]:
        spec = _EspeakVoice()
        spec.languages = b"variant"
        names = {v.identifier.decode().split("/", 1)[1] for v in self._voices(spec)}
        return tuple(sorted(names - EXCLUDED_VARIANTS))

    def seed(self, value: int) -> None:
        """Seed espeak-ng's noise generator (breathy variants such as f2, f3, victor use it;
        unseeded, it differs between processes)."""
        with self._lock:
            self._lib.espeak_ng_SetRandSeed(int(value))

    @property
    def english_languages(self) -> tuple[str, ...]:
        """English language voices installed, e.g. ("en-029", "en-gb", ..., "en-us-nyc")."""
        return tuple(self._languages)

    @property
    def variants(self) -> tuple[str, ...]:
        """Voice variants installed (file names under voices/!v), minus EXCLUDED_VARIANTS."""
        return self._variants

    def synthesize(
        self,
        text: str,
        voice: Voice | str = "en-us",
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        sample_rate: int = 16000,
    ) -> np.ndarray:
        """Speak `text`; float32 mono (T,) in [-1, 1] at `sample_rate` (resampled from 22050).

        rate: words per minute (80-450); pitch, pitch_range: espeak units 0-99 (50 = voice default).
        """
        if not text.strip():
            raise ValueError("text must not be empty")
        if not 80 <= rate <= 450:
            raise ValueError(f"rate must be in 80..450 words per minute, got {rate}")
        if not 0 <= pitch <= 99:
            raise ValueError(f"pitch must be in 0..99, got {pitch}")
        if not 0 <= pitch_range <= 99:
            raise ValueError(f"pitch_range must be in 0..99, got {pitch_range}")
        if isinstance(voice, str):
            lang, _, var = voice.partition("+")
            voice = Voice(lang, var)
        voice = Voice(voice.language.lower(), voice.variant)
        if voice.language not in self._languages:
            raise ValueError(f"voice language {voice.language!r} not in {self.english_languages}")
        if voice.variant and voice.variant not in self._variants:
            # espeak silently ignores an unknown variant, so check here
            raise ValueError(f"voice variant {voice.variant!r} not installed (see .variants)")
        data = text.encode("utf-8")
        with self._lock:
            lib = self._lib
            name = Voice(self._languages[voice.language], voice.variant).name
            if lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise ValueError(f"espeak-ng does not know voice {voice.name!r}")
            lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            lib.espeak_SetParameter(_PARAM_RANGE, int(pitch_range), 0)
            self._chunks = []
            err = lib.espeak_Synth(
                data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with status {err} for {text!r}")
        if not chunks:
            raise RuntimeError(f"espeak-ng produced no audio for {text!r} with {voice.name}")
        audio = np.concatenate(chunks).astype(np.float32) / 32768.0  # int16 -> [-1, 1)
        return resample(audio, ESPEAK_RATE, sample_rate)


_SYNTH: EspeakSynthesizer | None = None
_SYNTH_LOCK = threading.Lock()


def get_synthesizer() -> EspeakSynthesizer:
    """The process' single espeak-ng synthesizer (initialised on first use)."""
    global _SYNTH
    with _SYNTH_LOCK:
        if _SYNTH is None:
            _SYNTH = EspeakSynthesizer()
        return _SYNTH


def synthesize(
    text: str,
    voice: Voice | str = "en-us",
    rate: int = 175,
    pitch: int = 50,
    pitch_range: int = 50,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Speak `text` with the process' synthesizer; float32 mono (T,) at `sample_rate`."""
    return get_synthesizer().synthesize(text, voice, rate, pitch, pitch_range, sample_rate)
