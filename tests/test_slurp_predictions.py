"""SLURP predictions in the official scorer's format (jsonl keyed by recording file)."""

import json

from benchmark.data.records import Utterance, make_corpus
from benchmark.run.recipe import write_slurp_predictions


def test_predictions_are_keyed_by_recording_with_scenario_and_action(tmp_path):
    utts = [
        Utterance("u1", "/a/1.flac", "iot_hue_lightoff", "", "train", recording="audio-1.flac"),
        Utterance("u2", "/a/2.flac", "alarm_set", "", "train", recording="audio-2.flac"),
        Utterance("u3", "/a/3.flac", "alarm_set", "", "test", recording="audio-3-headset.flac"),
        Utterance("u4", "/a/4.flac", "iot_hue_lightoff", "", "test", recording="audio-4.flac"),
    ]
    corpus = make_corpus("slurp", "SLURP", False, utts)
    ids = {label: i for i, label in enumerate(corpus.intents)}
    path = write_slurp_predictions(
        tmp_path / "p.jsonl", corpus, ("u3", "u4"), [ids["iot_hue_lightoff"], ids["alarm_set"]]
    )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "file": "audio-3-headset.flac",
            "scenario": "iot",
            "action": "hue_lightoff",
            "entities": [],
        },
        {"file": "audio-4.flac", "scenario": "alarm", "action": "set", "entities": []},
    ]
