"""Corpus records: label space, splits, unseen-label policy, fingerprints."""

import pickle
from dataclasses import replace

import pytest

from benchmark.data.records import Utterance, corpus_fingerprint, make_corpus


def _utts(test_label="b"):
    return [
        Utterance("u1", "/a/1.wav", "b", "s1", "train", "one"),
        Utterance("u2", "/a/2.wav", "a", "s1", "train"),
        Utterance("u3", "/a/3.wav", "a", "s2", "valid"),
        Utterance("u4", "/a/4.wav", test_label, "s3", "test"),
    ]


def test_label_space_sorted_from_train_and_splits():
    c = make_corpus("x", "FSC", False, _utts(), {"missing audio": 2})
    assert c.intents == ("a", "b")
    assert c.label_id("b") == 1
    assert [u.uid for u in c.split("train")] == ["u1", "u2"]
    assert c.counts() == {"train": 2, "valid": 1, "test": 1}
    assert c.skipped == {"missing audio": 2}
    assert c.unseen_labels == ()
    with pytest.raises(ValueError, match="split must be one of"):
        c.split("dev")
    with pytest.raises(ValueError, match="'zzz' is not in the label space"):
        c.label_id("zzz")


def test_unseen_test_label_raises_by_default_and_lists_it():
    with pytest.raises(ValueError, match=r"never in train.*\['c'\].*unseen_labels='drop'"):
        make_corpus("x", "FSC", False, _utts(test_label="c"))


def test_unseen_label_drop_counts_and_keep_extends_label_space():
    dropped = make_corpus("x", "FSC", False, _utts("c"), unseen_labels="drop")
    assert dropped.counts()["test"] == 0
    assert dropped.skipped == {"label not in train": 1}
    assert dropped.intents == ("a", "b")
    kept = make_corpus("x", "FSC", False, _utts("c"), unseen_labels="keep")
    assert kept.intents == ("a", "b", "c")
    assert kept.unseen_labels == ("c",)
    with pytest.raises(ValueError, match="unseen_labels must be one of"):
        make_corpus("x", "FSC", False, _utts(), unseen_labels="ignore")


def test_duplicate_uid_and_bad_split_rejected():
    utts = _utts() + [Utterance("u1", "/b.wav", "a", "s", "test")]
    with pytest.raises(ValueError, match="duplicate utterance uid 'u1'"):
        make_corpus("x", "FSC", False, utts)
    with pytest.raises(ValueError, match="split 'dev'"):
        make_corpus("x", "FSC", False, [Utterance("u", "/a.wav", "a", "s", "dev")])


def test_fingerprint_tracks_manifest_content():
    a = make_corpus("x", "SLURP", False, _utts())
    b = make_corpus("x", "SLURP", False, _utts())
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    changed = _utts()
    changed[0] = Utterance("u1", "/a/1.wav", "b", "s1", "train", "uno")
    assert make_corpus("x", "SLURP", False, changed).fingerprint != a.fingerprint
    assert corpus_fingerprint("y", _utts(), a.intents) != a.fingerprint


def test_fingerprint_is_the_same_for_a_copy_in_another_folder():
    def moved(root):
        return [replace(u, path=u.path.replace("/a", root, 1)) for u in _utts()]

    here = make_corpus("x", "FSC", False, moved("/home/me/data"), source="/home/me/data")
    there = make_corpus("x", "FSC", False, moved("/mnt/copy"), source="/mnt/copy")
    assert here.fingerprint == there.fingerprint
    # without a common root the absolute paths differ, and so do the fingerprints
    loose = make_corpus("x", "FSC", False, moved("/mnt/copy"))
    assert loose.fingerprint != here.fingerprint
    # a file outside the corpus folder keeps its absolute path in the hash
    outside = moved("/home/me/data")
    outside[0] = Utterance("u1", "/elsewhere/1.wav", "b", "s1", "train", "one")
    assert make_corpus("x", "FSC", False, outside, source="/home/me/data").fingerprint != (
        here.fingerprint
    )


def test_corpus_pickles_for_worker_processes():
    c = make_corpus("x", "FSC", True, _utts(), {"missing audio": 1})
    c2 = pickle.loads(pickle.dumps(c))
    assert c2 == c and c2.skipped == {"missing audio": 1}


def test_sentence_groups_use_slurp_ids_then_transcriptions_then_recordings():
    from benchmark.data.records import Utterance, sentence_groups

    def u(uid, text="", source_id=""):
        return Utterance(uid, f"/{uid}.wav", "x", "s", "test", text=text, source_id=source_id)

    slurp = [u("a", "wake me up", "12"), u("b", "wake me up", "12"), u("c", "wake me", "13")]
    assert sentence_groups(slurp) == ("source_id", [0, 0, 1])
    fsc = [u("a", "Turn on the lights."), u("b", "turn on  the lights"), u("c", "Lights on")]
    assert sentence_groups(fsc) == ("transcription", [0, 0, 1])
    assert sentence_groups([u("a"), u("b", "x")]) == ("recording", [0, 1])
