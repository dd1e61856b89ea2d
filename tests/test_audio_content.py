"""Features keyed by audio content: a real-layout corpus' fingerprint covers its audio bytes
(issue 25, item 4), through a side index whose (size, mtime_ns) fast path skips re-hashing."""

import csv
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

import benchmark.data.audio_index as audio_index
from benchmark.data.export import export_corpus
from benchmark.data.features import load_features
from benchmark.data.fsc import load_fsc
from benchmark.data.records import Utterance, corpus_fingerprint, make_corpus

LABELS = ("activate_lights_kitchen", "decrease_volume_none")


def _tiny_corpus(folder, per_split=(4, 2, 9)):
    """A generated-like corpus of noise bursts (16 kHz mono), labels in FSC's form."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    utts = []
    for split, n in zip(("train", "valid", "test"), per_split, strict=True):
        for i in range(n):
            path = folder / f"{split}{i}.wav"
            sf.write(path, 0.1 * rng.standard_normal(3200).astype(np.float32), 16000)
            utts.append(
                Utterance(f"{split}{i}", str(path), LABELS[i % 2], f"spk-{split}{i % 3}", split)
            )
    return make_corpus("synthetic-fsc", "FSC", True, utts, source=str(folder))


def _break_test_wavs(root):
    """Replace 6 test wavs: silence, 0 samples, 8 kHz, stereo, text, NaN (issue 25's scenario)."""
    rng = np.random.default_rng(1)
    with open(root / "data" / "test_data.csv", encoding="utf-8") as f:
        listed = [row[1] for row in csv.reader(f)][1:]
    test = [root / rel for rel in listed if (root / rel).is_file()][:6]
    assert len(test) == 6
    silence, empty, low, stereo, text, nan = test
    sf.write(silence, np.zeros(3200, np.float32), 16000)
    sf.write(empty, np.zeros(0, np.float32), 16000)
    sf.write(low, 0.1 * rng.standard_normal(1600).astype(np.float32), 8000)
    sf.write(stereo, 0.1 * rng.standard_normal((3200, 2)).astype(np.float32), 16000)
    text.write_text("this is not audio\n")
    bad = 0.1 * rng.standard_normal(3200).astype(np.float32)
    bad[100] = np.nan
    sf.write(nan, bad, 16000, subtype="FLOAT")


def test_changed_audio_under_the_same_manifest_rebuilds_the_features(tmp_path):
    generated = _tiny_corpus(tmp_path / "gen")
    first = export_corpus(generated, "fsc", tmp_path / "fsc", missing=1).root
    index, cache = tmp_path / "index", tmp_path / "features"
    with pytest.warns(UserWarning, match="missing"):
        original = load_fsc(first, index_dir=index)
    before = load_features(original, "test", 20, cache_dir=cache, progress=False).notes
    assert (before["unreadable"], before["resampled"], before["downmixed"]) == (0, 0, 0)

    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    with pytest.warns(UserWarning, match="missing"):
        same = load_fsc(copy, index_dir=index)
    assert same.fingerprint == original.fingerprint  # same bytes elsewhere: caches carry over
    assert load_features(same, "test", 20, cache_dir=cache, progress=False).from_cache

    _break_test_wavs(copy)
    with pytest.warns(UserWarning, match="missing"):
        changed = load_fsc(copy, index_dir=index)
    assert changed.fingerprint != original.fingerprint
    with pytest.warns(UserWarning, match="unreadable audio"):
        reused = load_features(changed, "test", 20, cache_dir=cache, progress=False)
    with pytest.warns(UserWarning, match="unreadable audio"):
        fresh = load_features(changed, "test", 20, cache_dir=tmp_path / "fresh", progress=False)
    assert not reused.from_cache
    assert reused.notes == fresh.notes != before
    assert (fresh.notes["unreadable"], fresh.notes["resampled"], fresh.notes["downmixed"]) == (
        3,
        1,
        1,
    )
    # the manifest is the same: only the audio moved the fingerprint
    assert [u.uid for u in changed.utterances] == [u.uid for u in same.utterances]


def test_removed_and_added_audio_change_the_fingerprint(tmp_path):
    generated = _tiny_corpus(tmp_path / "gen")
    root = export_corpus(generated, "fsc", tmp_path / "fsc", missing=1).root
    index = tmp_path / "index"
    with pytest.warns(UserWarning):
        full = load_fsc(root, index_dir=index)
    victim = full.split("test")[0]
    data = sf.read(victim.path)
    os.remove(victim.path)
    with pytest.warns(UserWarning):
        removed = load_fsc(root, index_dir=index)
    assert removed.fingerprint != full.fingerprint and victim.uid not in {
        u.uid for u in removed.utterances
    }
    sf.write(victim.path, *data)  # the same bytes back: the same corpus again
    with pytest.warns(UserWarning):
        assert load_fsc(root, index_dir=index).fingerprint == full.fingerprint


def test_the_index_hashes_only_files_whose_size_or_mtime_changed(tmp_path, monkeypatch):
    folder = tmp_path / "audio"
    folder.mkdir()
    paths = []
    for i in range(5):
        p = folder / f"{i}.wav"
        sf.write(p, np.full(800, 0.01 * (i + 1), np.float32), 16000)
        paths.append(str(p))
    hashed = []
    real = audio_index.file_digest
    monkeypatch.setattr(audio_index, "file_digest", lambda p: hashed.append(p) or real(p))
    first = audio_index.scan(paths, folder, tmp_path / "idx")
    assert len(hashed) == 5 and all(s.frames == 800 for s in first.values())
    hashed.clear()
    assert audio_index.scan(paths, folder, tmp_path / "idx") == first and hashed == []
    # same size, new content and mtime: re-hashed, new digest; the others are not read
    sf.write(paths[2], np.full(800, 0.5, np.float32), 16000)
    st = os.stat(paths[2])
    os.utime(paths[2], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = audio_index.scan(paths, folder, tmp_path / "idx")
    assert hashed == [paths[2]] and again[paths[2]].digest != first[paths[2]].digest
    # a damaged index is rebuilt from the files, not trusted
    audio_index.index_file(folder, tmp_path / "idx").write_text("{not json")
    hashed.clear()
    assert audio_index.scan(paths, folder, tmp_path / "idx") == again and len(hashed) == 5
    # header probe: text and 0-sample files are unreadable before any decoding
    (folder / "t.wav").write_text("text")
    sf.write(folder / "e.wav", np.zeros(0, np.float32), 16000)
    probe = audio_index.scan([str(folder / "t.wav"), str(folder / "e.wav")], folder, None)
    assert [s.readable for s in probe.values()] == [False, False]


def test_generated_corpora_keep_their_manifest_only_fingerprint():
    """Without audio digests the fingerprint is the manifest-only one the committed results
    carry: 4aea727d09885e28 is what the code before audio digests gave for this manifest."""
    utts = [
        Utterance("a", "/x/a.wav", "x_y", "s", "train", text="hello"),
        Utterance("b", "/x/b.wav", "x_y", "s", "test"),
    ]
    now = corpus_fingerprint("synthetic-fsc", utts, ["x_y"], "/x")
    assert now == "4aea727d09885e28"
    assert corpus_fingerprint("synthetic-fsc", utts, ["x_y"], "/x", {}) == now
    assert make_corpus("synthetic-fsc", "FSC", True, utts, source="/x").fingerprint == now
    digests = {u.path: "0" * 32 for u in utts}
    assert corpus_fingerprint("synthetic-fsc", utts, ["x_y"], "/x", digests) != now
