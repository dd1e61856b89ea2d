"""Phrasings for the 31 Fluent Speech Commands intents, written for the synthetic corpus.

Labels use the loader's format `f"{action}_{object}_{location}"` with FSC's own strings
(e.g. "activate_lights_kitchen", "change language_Chinese_none", "bring_socks_none"),
so a model trained on synthetic-fsc has the same label space as one trained on FSC.
The phrasings imitate FSC's prompts: short smart-home commands, several wordings per
intent including indirect ones ("it's too loud" -> decrease volume).
"""

from __future__ import annotations

from collections.abc import Mapping

from benchmark.data.fsc import fsc_label

# FSC spells the washroom both ways in its transcriptions.
_LOCATION_WORDS: Mapping[str, tuple[str, ...]] = {
    "kitchen": ("kitchen",),
    "bedroom": ("bedroom",),
    "washroom": ("washroom", "bathroom"),
}
_LANGUAGES = ("Chinese", "English", "German", "Korean")


def _at(templates: tuple[str, ...], location: str) -> tuple[str, ...]:
    """Fill `{loc}` with every word for `location` (washroom/bathroom)."""
    return tuple(t.format(loc=w) for w in _LOCATION_WORDS[location] for t in templates)


_LIGHTS_ON = (
    "turn on the lights",
    "switch on the lights",
    "lights on",
    "turn the lights on",
    "switch the lights on",
    "put the lights on",
    "activate the lights",
    "I need some light",
    "it's too dark in here",
    "could you switch on the lights please",
)
_LIGHTS_ON_AT = (
    "turn on the {loc} lights",
    "switch on the {loc} lights",
    "lights on in the {loc}",
    "turn the lights on in the {loc}",
    "switch on the lights in the {loc}",
    "{loc} lights on",
    "put the lights on in the {loc}",
    "I need the lights on in the {loc}",
    "could you turn on the lights in the {loc}",
    "it's dark in the {loc}",
)
_LIGHTS_OFF = (
    "turn off the lights",
    "switch off the lights",
    "lights off",
    "turn the lights off",
    "switch the lights off",
    "kill the lights",
    "deactivate the lights",
    "put the lights out",
    "cut the lights",
    "I don't need the lights anymore",
)
_LIGHTS_OFF_AT = (
    "turn off the {loc} lights",
    "switch off the {loc} lights",
    "lights off in the {loc}",
    "turn the lights off in the {loc}",
    "switch off the lights in the {loc}",
    "{loc} lights off",
    "kill the lights in the {loc}",
    "put the lights out in the {loc}",
    "could you turn off the lights in the {loc}",
    "no lights in the {loc} please",
)
_HEAT_UP = (
    "turn up the heat",
    "increase the heating",
    "make it warmer",
    "heat up",
    "it's too cold",
    "increase the temperature",
    "turn the heating up",
    "raise the temperature",
    "I'm cold",
    "more heat please",
)
_HEAT_UP_AT = (
    "turn up the heat in the {loc}",
    "increase the temperature in the {loc}",
    "make the {loc} warmer",
    "the {loc} is too cold",
    "heat up the {loc}",
    "turn the heating up in the {loc}",
    "raise the temperature in the {loc}",
    "it's freezing in the {loc}",
    "{loc} heat up",
    "more heat in the {loc} please",
)
_HEAT_DOWN = (
    "turn down the heat",
    "decrease the heating",
    "make it cooler",
    "heat down",
    "it's too hot",
    "decrease the temperature",
    "turn the heating down",
    "lower the temperature",
    "I'm too warm",
    "less heat please",
)
_HEAT_DOWN_AT = (
    "turn down the heat in the {loc}",
    "decrease the temperature in the {loc}",
    "make the {loc} cooler",
    "the {loc} is too hot",
    "cool down the {loc}",
    "turn the heating down in the {loc}",
    "lower the temperature in the {loc}",
    "it's boiling in the {loc}",
    "{loc} heat down",
    "less heat in the {loc} please",
)
_LANGUAGE_TO = (
    "switch to {lang}",
    "change the language to {lang}",
    "set the language to {lang}",
    "I want {lang}",
    "{lang} please",
    "use {lang}",
    "speak {lang}",
    "switch the language to {lang}",
    "change language to {lang}",
    "I'd like to use {lang}",
)


