"""Time estimates from the committed reference run: how long its runs took, scaled to this machine.

Before training, the runner estimates the time a run will take here from the reference's per-run
wall times (its result files, ``benchmark.results.reference.REFERENCE_DIR``), scaled by
``calibrate()`` measured on both machines (``reports/reference/calibration.json``).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.results.reference import REFERENCE_DIR

CALIBRATION_FILE = "calibration.json"


# --- time estimate ---------------------------------------------------------------------------


def calibrate(repeats: int = 5) -> float:
    """Median seconds of one fixed training step (a random tiny Whisper student, batch 8, 3 s,
    fp32) on this machine: the yardstick that scales the reference's wall times."""
    import torch

    from baselines.whisper import WhisperClassifier

    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = WhisperClassifier("tiny", 31, 300)
    mel = torch.randn(8, 80, 300, generator=gen)  # (B, 80 mel, 300 frames = 3 s)
    labels = torch.arange(8) % 31
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(mel), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms up the kernels
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def read_calibration(reference_dir: Path = REFERENCE_DIR) -> dict[str, object] | None:
    path = reference_dir / CALIBRATION_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        float(data["step_seconds"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"unreadable reference calibration {path}: {err}") from err
    return data


@dataclass(frozen=True)
class Estimate:
    seconds: float  # on this machine
    per_run: tuple[float, ...]  # seconds per run to do, in order
    scale: float  # this machine's calibration / the reference's
    known: int  # runs with a reference wall time of their own (the rest: the median)


def estimate(todo: Sequence[tuple], reference: Sequence, scale: float) -> Estimate:
    """Seconds the runs ``todo`` ((experiment, seed, ...) tuples) will take here: each run's wall
    time in the reference (same row and seed, else the row's mean over seeds, else the median
    of all runs), times ``scale``."""
    by_run = {(r.experiment, r.seed): r.wall_seconds for r in reference}
    by_exp: dict[object, list[float]] = {}
    for r in reference:
        by_exp.setdefault(r.experiment, []).append(r.wall_seconds)
    fallback = statistics.median(by_run.values()) if by_run else 60.0
    per_run, known = [], 0
    for exp, seed, *_ in todo:
        if (exp, seed) in by_run:
            seconds, known = by_run[(exp, seed)], known + 1
        elif exp in by_exp:
            seconds, known = statistics.fmean(by_exp[exp]), known + 1
        else:
            seconds = fallback
        per_run.append(seconds * scale)
    return Estimate(sum(per_run), tuple(per_run), scale, known)


def write_calibration(
    step_seconds: float, table: str, setup_seconds: float, reference_dir: Path = REFERENCE_DIR
) -> Path:
    """Record the reference machine's yardstick (``calibrate``) and, per table, the seconds its
    run spent outside result files (corpus generation, feature caches)."""
    from benchmark.run.provenance import provenance

    path = reference_dir / CALIBRATION_FILE
    data = read_calibration(reference_dir) or {}
    setup = dict(data.get("setup_seconds") or {})
    setup[table] = round(setup_seconds, 1)
    data = {
        "step_seconds": round(step_seconds, 4),
        "setup_seconds": setup,
        "hardware": provenance()["hardware"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return path
