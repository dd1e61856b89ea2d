"""Cached artifacts that are checked before they are used, and rebuilt when damaged.

A cache folder records the size and sha256 of each of its files when it is built
(``record_files``, stored in its own metadata: a synthetic corpus' ``integrity.json``, a feature
cache's ``meta.json``) and checks them on load (``files_problem``). Single ``torch.save`` files
(teacher and prosodic features) are checked by their zip CRCs (``quads.checkfile``), exported
models by their safetensors layout (``exported_model_problem``). Whatever fails is reported in
one line naming the file (``cache_message``) and rebuilt, never used.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import struct
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path

import torch
from tqdm import tqdm

from benchmark.data.cache import atomic_write
from quads.checkfile import torch_file_problem


def cache_message(message: str) -> None:
    """One line on stderr (through tqdm, so progress bars stay intact)."""
    tqdm.write(f"quads-bench: {message}", file=sys.stderr)


def file_digest(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def record_files(folder: Path, names: Iterable[str]) -> dict[str, dict[str, object]]:
    """``{relative name: {"size": bytes, "sha256": hex}}`` of files under ``folder``."""
    return {
        n: {"size": (folder / n).stat().st_size, "sha256": file_digest(folder / n)}
        for n in sorted(names)
    }


def files_problem(
    folder: Path, recorded: dict[str, dict[str, object]], hashes: bool = True
) -> str | None:
    """The first file under ``folder`` that is missing or differs from its record (size, and
    sha256 when ``hashes``), as a message naming it; None when all match."""
    for name, want in recorded.items():
        path = folder / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{path} is missing"
        if size != want["size"]:
            return f"{path} has {size} bytes, {want['size']} when it was written (truncated?)"
        if hashes and file_digest(path) != want["sha256"]:
            return f"{path} does not match its recorded sha256 (overwritten on disk)"
    return None


def discard_dir(folder: Path) -> None:
    """Remove a damaged cache folder (renamed away first, so no reader sees it half-deleted)."""
    trash = folder.with_name(f"{folder.name}.damaged-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def load_torch_cache(path: Path, what: str) -> object | None:
    """``torch.load(path)`` when the file exists and is intact; None when it is missing, and
    also when it is damaged, then reported, deleted and left to the caller to recompute."""
    if not path.exists():
        return None
    problem = torch_file_problem(path)
    if problem is None:
        try:
            return torch.load(path, map_location="cpu")  # made on any device
        except (RuntimeError, EOFError, ValueError, OSError) as err:
            problem = f"unloadable ({err})"
    cache_message(f"{what} {path} is damaged: {problem}; recomputing it")
    path.unlink(missing_ok=True)
    return None


def save_torch_cache(path: Path, obj: object, what: str) -> None:
    """``torch.save`` through ``atomic_write``; a failure (a full disk: torch raises a
    RuntimeError) becomes one ``OSError`` naming the file and the fix."""
    try:
        with atomic_write(path) as tmp:
            torch.save(obj, tmp)
    except (OSError, RuntimeError) as err:
        code = getattr(err, "errno", None) or errno.EIO
        raise OSError(
            code,
            f"cannot write {what} {path} ({str(err).splitlines()[0]}); free disk space or point "
            "QUADS_CACHE_DIR / --cache-dir at another disk",
        ) from err


def exported_model_problem(path: Path) -> str | None:
    """What is wrong with an exported (safetensors) model file: missing, truncated, or a header
    that does not describe the file; None when its layout is whole. Reads the header only."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > size - 8:
                return f"{path} is truncated (its header alone needs {n} bytes)"
            header = json.loads(f.read(n))
    except FileNotFoundError:
        return f"{path} is missing"
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"{path} has no readable safetensors header ({err})"
    ends = [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"]
    if 8 + n + max(ends, default=0) != size:
        return f"{path} has {size} bytes, its header describes {8 + n + max(ends, default=0)}"
    return None
