"""Registry of corpora by name: "synthetic-fsc", "synthetic-slurp", "fsc", "slurp".

    corpus = get_corpus("synthetic-fsc")                      # generated once, cached
    corpus = get_corpus("fsc", root="/data/fluent_speech_commands_dataset")
    corpus = get_corpus("slurp", headset=False)                # root from $QUADS_SLURP_ROOT

Real corpora need their root folder: the `root` argument, else the environment variable
named in the spec (the CLI flag is given in error messages for the harness' users).
Synthetic corpora are generated into `cache_dir` (default `$QUADS_CACHE_DIR/corpora`, else
`~/.cache/quads-repro/corpora`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from benchmark.data.records import Corpus


@dataclass(frozen=True)
class CorpusSpec:
    """How to obtain one named corpus."""

    name: str
    stands_for: str  # "FSC" | "SLURP"
    synthetic: bool
    options: tuple[str, ...]  # keyword options the loader accepts
    root_flag: str = ""  # CLI flag for the root folder (real corpora)
    root_env: str = ""  # environment variable for the root folder (real corpora)
    description: str = ""


CORPORA: Mapping[str, CorpusSpec] = {
    s.name: s
    for s in (
        CorpusSpec(
            "synthetic-fsc", "FSC", True, ("config", "progress"),
            description="espeak-ng voices speaking FSC's 31 intents; unseen test voices",
        ),
        CorpusSpec(
            "synthetic-slurp", "SLURP", True, ("config", "progress"),
            description="espeak-ng voices speaking 58 SLURP scenario_action intents with slot values",
        ),
        CorpusSpec(
            "fsc", "FSC", False, ("unseen_labels", "index_dir"), "--fsc-root", "QUADS_FSC_ROOT",
            description="Fluent Speech Commands, official layout",
        ),
        CorpusSpec(
            "slurp", "SLURP", False,
            ("audio_root", "headset", "synthetic_train", "unseen_labels", "index_dir"),
            "--slurp-root", "QUADS_SLURP_ROOT",
            description="SLURP, official layout (dataset/slurp/*.jsonl + slurp_real/)",
        ),
    )
}  # fmt: skip


def available_corpora() -> tuple[str, ...]:
    """Names accepted by `get_corpus`."""
    return tuple(CORPORA)


def _loader(name: str) -> Callable[..., Corpus]:
    if name == "fsc":
        from benchmark.data.fsc import load_fsc

        return load_fsc
    if name == "slurp":
        from benchmark.data.slurp import load_slurp

        return load_slurp
    from functools import partial

    from benchmark.data.synthetic import load_synthetic

    return partial(load_synthetic, name)


def get_corpus(
    name: str,
    root: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    **options,
) -> Corpus:
    """Load (or generate) a corpus by name.

    root: folder of a real corpus (else its environment variable); not used by synthetic
    corpora. cache_dir: folder of generated corpora (default `<cache root>/corpora`); a real
    corpus keeps its audio digest index in `<cache_dir>/audio-index` (default
    `<cache root>/audio-index`). options: the loader's keyword
    options (see `CORPORA[name].options`), e.g. `headset=False` for SLURP, `config=` a
    `SyntheticConfig`, `unseen_labels="drop"`.
    """
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; known corpora: {list(CORPORA)}")
    spec = CORPORA[name]
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise ValueError(
            f"corpus {name!r} does not take option(s) {unknown}; it takes {list(spec.options)}"
        )
    if spec.synthetic:
        if root is not None:
            raise ValueError(f"root is not used by synthetic corpus {name!r}; use cache_dir")
        return _loader(name)(cache_dir=cache_dir, **options)
    if root is None:
        root = os.environ.get(spec.root_env) or None
    if root is None:
        raise ValueError(
            f"corpus {name!r} needs its root folder: pass {spec.root_flag} (root=...) or set "
            f"the environment variable {spec.root_env}"
        )
    if cache_dir is not None:
        options.setdefault("index_dir", os.path.join(cache_dir, "audio-index"))
    return _loader(name)(root, **options)
