"""Checks of `quads-bench run` arguments made before anything runs: a bad one is one line naming
the option and the fix (``ValueError``; the CLI exits 2), not a traceback minutes later."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from benchmark.paper import DATASETS

# seeds go to torch.manual_seed, numpy's Generator and file names; numpy's legacy seeding and
# torch's generator both take 32-bit values, so larger ones are refused rather than wrapped
MAX_SEED = 2**32 - 1


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """``seeds`` unchanged when each is in 0..MAX_SEED and none is repeated."""
    for s in seeds:
        if not 0 <= s <= MAX_SEED:
            raise ValueError(f"--seeds {s}: a seed must be an integer from 0 to {MAX_SEED}")
    repeated = sorted({s for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise ValueError(
            f"--seeds lists {', '.join(map(str, repeated))} more than once: a seed runs once "
            "(use --force to recompute a result)"
        )
    return tuple(seeds)


def check_datasets(datasets: Sequence[str]) -> tuple[str, ...]:
    """``datasets`` unchanged when each is one of the paper's (``benchmark.paper.DATASETS``)."""
    for d in datasets:
        if d not in DATASETS:
            raise ValueError(f"unknown dataset {d!r} (--datasets); known: {', '.join(DATASETS)}")
    return tuple(datasets)


def check_device(name: str) -> str:
    """``name`` unchanged when it is "auto" or a device present on this machine."""
    if name == "auto":
        return name
    hint = "use auto, cpu, cuda, cuda:N or mps"
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {name!r} is not a device name; {hint}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {name!r}: this machine has no CUDA GPU; use cpu or auto")
        if device.index is not None and device.index >= count:
            raise ValueError(f"--device {name!r}: this machine has {count} CUDA GPU(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name!r}: MPS is not available here; use cpu or auto")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name!r} is not supported by the harness; {hint}")
    return name


def check_cache_dir(text: str | None) -> Path | None:
    """``--cache-dir`` as a folder (None: not given; the cache root ``cache_root`` is used, which
    refuses an empty $QUADS_CACHE_DIR). An empty value would be the current folder."""
    from benchmark.data.cache import CACHE_ENV, cache_root

    if text is None:
        cache_root()  # an empty $QUADS_CACHE_DIR fails here, before anything runs
        return None
    if not text.strip():
        raise ValueError(
            f"--cache-dir is empty: give a folder, or leave it out to use ${CACHE_ENV} "
            "(else ~/.cache/quads-repro)"
        )
    return Path(text)


def check_ray(executor: str, address: str | None, cpus: float | None, gpus: float | None) -> None:
    """The ``--ray-*`` options: CPUs per run > 0, GPUs per run >= 0, a non-empty address, and
    none of them without ``--executor ray`` (the local executor would ignore them)."""
    if cpus is not None and not (math.isfinite(cpus) and cpus > 0):
        raise ValueError(f"--ray-cpus {cpus:g}: CPUs per run must be a number above 0")
    if gpus is not None and not (math.isfinite(gpus) and gpus >= 0):
        raise ValueError(f"--ray-gpus {gpus:g}: GPUs per run must be a number from 0 up")
    if address is not None and not address.strip():
        raise ValueError("--ray-address is empty: give a cluster address, or leave it out")
    flags = (("--ray-address", address), ("--ray-cpus", cpus), ("--ray-gpus", gpus))
    given = [flag for flag, value in flags if value is not None]
    if given and executor != "ray":
        raise ValueError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only to --executor "
            f"ray (this run uses the {executor} executor): add --executor ray or drop "
            f"{'it' if len(given) == 1 else 'them'}"
        )
