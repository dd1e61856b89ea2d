"""How many utterances each split of a real corpus will really have, counted before any training.

The manifests list files; a run uses those that exist and whose audio can be read, minus the
utterances an ``--unseen-labels drop`` removes and those outside ``--subset``. Counting that
up front turns an empty split (a header-only csv, every listed test file missing or unreadable)
or valid/test labels that train lacks into a preflight problem with its fix, instead of a crash
after every row has trained. Readability comes from the audio index's header probe
(``benchmark.data.audio_index``: no decoding, so NaN samples are found only when features are
built, and counted there as unreadable).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.audio_index import scan
from benchmark.data.corpora import CORPORA, get_corpus
from benchmark.data.records import SPLITS

MANIFEST = {
    "fsc": {s: f"data/{s}_data.csv" for s in SPLITS},
    "slurp": {"train": "dataset/slurp/train.jsonl", "valid": "dataset/slurp/devel.jsonl",
              "test": "dataset/slurp/test.jsonl"},
}  # fmt: skip


@dataclass(frozen=True)
class SplitCheck:
    """Usable utterances per split (empty when the corpus cannot be read) and (what, fix) pairs."""

    usable: dict[str, int]
    problems: tuple[tuple[str, str], ...]


def check_real_splits(dataset: str, name: str, root: Path, choice, cache: Path) -> SplitCheck:
    """Count what the run of ``dataset`` on the real corpus ``name`` at ``root`` will use
    (module doc). ``choice`` is the run's ``DataChoice``; ``cache`` the cache root, whose
    ``corpora/audio-index`` the loaders keep their audio index in."""
    flag = CORPORA[name].root_flag
    options = {**choice.loader_options(name), "unseen_labels": "keep"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing files: counted below
            corpus = get_corpus(name, root=str(root), cache_dir=cache / "corpora", **options)
    except (ValueError, OSError) as err:
        return SplitCheck(
            {},
            ((f"{name.upper()} corpus {root} cannot be read: {err}",
              f"correct the file and line named, or pass {flag} another folder"),),
        )  # fmt: skip
    problems: list[tuple[str, str]] = []
    unseen = set(corpus.unseen_labels)
    if unseen and choice.unseen_labels == "error":
        shown = sorted(unseen)[:5]
        problems.append(
            (
                f"{dataset}: {len(unseen)} label(s) of valid/test in {root} never occur in its "
                f"train split: {shown}{' ...' if len(unseen) > 5 else ''}",
                "pass --unseen-labels drop (drop and count those utterances) or --unseen-labels "
                "keep (keep them; the model can never predict them)",
            )
        )
    states = scan(
        [u.path for u in corpus.utterances], corpus.source, cache / "corpora" / "audio-index"
    )
    usable = {s: 0 for s in SPLITS}
    unreadable = {s: 0 for s in SPLITS}
    for u in corpus.utterances:
        if choice.unseen_labels == "drop" and u.label in unseen:
            continue
        state = states.get(u.path)
        if state is not None and state.readable:
            usable[u.split] += 1
        else:
            unreadable[u.split] += 1
    if choice.subset is not None:
        usable = {s: min(n, choice.subset) for s, n in usable.items()}
    for split in SPLITS:
        if usable[split]:
            continue
        manifest = root / MANIFEST[name][split]
        if unreadable[split]:
            why = f"its {unreadable[split]} present file(s) have no readable audio"
            fix = f"replace the unreadable audio files listed in {manifest}"
        elif choice.unseen_labels == "drop" and unseen and corpus.split(split):
            why = "every utterance has a label train lacks (--unseen-labels drop)"
            fix = "pass --unseen-labels keep, or add train utterances of those labels"
        else:
            why = f"{manifest} lists no utterance whose audio file exists under {root}"
            fix = (
                f"put the audio files {manifest.name} lists under {root} (paths as it gives "
                f"them), or pass {flag} the complete release"
            )
        problems.append((f"{dataset}: the {split} split has no usable utterance: {why}", fix))
    return SplitCheck(usable, tuple(problems))
