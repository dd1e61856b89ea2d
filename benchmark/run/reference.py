"""The committed reference run: where it lives, how long its runs took, and whether a user's cells
agree with it.

``reports/reference/`` holds the result files and reports of one full ``cpu`` run made by the
maintainers (``quads-bench run --as-reference``). A user's run writes to ``reports/`` and never
into the reference; its report puts each cell beside the reference's and says whether the two
agree within the reference's noise (``agreement``). Before training, the runner estimates the time
a run will take here from the reference's per-run wall times, scaled by ``calibrate()`` measured
on both machines (``reports/reference/calibration.json``).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmark.report.claims import margin

REFERENCE_DIR = (
    Path(__file__).resolve().parents[2] / "reports" / "reference"
)  # <repo>/reports/reference
CALIBRATION_FILE = "calibration.json"
# deterministic metrics agree within this relative difference (fvcore counts, file sizes)
EFFICIENCY_TOLERANCE = 0.005
# compared with the noise margin of benchmark.report.claims (bootstrap interval and seed spread)
TASK_METRICS = ("accuracy", "f1")
EFFICIENCY_METRICS = ("params_m", "size_mb", "size_file_mb", "gmacs")
# energy depends on the machine (codecarbon's TDP estimate): shown, never judged


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_out_dir(out_dir: Path, as_reference: bool, reference_dir: Path = REFERENCE_DIR) -> None:
    """A user's run must not write into the reference; ``--as-reference`` must write only there."""
    inside = is_inside(out_dir, reference_dir)
    if inside and not as_reference:
        raise ValueError(
            f"{out_dir} is the committed reference ({reference_dir}); a run writes to reports/ "
            "(the default) or another --out folder. Maintainers regenerate the reference with "
            "--as-reference."
        )
    if as_reference and not inside:
        raise ValueError(f"--as-reference writes into {reference_dir}, not into {out_dir}")


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


# --- agreement ---------------------------------------------------------------------------------

AGREES, DIFFERS, NOT_COMPARED = "agrees", "differs", "not compared"


def agreement(ours, ref) -> str:
    """Does our cell agree with the reference's? Accuracy / F1: the difference lies within the
    noise margin of the two cells (``benchmark.report.claims.margin``: bootstrap intervals and seed
    spread); efficiency: within 0.5 %; energy and unmeasured cells are not compared."""
    if ours is None or ref is None or ours.measured is None or ref.measured is None:
        return NOT_COMPARED
    if ours.metric in TASK_METRICS:
        return AGREES if abs(ours.measured - ref.measured) <= margin(ours, ref) else DIFFERS
    if ours.metric in EFFICIENCY_METRICS:
        scale = max(abs(ref.measured), 1e-12)
        ok = abs(ours.measured - ref.measured) / scale <= EFFICIENCY_TOLERANCE
        return AGREES if ok else DIFFERS
    return NOT_COMPARED


def setup_differences(ours: Sequence, reference: Sequence) -> list[str]:
    """What differs between the two runs' setups: hardware, training precision, versions."""

    def summary(results: Sequence) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {"hardware": set(), "precision": set(), "versions": set()}
        for r in results:
            hw = r.provenance.get("hardware", {})
            out["hardware"].add(
                f"{hw.get('cpu')} ({hw.get('cpu_count')} cores, GPU: {hw.get('gpu')})"
            )
            out["precision"].add(str(r.config.get("profile", {}).get("precision")))
            for name, version in sorted(r.provenance.get("versions", {}).items()):
                out["versions"].add(f"{name} {version}")
        return out

    a, b = summary(ours), summary(reference)
    lines = []
    for key in ("hardware", "precision"):
        if a[key] != b[key]:
            lines.append(
                f"{key}: ours {', '.join(sorted(a[key]))}; reference {', '.join(sorted(b[key]))}"
            )
    only_a, only_b = sorted(a["versions"] - b["versions"]), sorted(b["versions"] - a["versions"])
    if only_a or only_b:
        lines.append(f"versions: ours {', '.join(only_a)}; reference {', '.join(only_b)}")
    return lines or ["none: same hardware, precision and versions"]


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
