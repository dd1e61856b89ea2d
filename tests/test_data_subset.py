"""--subset N: at most N utterances per split, stratified by intent, a corpus of its own."""

from collections import Counter

import pytest

from benchmark.data.records import Utterance, make_corpus
from benchmark.data.subset import allocate, stratified_subset


def test_allocation_keeps_proportions_and_every_intent():
    counts = {"a": 60, "b": 30, "c": 10}
    assert allocate(counts, 10) == {"a": 6, "b": 3, "c": 1}
    assert sum(allocate(counts, 7).values()) == 7
    assert min(allocate(counts, 3).values()) == 1  # one each when n reaches the intents
    assert allocate(counts, 2) == {"a": 1, "b": 1, "c": 0}  # below: the most frequent
    assert allocate(counts, 500) == counts
    for n in range(1, 101):
        quota = allocate(counts, n)
        assert sum(quota.values()) == n and all(quota[k] <= counts[k] for k in counts)


def _corpus(order=1):
    utts = []
    for split, per in (("train", (12, 6, 2)), ("valid", (3, 3, 3)), ("test", (5, 4, 1))):
        for label, n in zip(("alarm_set", "iot_hue_lightoff", "music_query"), per, strict=True):
            utts += [Utterance(f"{split}-{label}-{i}", f"/x/{split}{label}{i}.flac", label, "", split)
                     for i in range(n)]  # fmt: skip
    return make_corpus("slurp", "SLURP", False, utts[::order], {"missing audio": 2})


def test_subset_is_stratified_deterministic_and_a_corpus_of_its_own():
    full = _corpus()
    sub = stratified_subset(full, 5)
    assert sub.name == "slurp-subset5" and sub.fingerprint != full.fingerprint
    assert sub.intents == full.intents  # the full label space: the same class count
    assert sub.counts() == {"train": 5, "valid": 5, "test": 5}
    assert Counter(u.label for u in sub.split("train")) == {
        "alarm_set": 3,
        "iot_hue_lightoff": 1,
        "music_query": 1,
    }
    assert sub.skipped == {"missing audio": 2, "outside --subset 5": 24}
    # the choice depends on the utterances, not on the manifest order
    assert {u.uid for u in stratified_subset(_corpus(order=-1), 5).utterances} == {
        u.uid for u in sub.utterances
    }
    assert stratified_subset(full, 100).counts() == full.counts()
    with pytest.raises(ValueError, match="subset must be >= 1"):
        stratified_subset(full, 0)
