"""What every audio file of an on-disk corpus holds: a content digest per file, kept in a side index.

A real corpus' fingerprint covers its audio, not only its manifest (``records.corpus_fingerprint``
with ``audio_digests``), so changed, added or removed audio under an unchanged manifest keys new
feature caches. Hashing every file at every load would cost seconds to minutes, so each corpus
folder has a small JSON index (``<index dir>/<sha256 of the folder path, 16 hex>.json``)
holding, per file (path relative to the folder):

    [size, mtime_ns, blake2b-128 hex digest, frames]

``size`` and ``mtime_ns`` are the fast path: a file whose ``os.stat`` still gives both keeps its
digest; any other file is read and hashed again (as ``git``'s index does; a rewrite of the same
size inside one mtime tick would go unseen). ``frames`` is soundfile's header count of samples
per channel (-1: the header is unreadable), which preflight uses to count the utterances a split
will really have without decoding audio. The index is rewritten atomically when anything
changed; an unreadable index is rebuilt from the files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.data.cache import atomic_write, cache_subdir
from benchmark.data.records import Corpus, Utterance, make_corpus

INDEX_VERSION = 1
CHUNK = 1 << 20  # 1 MiB reads while hashing


@dataclass(frozen=True)
class FileState:
    """One audio file as last seen: the fast-path key (size, mtime_ns), its digest, its frames."""

    size: int
    mtime_ns: int
    digest: str  # blake2b, 16-byte digest as 32 hex digits
    frames: int  # samples per channel from the header; -1: header unreadable, 0: empty

    @property
    def readable(self) -> bool:
        """Whether the header promises at least one sample (NaN content is found only on decoding)."""
        return self.frames > 0


def index_file(root: str | os.PathLike, index_dir: str | os.PathLike | None = None) -> Path:
    """The index of the corpus folder ``root``: ``<index_dir or cache root/audio-index>/<16 hex>.json``."""
    key = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
    return cache_subdir(index_dir, "audio-index") / f"{key}.json"


def file_digest(path: str | os.PathLike) -> str:
    """blake2b (16-byte digest, hex) of a file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def header_frames(path: str | os.PathLike) -> int:
    """Samples per channel according to the file's header, -1 when soundfile cannot parse it."""
    import soundfile as sf

    try:
        return int(sf.info(str(path)).frames)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return -1


def _read_index(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text())
        if data.get("version") == INDEX_VERSION and isinstance(data.get("files"), dict):
            return data["files"]
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        pass
    return {}


def scan(
    paths: Iterable[str], root: str | os.PathLike, index_dir: str | os.PathLike | None = None
) -> dict[str, FileState]:
    """State of every existing file of ``paths`` (absolute; missing ones are left out), keyed by
    the path as given, using and updating ``root``'s index (module doc)."""
    root = Path(root).resolve()
    where = index_file(root, index_dir)
    known = _read_index(where)
    states: dict[str, FileState] = {}
    changed = False
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        rel = os.path.relpath(path, root)
        entry = known.get(rel)
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            states[path] = FileState(*entry)
            continue
        try:
            digest = file_digest(path)
        except OSError:
            continue  # vanished or unreadable bytes: the loaders count it when they read it
        state = FileState(st.st_size, st.st_mtime_ns, digest, header_frames(path))
        known[rel] = [state.size, state.mtime_ns, state.digest, state.frames]
        states[path] = state
        changed = True
    if changed:
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(where) as tmp:
                tmp.write_text(
                    json.dumps({"version": INDEX_VERSION, "root": str(root), "files": known})
                )
        except OSError:
            pass  # a read-only cache only costs the hashing again next time
    return states


def digests(states: Mapping[str, FileState]) -> dict[str, str]:
    """Path -> content digest, the form ``records.make_corpus(audio_digests=...)`` takes."""
    return {p: s.digest for p, s in states.items()}


def on_disk_corpus(
    name: str,
    stands_for: str,
    utts: Sequence[Utterance],
    skipped: Mapping[str, int],
    root: Path,
    unseen_labels: str,
    index_dir: str | os.PathLike | None,
) -> Corpus:
    """A real corpus read from under ``root`` (FSC, SLURP): ``records.make_corpus`` with the
    content digest of every audio file folded into its fingerprint (this module's index)."""
    return make_corpus(
        name,
        stands_for,
        False,
        utts,
        skipped,
        unseen_labels=unseen_labels,
        source=str(root),
        audio_digests=digests(scan([u.path for u in utts], root, index_dir)),
    )
