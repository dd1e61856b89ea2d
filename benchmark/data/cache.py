"""Where generated corpora and caches live, how a cache folder is published, how a file is written.

Root: `$QUADS_CACHE_DIR`, else `~/.cache/quads-repro`; corpora go to `<root>/corpora`, log-mel
features to `<root>/features`, prosodic features to `<root>/prosody` (the harness adds
`<root>/teacher` and `<root>/runs`). A function's `cache_dir` argument replaces that folder
(e.g. `load_features(..., cache_dir=root / "features")`).
A cache folder is built under a temporary sibling name (`<final>.tmp-<pid>-<rand>`) and
renamed into place only when complete, so an interrupted run never leaves a half cache;
temporary folders of dead processes are removed the next time the same cache is built.
A single file is written the same way with `atomic_write`: `quads.atomic`'s, re-exported here
(the repository's one helper for it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from quads.atomic import atomic_write as atomic_write  # re-exported: benchmark/ imports it here

CACHE_ENV = "QUADS_CACHE_DIR"
DEFAULT_CACHE = Path("~/.cache/quads-repro")


def cache_root() -> Path:
    """The cache root: $QUADS_CACHE_DIR, else ~/.cache/quads-repro. ``ValueError`` when the
    variable is set but empty (``Path("")`` would be the current folder)."""
    env = os.environ.get(CACHE_ENV)
    if env is not None and not env.strip():
        raise ValueError(
            f"{CACHE_ENV} is set but empty: set it to a folder, or unset it to use {DEFAULT_CACHE}"
        )
    return Path(env).expanduser() if env else DEFAULT_CACHE.expanduser()


def cache_subdir(cache_dir: str | os.PathLike | None, kind: str) -> Path:
    """The folder for one kind of cache ("corpora", "features"): `cache_dir` if given,
    else `<cache root>/<kind>`."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return cache_root() / kind


def stable_hash(obj: object, n: int = 12) -> str:
    """First `n` hex digits of sha256 over the canonical JSON of `obj`."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_temp_dir(final: Path) -> Path:
    """Create an empty temporary sibling of `final`; remove stale ones left by dead processes."""
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(final.name + ".tmp-*"):
        try:
            pid = int(stale.name.rsplit(".tmp-", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(stale, ignore_errors=True)
    tmp = final.parent / f"{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def publish_dir(tmp: Path, final: Path) -> bool:
    """Rename a finished temporary folder to `final`. Returns False (and deletes `tmp`) when
    another process published `final` first."""
    try:
        os.rename(tmp, final)
    except OSError:
        if final.exists():
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        raise
    return True
