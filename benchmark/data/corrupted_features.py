"""Features of a corrupted test split, computed once per (corpus, condition) and shared by every
row and seed of the robustness sweep.

For each condition (``benchmark.data.corruptions.CONDITIONS``) the split's audio is corrupted
(``corrupt_utterance``, deterministic per utterance id) and turned into the same inputs the rows
were trained on: Whisper log-mels (``features.log_mel``, stored float16 like the clean feature
cache) and, for the Prosody rows, the six prosodic features (``prosody_features``). One file per
(corpus, n_frames, uids, condition, input) under ``<cache>/robustness/``, written atomically and
checked on load by its zip CRCs (``integrity.load_torch_cache``): a damaged file is named,
deleted and rebuilt. Each file records the seconds it took, so the sweep reports its cost.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from benchmark.data.audio import read_audio
from benchmark.data.cache import cache_subdir
from benchmark.data.corruptions import Condition, corrupt_utterance
from benchmark.data.features import SAMPLE_RATE, log_mel
from benchmark.data.integrity import cache_message, load_torch_cache, save_torch_cache
from benchmark.data.prosody_features import prosodic_features
from benchmark.data.records import Corpus

CORRUPTED_VERSION = 1  # bump when corruptions.py, log_mel or prosodic_features change
INPUTS = ("mel", "prosody")


@dataclass(frozen=True)
class CorruptedInput:
    """One input of a corrupted split: (N, 80 | 6, n_frames) float16, in ``uids`` order."""

    values: torch.Tensor
    seconds: float  # what computing it took when it was built (0 never: read from the file)
    from_cache: bool


def corrupted_path(
    cache_dir: str | os.PathLike | None,
    corpus: Corpus,
    split: str,
    n_frames: int,
    uids: Sequence[str],
    condition: Condition,
    what: str,
) -> Path:
    """``<cache>/robustness/<corpus>-<fingerprint>/<split>-f<n>-v<V>-<uids digest>/<cond>.<what>.pt``"""
    digest = hashlib.sha256("\n".join(uids).encode()).hexdigest()[:12]
    return (
        cache_subdir(cache_dir, "robustness")
        / f"{corpus.name}-{corpus.fingerprint}"
        / f"{split}-f{n_frames}-v{CORRUPTED_VERSION}-{digest}"
        / f"{condition.name}.{what}.pt"
    )


def _compute(
    what: str,
    condition: Condition,
    uids: Sequence[str],
    audio: dict[str, np.ndarray],
    n_frames: int,
    progress: bool,
) -> torch.Tensor:
    rows = []
    for uid in tqdm(uids, desc=f"{condition.name} {what}", unit="utt", disable=not progress):
        x = corrupt_utterance(uid, audio[uid], condition, audio)
        if what == "mel":
            rows.append(log_mel(x, n_frames).numpy().astype(np.float16))  # (80, n_frames)
        else:
            rows.append(prosodic_features(x, SAMPLE_RATE, n_frames).astype(np.float16))  # (6, T)
    depth = 80 if what == "mel" else 6
    return torch.from_numpy(np.stack(rows) if rows else np.zeros((0, depth, n_frames), np.float16))


def load_corrupted(
    corpus: Corpus,
    split: str,
    uids: Sequence[str],
    n_frames: int,
    conditions: Sequence[Condition],
    inputs: Sequence[str] = ("mel",),
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[tuple[str, str], CorruptedInput]:
    """(condition name, input) -> the corrupted split's features, for every condition and input
    ("mel" and/or "prosody"), each computed once and cached. The split's audio is read only when
    something has to be computed; babble talkers are the other utterances of ``uids``."""
    bad = [w for w in inputs if w not in INPUTS]
    if bad:
        raise ValueError(f"unknown inputs {bad}; known: {', '.join(INPUTS)}")
    out: dict[tuple[str, str], CorruptedInput] = {}
    audio: dict[str, np.ndarray] | None = None
    threads = torch.get_num_threads()
    for condition in conditions:
        for what in inputs:
            path = corrupted_path(cache_dir, corpus, split, n_frames, uids, condition, what)
            blob = load_torch_cache(path, "cached corrupted features")
            if blob is not None:
                if blob.get("uids") == list(uids) and blob.get("condition") == asdict(condition):
                    out[(condition.name, what)] = CorruptedInput(
                        blob["values"], float(blob["seconds"]), True
                    )
                    continue
                cache_message(f"cached corrupted features {path} are of other data; rebuilding")
            if audio is None:
                by_uid = {u.uid: u for u in corpus.split(split)}
                audio = {uid: read_audio(by_uid[uid].path, SAMPLE_RATE) for uid in uids}
            start = time.perf_counter()
            # one utterance at a time: torch's thread pool only slows small ops down (features.py)
            torch.set_num_threads(1)
            try:
                values = _compute(what, condition, uids, audio, n_frames, progress)
            finally:
                torch.set_num_threads(threads)
            seconds = time.perf_counter() - start
            blob = {
                "uids": list(uids),
                "condition": asdict(condition),
                "values": values,
                "seconds": seconds,
            }
            save_torch_cache(path, blob, "cached corrupted features")
            out[(condition.name, what)] = CorruptedInput(values, seconds, False)
    return out
