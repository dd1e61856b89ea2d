"""Record types shared by every corpus: one `Utterance` per audio file, one `Corpus` per data set.

A corpus is plain data (tuples of frozen dataclasses), so it can be hashed into a
fingerprint, pickled to worker processes and compared in tests. Loaders build it with
`make_corpus`, which also applies the policy for labels that appear in valid/test but
never in train (see `UNSEEN_LABEL_POLICIES`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

SPLITS: tuple[str, ...] = ("train", "valid", "test")

# What to do with utterances whose label never occurs in the train split:
#   "error": raise a ValueError listing the labels (default: a silent mismatch between
#            label spaces would corrupt accuracy/F1 without anyone noticing);
#   "drop":  drop those utterances and count them in `Corpus.skipped`;
#   "keep":  keep them; the label space includes them (a model can never predict them,
#            which scores them as errors, as an honest evaluation on the full test set would).
UNSEEN_LABEL_POLICIES: tuple[str, ...] = ("error", "drop", "keep")


@dataclass(frozen=True)
class Utterance:
    """One audio file with its intent label.

    `recording` is the corpus' own name for the file when it differs from `uid` in a way
    scorers care about (SLURP keys predictions by recording file name); `source_id` is
    the corpus' id of the sentence/prompt (SLURP `slurp_id`), empty when not applicable.
    """

    uid: str  # unique within the corpus
    path: str  # absolute path to the audio file
    label: str  # intent name, e.g. "activate_lights_kitchen" or "alarm_set"
    speaker: str
    split: str  # "train" | "valid" | "test"
    text: str = ""
    recording: str = ""
    source_id: str = ""


@dataclass(frozen=True)
class Corpus:
    """A labelled speech corpus with train/valid/test splits.

    `intents` is the label space (sorted; index = class id). `skipped` counts entries the
    loader left out, by reason (e.g. {"missing audio": 12}). `unseen_labels` lists labels
    of valid/test that never occur in train and were kept (policy "keep"); it is empty
    under the default policy, which raises instead. `fingerprint` hashes the manifest
    content, and the audio content where `audio_digests` is given, and keys feature caches.
    `audio_digests` maps an utterance's `path` to a digest of its file's bytes
    (`benchmark.data.audio_index`); real corpora carry it, generated ones leave it empty.
    """

    name: str  # e.g. "synthetic-fsc", "synthetic-slurp", "fsc", "slurp"
    stands_for: str  # "FSC" or "SLURP": the paper's data set this corpus plays
    synthetic: bool
    intents: tuple[str, ...]
    utterances: tuple[Utterance, ...]
    skipped: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)
    fingerprint: str = ""
    unseen_labels: tuple[str, ...] = ()
    source: str = ""  # folder the corpus was read from
    audio_digests: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    def split(self, name: str) -> tuple[Utterance, ...]:
        """Utterances of one split ("train", "valid" or "test"), in manifest order."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return tuple(u for u in self.utterances if u.split == name)

    def label_id(self, label: str) -> int:
        """Class id of an intent label (its index in `intents`)."""
        try:
            return self.intents.index(label)
        except ValueError:
            raise ValueError(f"label {label!r} is not in the label space of {self.name}") from None

    def counts(self) -> dict[str, int]:
        """Number of utterances per split."""
        counter = Counter(u.split for u in self.utterances)
        return {s: counter.get(s, 0) for s in SPLITS}

    def __repr__(self) -> str:
        return (
            f"Corpus(name={self.name!r}, stands_for={self.stands_for!r}, "
            f"synthetic={self.synthetic}, intents={len(self.intents)}, "
            f"utterances={self.counts()}, skipped={dict(self.skipped)}, "
            f"fingerprint={self.fingerprint!r})"
        )


# What identifies the sentence a recording says, for the bootstrap's resampling unit
# (``benchmark.metrics.resample_counts``): SLURP records each sentence several times under one
# ``slurp_id`` (``Utterance.source_id``); FSC and the synthetic stand-ins have no sentence id, but
# speakers say a few fixed phrasings, so recordings of one transcription (case, punctuation and
# spacing ignored) share a sentence. A corpus with neither resamples recordings.
SENTENCE_UNITS: tuple[str, ...] = ("source_id", "transcription", "recording")
RECORDING = SENTENCE_UNITS[-1]  # no sentence ids: every recording is its own unit


def sentence_unit(utterances: Iterable[Utterance]) -> str:
    """The unit recordings are grouped by (one of ``SENTENCE_UNITS``): ``source_id`` when every
    utterance has one, else ``transcription`` when every utterance has a text, else
    ``recording``."""
    utts = tuple(utterances)
    if utts and all(u.source_id for u in utts):
        return "source_id"
    if utts and all(u.text.strip() for u in utts):
        return "transcription"
    return "recording"


def sentence_key(u: Utterance, unit: str) -> str:
    """The group of one recording under ``unit`` (``sentence_unit``)."""
    if unit == "source_id":
        return u.source_id
    if unit == "transcription":
        return " ".join(re.sub(r"[^\w\s']", " ", u.text.casefold()).split())
    if unit == "recording":
        return u.uid
    raise ValueError(f"sentence unit must be one of {SENTENCE_UNITS}, got {unit!r}")


