"""FSC loader on a tiny copy of the official layout built in tmp_path."""

import numpy as np
import pytest
import soundfile as sf

from benchmark.data.fsc import fsc_label, load_fsc

HEADER = ",path,speakerId,transcription,action,object,location\n"
ROWS = {
    "train": [
        ("spkA", "a1", "Turn on the kitchen lights", "activate", "lights", "kitchen"),
        ("spkA", "a2", "Switch to Chinese", "change language", "Chinese", "none"),
        ("spkB", "b1", "Bring me my socks", "bring", "socks", "none"),
        ("spkB", "b2", "Kitchen lights on", "activate", "lights", "kitchen"),
    ],
    "valid": [("spkC", "c1", "I need my socks", "bring", "socks", "none")],
    "test": [
        ("spkD", "d1", "Chinese please", "change language", "Chinese", "none"),
        ("spkD", "d2", "Lights on in the kitchen", "activate", "lights", "kitchen"),
    ],
}


def make_fsc(root, rows=ROWS, missing=("b2",), extra_lines=None):
    """Write <root>/data/{split}_data.csv and <root>/wavs/speakers/<spk>/<id>.wav."""
    (root / "data").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, split_rows in rows.items():
        lines = [HEADER]
        for i, (spk, uid, text, action, obj, loc) in enumerate(split_rows):
            rel = f"wavs/speakers/{spk}/{uid}.wav"
            lines.append(f'{i},{rel},{spk},"{text}",{action},{obj},{loc}\n')
            if uid not in missing:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, 0.1 * rng.standard_normal(1600).astype(np.float32), 16000)
        lines += (extra_lines or {}).get(split, [])
        (root / "data" / f"{split}_data.csv").write_text("".join(lines))
    return root


def test_labels_paths_and_missing_audio_counted(tmp_path):
    root = make_fsc(tmp_path / "fsc")
    with pytest.warns(UserWarning, match=r"train_data\.csv: 1 listed audio file\(s\) missing"):
        c = load_fsc(root)
    assert c.name == "fsc" and c.stands_for == "FSC" and not c.synthetic
    assert c.skipped == {"missing audio": 1}
    assert c.counts() == {"train": 3, "valid": 1, "test": 2}
    assert c.intents == (
        "activate_lights_kitchen",
        "bring_socks_none",
        "change language_Chinese_none",
    )
    u = c.split("train")[0]
    assert u.uid == "wavs/speakers/spkA/a1.wav"
    assert u.path == str(root.resolve() / "wavs/speakers/spkA/a1.wav")
    assert u.label == "activate_lights_kitchen" and u.speaker == "spkA"
    assert u.text == "Turn on the kitchen lights"
    assert "wavs/speakers/spkB/b2.wav" not in {x.uid for x in c.utterances}
    assert fsc_label("change language", "none", "none") == "change language_none_none"


def test_malformed_row_names_file_and_line(tmp_path):
    bad = {"valid": ["9,wavs/speakers/spkC/c9.wav,spkC,too few fields\n"]}
    root = make_fsc(tmp_path / "fsc", missing=(), extra_lines=bad)
    with pytest.raises(ValueError, match=r"valid_data\.csv:3: expected 7 fields, got 4"):
        load_fsc(root)


def test_empty_required_field_names_file_and_line(tmp_path):
    bad = {"test": ["9,wavs/speakers/spkD/d1.wav,spkD,text,,lights,none\n"]}
    root = make_fsc(tmp_path / "fsc", missing=(), extra_lines=bad)
    with pytest.raises(ValueError, match=r"test_data\.csv:4: empty field\(s\) \['action'\]"):
        load_fsc(root)


def test_bad_header_and_missing_paths(tmp_path):
    root = make_fsc(tmp_path / "fsc", missing=())
    (root / "data" / "valid_data.csv").write_text(",path,speaker,transcription\n")
    with pytest.raises(ValueError, match=r"valid_data\.csv:1: header lacks column"):
        load_fsc(root)
    (root / "data" / "valid_data.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"valid_data\.csv not found"):
        load_fsc(root)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_fsc(tmp_path / "nowhere")


def test_label_unseen_in_train_raises_or_drops(tmp_path):
    rows = dict(ROWS)
    rows["test"] = ROWS["test"] + [("spkD", "d3", "Bring juice", "bring", "juice", "none")]
    root = make_fsc(tmp_path / "fsc", rows=rows, missing=())
    with pytest.raises(ValueError, match=r"\['bring_juice_none'\]"):
        load_fsc(root)
    c = load_fsc(root, unseen_labels="drop")
    assert c.skipped == {"label not in train": 1}
    assert "bring_juice_none" not in c.intents
