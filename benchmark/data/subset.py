"""A quick-look subset of a corpus: at most N utterances per split, stratified by intent.

Each split keeps its intents' proportions (largest-remainder allocation, at least one utterance
per intent when N reaches the number of intents in the split; below that, the N most frequent
intents). Within an intent, utterances are taken in the order of the sha256 of their uid, so the
subset depends only on the manifest, not on the folder the corpus lives in or on a random state.

The subset is a corpus of its own (name ``<name>-subset<N>``, its own fingerprint), keeping the
full corpus' label space, so caches, checkpoints and result files of a subset never mix with
those of the full corpus, and models have the full corpus' class count.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from benchmark.data.records import SPLITS, Corpus, Utterance, make_corpus


def _order(u: Utterance) -> str:
    return hashlib.sha256(u.uid.encode()).hexdigest()


def allocate(counts: dict[str, int], n: int) -> dict[str, int]:
    """How many utterances of each intent a split of ``counts`` (intent -> utterances) keeps when
    it keeps ``n`` in all: proportional to the counts (largest remainder), at least one per intent
    when ``n >= len(counts)``."""
    total = sum(counts.values())
    if n >= total:
        return dict(counts)
    labels = sorted(counts, key=lambda k: (-counts[k], k))  # most frequent first, then by name
    if n < len(labels):
        return {k: int(i < n) for i, k in enumerate(labels)}
    exact = {k: n * counts[k] / total for k in labels}
    quota = {k: max(1, int(exact[k])) for k in labels}
    while sum(quota.values()) > n:  # the floor of one overshot: take from the most over share
        k = max((k for k in labels if quota[k] > 1), key=lambda k: quota[k] - exact[k])
        quota[k] -= 1
    while sum(quota.values()) < n:  # largest remainders first
        k = max((k for k in labels if quota[k] < counts[k]), key=lambda k: exact[k] - quota[k])
        quota[k] += 1
    return quota


def stratified_subset(corpus: Corpus, n: int) -> Corpus:
    """``corpus`` cut to at most ``n`` utterances per split, stratified by intent (module doc)."""
    if n < 1:
        raise ValueError(f"subset must be >= 1 utterance per split, got {n}")
    kept: list[Utterance] = []
    dropped = 0
    for split in SPLITS:
        utts = corpus.split(split)
        by_label: dict[str, list[Utterance]] = {}
        for u in utts:
            by_label.setdefault(u.label, []).append(u)
        quota = allocate({k: len(v) for k, v in by_label.items()}, n)
        chosen = {u.uid for k, v in by_label.items() for u in sorted(v, key=_order)[: quota[k]]}
        kept += [u for u in utts if u.uid in chosen]  # manifest order
        dropped += len(utts) - len(chosen)
    skipped = Counter(dict(corpus.skipped))
    skipped[f"outside --subset {n}"] += dropped
    return make_corpus(
        f"{corpus.name}-subset{n}",
        corpus.stands_for,
        corpus.synthetic,
        kept,
        skipped,
        unseen_labels="keep",  # a small split may lack an intent of the full label space
        intents=corpus.intents,
        source=corpus.source,
        audio_digests=corpus.audio_digests,
    )
