"""The repository's one atomic file write: write a temporary file beside the target, rename it
over the target when complete. A process killed at any point leaves the old file (or none) or
the complete new one, never half a file. Standard library only, so that every layer can use it
(``quads/`` imports nothing of the harness; ``benchmark.data.cache`` re-exports it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path` (`<name>.<pid>-<random>.tmp`) to write to; when the
    block ends without error it is renamed over `path`, otherwise deleted.

    `fsync`: flush the temporary file to disk before the rename (result files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
