"""Which corpus a dataset runs on: the profile's, or the real one when its root folder is given.

A root given for a dataset (``--fsc-root`` / ``--slurp-root`` or ``QUADS_FSC_ROOT`` /
``QUADS_SLURP_ROOT``) makes that dataset run on the real corpus in any profile; ``--subset N``
cuts every corpus to N utterances per split, stratified by intent
(``benchmark.data.subset``); the SLURP loader's ``headset`` and the real loaders'
``unseen_labels`` options come from here too. With no root, no subset and default options
(``DataChoice()``), every corpus, configuration and result is exactly the profile's own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.data.corpora import CORPORA, get_corpus
from benchmark.data.records import UNSEEN_LABEL_POLICIES, Corpus
from benchmark.profiles import Profile

# the real corpus of each paper dataset, and its loader's name in benchmark.data.corpora
REAL_CORPUS: Mapping[str, str] = {"FSC": "fsc", "SLURP": "slurp"}
# --slurp-headset choice -> load_slurp(headset=...): every recording / far-field / close-talk
HEADSET: Mapping[str, bool | str] = {"all": True, "farfield": False, "only": "only"}


def roots_from(fsc: str | None = None, slurp: str | None = None) -> dict[str, str]:
    """Root folders by real corpus name: the flags, else the environment variables."""
    roots = {}
    for name, flag in (("fsc", fsc), ("slurp", slurp)):
        value = flag or os.environ.get(CORPORA[name].root_env)
        if value:
            roots[name] = str(Path(value).expanduser())
    return roots


@dataclass(frozen=True)
class DataChoice:
    """Which corpus each dataset runs on, and how it is cut (module doc)."""

    roots: Mapping[str, str] = field(default_factory=dict)  # real corpus name -> root folder
    subset: int | None = None  # utterances per split, stratified by intent
    slurp_headset: str = "all"  # "all" | "farfield" | "only" (real SLURP)
    unseen_labels: str = "error"  # real corpora: records.UNSEEN_LABEL_POLICIES

    def __post_init__(self) -> None:
        unknown = sorted(set(self.roots) - set(REAL_CORPUS.values()))
        if unknown:
            raise ValueError(f"roots given for unknown corpora {unknown}; known: fsc, slurp")
        if self.subset is not None and self.subset < 1:
            raise ValueError(f"--subset must be >= 1 utterance per split, got {self.subset}")
        if self.slurp_headset not in HEADSET:
            raise ValueError(
                f"--slurp-headset must be one of {', '.join(HEADSET)}, got {self.slurp_headset!r}"
            )
        if self.unseen_labels not in UNSEEN_LABEL_POLICIES:
            raise ValueError(
                f"--unseen-labels must be one of {', '.join(UNSEEN_LABEL_POLICIES)}, "
                f"got {self.unseen_labels!r}"
            )

    def corpus_name(self, profile: Profile, dataset: str) -> str:
        """The registry name of the corpus ``dataset`` loads: the real one when its root is given."""
        real = REAL_CORPUS.get(dataset)
        return real if real in self.roots else profile.corpus_for(dataset)

    def label(self, profile: Profile, dataset: str) -> str:
        """The name the loaded corpus carries (``Corpus.name``), e.g. ``fsc-subset50``."""
        name = self.corpus_name(profile, dataset)
        return name if self.subset is None else f"{name}-subset{self.subset}"

    def profile_for(self, profile: Profile, dataset: str) -> Profile:
        """``profile`` with ``dataset`` mapped to the corpus it runs on: what a result file's
        configuration records. Unchanged (the same object) when no root replaces its corpus."""
        profile = profile.for_dataset(dataset)  # its budget (``Profile.budgets``)
        name = self.corpus_name(profile, dataset)
        if name == profile.corpora.get(dataset):
            return profile
        return dataclasses.replace(profile, corpora={**profile.corpora, dataset: name})

    def replaced(self, profile: Profile, datasets) -> dict[str, str]:
        """Datasets whose corpus differs from the profile's own -> the corpus they run on."""
        return {
            d: self.label(profile, d)
            for d in datasets
            if d in profile.corpora and self.label(profile, d) != profile.corpus_for(d)
        }

    def loader_options(self, name: str) -> dict[str, object]:
        """Keyword options of the real loader ``name`` (none for synthetic corpora)."""
        if CORPORA[name].synthetic:
            return {}
        options: dict[str, object] = {"unseen_labels": self.unseen_labels}
        if name == "slurp":
            options["headset"] = HEADSET[self.slurp_headset]
        return options

    def notes(self, profile: Profile, dataset: str) -> dict[str, object]:
        """Non-default options that shaped ``dataset``'s corpus (for the result files)."""
        name = self.corpus_name(profile, dataset)
        notes: dict[str, object] = {}
        if self.subset is not None:
            notes["subset_per_split"] = self.subset
        if not CORPORA[name].synthetic and self.unseen_labels != "error":
            notes["unseen_labels"] = self.unseen_labels
        if name == "slurp" and self.slurp_headset != "all":
            notes["headset"] = self.slurp_headset
        return notes

    def load(self, profile: Profile, dataset: str, cache: Path) -> Corpus:
        """Load (or generate) ``dataset``'s corpus; ``cache`` holds generated corpora."""
        name = self.corpus_name(profile, dataset)
        options = self.loader_options(name)
        if name in profile.synthetic:
            options["config"] = profile.synthetic[name]
        corpus = get_corpus(name, root=self.roots.get(name), cache_dir=cache, **options)
        if self.subset is not None:
            from benchmark.data.subset import stratified_subset

            corpus = stratified_subset(corpus, self.subset)
        return corpus