def sentence_groups(utterances: Iterable[Utterance]) -> tuple[str, list[int]]:
    """(unit, group id per utterance): ids 0, 1, ... in order of first appearance."""
    utts = tuple(utterances)
    unit = sentence_unit(utts)
    ids: dict[str, int] = {}
    return unit, [ids.setdefault(sentence_key(u, unit), len(ids)) for u in utts]


def _portable_path(path: str, root: str) -> str:
    """``path`` relative to the corpus folder ``root`` (posix separators) when it lies inside it,
    else unchanged: the same corpus copied or generated elsewhere keeps its fingerprint."""
    if not root:
        return path
    try:
        return PurePath(path).relative_to(PurePath(root)).as_posix()
    except ValueError:
        return path


def corpus_fingerprint(
    name: str,
    utterances: Iterable[Utterance],
    intents: Iterable[str],
    root: str = "",
    audio_digests: Mapping[str, str] | None = None,
) -> str:
    """sha256 (first 16 hex digits) of the manifest content: name, label space and every
    utterance's fields in order, audio paths taken relative to ``root`` (the corpus folder),
    and, when ``audio_digests`` (path -> digest of the file's bytes) is given, each utterance's
    audio digest. Two corpora with the same fingerprint list the same files with the same labels
    (and the same audio), wherever their folders are (so caches and committed results carry over
    between machines). Without ``audio_digests`` the value is the manifest-only one that the
    generated corpora's committed results carry."""
    h = hashlib.sha256()
    h.update(json.dumps({"name": name, "intents": list(intents)}).encode())
    for u in utterances:
        path = _portable_path(u.path, root)
        row = [u.uid, path, u.label, u.speaker, u.split, u.text, u.recording, u.source_id]
        if audio_digests:
            row.append(audio_digests.get(u.path, ""))
        h.update(b"\n" + json.dumps(row, ensure_ascii=False).encode())
    return h.hexdigest()[:16]


def make_corpus(
    name: str,
    stands_for: str,
    synthetic: bool,
    utterances: Iterable[Utterance],
    skipped: Mapping[str, int] | None = None,
    unseen_labels: str = "error",
    intents: Iterable[str] | None = None,
    source: str = "",
    audio_digests: Mapping[str, str] | None = None,
) -> Corpus:
    """Build a `Corpus`: check uids are unique and splits valid, apply the unseen-label
    policy, derive the sorted label space and the fingerprint.

    `intents`: a fixed label space (e.g. a synthetic corpus' configured intents); by
    default the labels of the train split (plus unseen valid/test labels under "keep").
    `audio_digests`: path -> digest of the audio file's bytes, folded into the fingerprint.
    """
    if unseen_labels not in UNSEEN_LABEL_POLICIES:
        raise ValueError(
            f"unseen_labels must be one of {UNSEEN_LABEL_POLICIES}, got {unseen_labels!r}"
        )
    if stands_for not in ("FSC", "SLURP"):
        raise ValueError(f"stands_for must be 'FSC' or 'SLURP', got {stands_for!r}")
    utts = tuple(utterances)
    skipped_counts = Counter(dict(skipped or {}))
    seen: set[str] = set()
    for u in utts:
        if u.split not in SPLITS:
            raise ValueError(
                f"{name}: utterance {u.uid!r} has split {u.split!r}, not one of {SPLITS}"
            )
        if u.uid in seen:
            raise ValueError(f"{name}: duplicate utterance uid {u.uid!r}")
        seen.add(u.uid)

    train_labels = {u.label for u in utts if u.split == "train"}
    unseen = sorted({u.label for u in utts if u.split != "train"} - train_labels)
    if unseen and unseen_labels == "error":
        per_split = Counter(u.split for u in utts if u.label in set(unseen))
        raise ValueError(
            f"{name}: {len(unseen)} label(s) occur in valid/test but never in train "
            f"({dict(per_split)} utterances): {unseen}. Pass --unseen-labels drop to drop and "
            f"count them, or --unseen-labels keep to keep them in the label space (Python: "
            f"unseen_labels='drop' / 'keep')."
        )
    if unseen and unseen_labels == "drop":
        unseen_set = set(unseen)
        n_dropped = sum(u.label in unseen_set for u in utts)
        utts = tuple(u for u in utts if u.label not in unseen_set)
        skipped_counts["label not in train"] += n_dropped
        unseen = []

    if intents is None:
        label_space = sorted(train_labels | set(unseen))
    else:
        label_space = sorted(set(intents))
        outside = sorted({u.label for u in utts} - set(label_space))
        if outside:
            raise ValueError(f"{name}: labels outside the given label space: {outside}")
    return Corpus(
        name=name,
        stands_for=stands_for,
        synthetic=synthetic,
        intents=tuple(label_space),
        utterances=utts,
        skipped={k: v for k, v in sorted(skipped_counts.items()) if v},
        fingerprint=corpus_fingerprint(name, utts, label_space, source, audio_digests),
        unseen_labels=tuple(unseen),
        source=source,
        audio_digests={u.path: audio_digests[u.path] for u in utts if u.path in audio_digests}
        if audio_digests
        else {},
    )