def _build() -> dict[str, tuple[str, ...]]:
    p: dict[str, tuple[str, ...]] = {}
    p[fsc_label("change language", "none", "none")] = (
        "change language",
        "change the language",
        "language settings",
        "switch language",
        "I want to change the language",
        "use a different language",
        "open the language settings",
        "can you change the language",
        "set a different language",
        "switch to another language",
    )
    for lang in _LANGUAGES:
        p[fsc_label("change language", lang, "none")] = tuple(
            t.format(lang=lang) for t in _LANGUAGE_TO
        )
    p[fsc_label("activate", "lamp", "none")] = (
        "turn on the lamp",
        "switch on the lamp",
        "lamp on",
        "turn the lamp on",
        "switch the lamp on",
        "activate the lamp",
        "put the lamp on",
        "could you turn on the lamp please",
        "I want the lamp on",
    )
    p[fsc_label("deactivate", "lamp", "none")] = (
        "turn off the lamp",
        "switch off the lamp",
        "lamp off",
        "turn the lamp off",
        "switch the lamp off",
        "deactivate the lamp",
        "shut off the lamp",
        "could you turn off the lamp please",
        "I don't need the lamp anymore",
    )
    p[fsc_label("activate", "lights", "none")] = _LIGHTS_ON
    p[fsc_label("deactivate", "lights", "none")] = _LIGHTS_OFF
    p[fsc_label("increase", "heat", "none")] = _HEAT_UP
    p[fsc_label("decrease", "heat", "none")] = _HEAT_DOWN
    for loc in _LOCATION_WORDS:
        p[fsc_label("activate", "lights", loc)] = _at(_LIGHTS_ON_AT, loc)
        p[fsc_label("deactivate", "lights", loc)] = _at(_LIGHTS_OFF_AT, loc)
        p[fsc_label("increase", "heat", loc)] = _at(_HEAT_UP_AT, loc)
        p[fsc_label("decrease", "heat", loc)] = _at(_HEAT_DOWN_AT, loc)
    p[fsc_label("activate", "music", "none")] = (
        "play music",
        "play some music",
        "start the music",
        "turn on the music",
        "put on some music",
        "music on",
        "start playing music",
        "I want to hear some music",
        "resume the music",
        "switch on the music",
    )
    p[fsc_label("deactivate", "music", "none")] = (
        "stop the music",
        "pause the music",
        "turn off the music",
        "music off",
        "stop playing music",
        "switch off the music",
        "I don't want music anymore",
        "kill the music",
        "end the music",
    )
    p[fsc_label("increase", "volume", "none")] = (
        "turn up the volume",
        "increase the volume",
        "louder",
        "make it louder",
        "volume up",
        "turn it up",
        "I can't hear that",
        "louder please",
        "raise the volume",
        "turn the sound up",
    )
    p[fsc_label("decrease", "volume", "none")] = (
        "turn down the volume",
        "decrease the volume",
        "quieter",
        "make it quieter",
        "volume down",
        "turn it down",
        "it's too loud",
        "lower the volume",
        "reduce the volume",
        "that's too loud",
    )
    p[fsc_label("bring", "juice", "none")] = (
        "bring me some juice",
        "get me a juice",
        "I need juice",
        "bring juice",
        "fetch me some juice",
        "could you bring me a glass of juice",
        "I'm thirsty, bring me some juice",
        "go get me some juice",
        "juice please",
    )
    p[fsc_label("bring", "newspaper", "none")] = (
        "bring me the newspaper",
        "get me the newspaper",
        "fetch the newspaper",
        "I want the newspaper",
        "bring the paper",
        "could you bring me today's newspaper",
        "go get the newspaper",
        "newspaper please",
        "get me the paper",
    )
    p[fsc_label("bring", "shoes", "none")] = (
        "bring me my shoes",
        "get my shoes",
        "fetch my shoes",
        "I need my shoes",
        "bring shoes",
        "could you bring me my shoes please",
        "go get my shoes",
        "where are my shoes? bring them here",
        "shoes please",
    )
    p[fsc_label("bring", "socks", "none")] = (
        "bring me my socks",
        "get my socks",
        "fetch my socks",
        "I need my socks",
        "bring socks",
        "could you bring me some socks please",
        "go get my socks",
        "my feet are cold, bring me socks",
        "socks please",
    )
    return dict(sorted(p.items()))


FSC_PHRASES: Mapping[str, tuple[str, ...]] = _build()
FSC_INTENTS: tuple[str, ...] = tuple(FSC_PHRASES)  # sorted; 31 labels
