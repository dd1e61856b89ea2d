"""SLURP loader on a tiny copy of the official layout built in tmp_path (FLAC audio)."""

import json

import numpy as np
import pytest
import soundfile as sf

from benchmark.data.slurp import load_slurp, slurp_label


def _rec(sid, scenario, action, files, sentence="some sentence"):
    # the raw "intent" field is deliberately inconsistent: the loader must not use it
    return {
        "slurp_id": sid,
        "sentence": sentence,
        "scenario": scenario,
        "action": action,
        "intent": f"{scenario}-{action}-raw",
        "recordings": [{"file": f, "wer": 0.0} for f in files],
        "entities": [],
    }


RECORDS = {
    "train": [
        _rec(1, "alarm", "set", ["audio-1.flac", "audio-1-headset.flac"], "wake me up at six"),
        _rec(2, "iot", "hue_lightoff", ["audio-2.flac", "audio-2-headset.flac"]),
        _rec(3, "alarm", "set", ["audio-3.flac"]),
    ],
    "devel": [_rec(4, "iot", "hue_lightoff", ["audio-4.flac"])],
    "test": [_rec(5, "alarm", "set", ["audio-5.flac", "audio-5-headset.flac", "audio-6.flac"])],
    "train_synthetic": [_rec(7, "iot", "hue_lightoff", ["synth-7.flac"])],
}
MISSING = ("audio-6.flac",)


def make_slurp(root, records=RECORDS, audio_sub="audio", missing=MISSING, extra=None):
    """<root>/dataset/slurp/*.jsonl and <root>/<audio_sub>/slurp_{real,synth}/*.flac."""
    jdir = root / "dataset" / "slurp"
    jdir.mkdir(parents=True)
    audio = root / audio_sub if audio_sub else root
    rng = np.random.default_rng(0)
    for stem, recs in records.items():
        lines = [json.dumps(r) + "\n" for r in recs] + (extra or {}).get(stem, [])
        (jdir / f"{stem}.jsonl").write_text("".join(lines))
        sub = "slurp_synth" if stem == "train_synthetic" else "slurp_real"
        (audio / sub).mkdir(parents=True, exist_ok=True)
        for r in recs:
            for rec in r["recordings"]:
                if rec["file"] not in missing:
                    x = 0.1 * rng.standard_normal(1600).astype(np.float32)
                    sf.write(audio / sub / rec["file"], x, 16000, format="FLAC")
    return root


def test_one_utterance_per_recording_label_and_missing(tmp_path):
    root = make_slurp(tmp_path / "slurp")
    with pytest.warns(UserWarning, match=r"test\.jsonl: 1 listed recording"):
        c = load_slurp(root)
    assert c.stands_for == "SLURP" and c.name == "slurp"
    assert c.skipped == {"missing audio": 1}
    assert c.counts() == {"train": 5, "valid": 1, "test": 2}
    assert c.intents == ("alarm_set", "iot_hue_lightoff")
    u = c.split("train")[1]
    assert u.uid == u.recording == "audio-1-headset.flac"
    assert u.source_id == "1" and u.label == "alarm_set" and u.text == "wake me up at six"
    assert u.path == str(root.resolve() / "audio" / "slurp_real" / "audio-1-headset.flac")
    assert slurp_label("audio", "volume_up") == "audio_volume_up"


def test_headset_selection_and_synthetic_train(tmp_path):
    root = make_slurp(tmp_path / "slurp", missing=())
    far = load_slurp(root, headset=False)
    assert not any(u.uid.endswith("-headset.flac") for u in far.utterances)
    assert far.skipped == {"headset filtered": 3} and far.counts()["train"] == 3
    close = load_slurp(root, headset="only")
    assert all(u.uid.endswith("-headset.flac") for u in close.utterances)
    assert close.counts() == {"train": 2, "valid": 0, "test": 1}
    with_synth = load_slurp(root, synthetic_train=True)
    assert with_synth.counts()["train"] == 6
    assert any("slurp_synth" in u.path for u in with_synth.split("train"))
    with pytest.raises(ValueError, match="headset must be one of"):
        load_slurp(root, headset="both")


def test_audio_root_explicit_and_default_search(tmp_path):
    root = make_slurp(tmp_path / "s1", audio_sub="", missing=())  # slurp_real/ directly in root
    assert load_slurp(root).counts()["test"] == 3
    root2 = make_slurp(tmp_path / "s2", audio_sub="elsewhere", missing=())
    with pytest.raises(FileNotFoundError, match="no slurp_real/ folder"):
        load_slurp(root2)
    assert load_slurp(root2, audio_root=root2 / "elsewhere").counts()["train"] == 5


def test_malformed_line_names_file_and_line(tmp_path):
    root = make_slurp(tmp_path / "slurp", missing=(), extra={"devel": ['{"slurp_id": 9, \n']})
    with pytest.raises(ValueError, match=r"devel\.jsonl:2: invalid JSON"):
        load_slurp(root)


def test_missing_field_names_file_and_line(tmp_path):
    bad = json.dumps({"slurp_id": 9, "scenario": "alarm", "recordings": []}) + "\n"
    root = make_slurp(tmp_path / "slurp", missing=(), extra={"test": ["\n", bad]})
    with pytest.raises(ValueError, match=r"test\.jsonl:3: missing field 'action'"):
        load_slurp(root)


def test_missing_files_and_unseen_labels(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_slurp(tmp_path / "nowhere")
    records = dict(RECORDS)
    records["test"] = RECORDS["test"] + [_rec(8, "weather", "query", ["audio-8.flac"])]
    root = make_slurp(tmp_path / "slurp", records=records, missing=())
    with pytest.raises(ValueError, match=r"\['weather_query'\]"):
        load_slurp(root)
    kept = load_slurp(root, unseen_labels="keep")
    assert kept.unseen_labels == ("weather_query",) and "weather_query" in kept.intents
    (root / "dataset" / "slurp" / "devel.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match=r"devel\.jsonl not found"):
        load_slurp(root)
