"""Prosodic features (6, n_frames) per utterance for the Prosody baselines, cached per split.

Computed from the audio with ``benchmark.data.prosody_features.prosodic_features`` (Praat pitch and
periodicity, band energies), in the order of the split's log-mel ``FeatureSet.uids``, and stored
as one float16 tensor per (corpus, split, n_frames) written atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
import torch
from tqdm import tqdm

from benchmark.data.audio import read_audio
from benchmark.data.cache import atomic_write, cache_subdir
from benchmark.data.features import SAMPLE_RATE
from benchmark.data.prosody_features import prosodic_features
from benchmark.data.records import Corpus

PROSODY_VERSION = 1  # bump when prosodic_features changes


def load_prosody(
    corpus: Corpus,
    split: str,
    n_frames: int,
    uids: Sequence[str],
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Prosodic features (N, 6, n_frames) float32 for ``uids`` (the log-mel order).

    ``uids`` are those the log-mel cache kept (unreadable files were already skipped there); a
    file that fails here anyway raises ``benchmark.data.audio.AudioError`` naming it.
    """
    digest = hashlib.sha256("\n".join(uids).encode()).hexdigest()[:12]
    path = (
        cache_subdir(cache_dir, "prosody")
        / f"{corpus.name}-{corpus.fingerprint}"
        / f"{split}-f{n_frames}-v{PROSODY_VERSION}-{digest}.pt"
    )
    if path.exists():
        return torch.load(path, map_location="cpu").float()
    by_uid = {u.uid: u for u in corpus.split(split)}
    rows = []
    for uid in tqdm(uids, desc=f"prosody {corpus.name}/{split}", unit="utt", disable=not progress):
        utt = by_uid[uid]
        rows.append(prosodic_features(read_audio(utt.path, SAMPLE_RATE), SAMPLE_RATE, n_frames))
    feats = torch.from_numpy(np.stack(rows) if rows else np.zeros((0, 6, n_frames), np.float32))
    with atomic_write(path) as tmp:
        torch.save(feats.half(), tmp)
    return feats
