"""Checks of `quads-bench run` arguments made before anything runs: a bad one is one line naming
the option and the fix (``ValueError``; the CLI exits 2), not a traceback minutes later."""

from __future__ import annotations

from collections.abc import Sequence

import torch

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
