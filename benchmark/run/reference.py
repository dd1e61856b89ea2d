"""Time estimates from the committed reference run: how long its runs took, scaled to this machine.

Before training, ``--dry-run`` and the run itself print one estimate (``plan_estimate``) of the
time the runs will take here: the reference's per-run wall times (its result files, the run's
profile's reference, else the ``cpu`` one), scaled to the run's input length, training utterances
and epochs, and by ``calibrate()`` measured on both machines (``calibration.json``).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from benchmark.results.identity import precisions
from benchmark.results.reference import REFERENCE_DIR

CALIBRATION_FILE = "calibration.json"

# How much longer training takes in fp32 than in bf16 autocast on a CPU with native bf16, which
# the fp32 calibration step cannot see. Measured on the reference's machine type (2-core AMD EPYC,
# AVX512-BF16): QUADS 4 bit FSC seed 0 of the cpu profile trained in 188 s in fp32 against 51 s
# in bf16 (3.69x, docs/reference-runs.md "Across machines and precisions"); per utterance, a
# tiny-student step took 0.54 s for 8 in fp32 (calibration.json) and 0.29 s for 16 in bf16
# (DESIGN.md "Speed facts"): 3.7x.
FP32_OVER_BF16 = 3.7


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
    seconds: float  # on this machine (the reference machine's when scale is None)
    per_run: tuple[float, ...]  # seconds per run to do, in order
    scale: float | None  # this machine's calibration / the reference's; None: not calibrated
    known: int  # runs with a reference wall time of their own row (the rest: the median)
    basis: str = ""  # the profile whose reference the wall times come from
    rough: bool = False  # scaled across profiles or corpora (frames, utterances, epochs)
    setup_seconds: float = 0.0  # the reference's corpus generation and feature caching, scaled
    # (1-min load average, cores) when the speed was measured on a busy CPU, else None
    busy: tuple[float, int] | None = None
    # (the reference's training precision, this run's) where they differ (the per-run times
    # are then scaled by ``precision_factor``), else None
    precisions: tuple[str, str] | None = None
    precision_factor: float = 1.0


def run_epochs(exp, profile) -> int:
    """Training epochs of ``exp`` under ``profile`` (its schedule's phases; 0: not trained)."""
    from benchmark.run.recipe import schedule_for

    if profile.untrained_reason(exp):
        return 0
    return sum(p.epochs for p in schedule_for(exp, profile).phases)


def _stored_epochs(result) -> int:
    return sum(int(p.get("epochs", 0)) for p in result.training.get("phases") or ())


def _stored_train(result) -> int | None:
    """Training utterances a reference run read (its result file's ``data.features``)."""
    split = ((result.data or {}).get("features") or {}).get("train") or {}
    n = split.get("utterances")
    return int(n) if n else None


def estimate(
    todo: Sequence[tuple],
    reference: Sequence,
    scale: float | None,
    profile=None,
    train: dict[str, int | None] | None = None,
) -> Estimate:
    """Seconds the runs ``todo`` ((experiment, seed, ...) tuples) will take here: each run's wall
    time in the reference (same row and seed, else the row's mean over seeds, else the median
    of all runs), times ``scale`` (1 when None). With ``profile``, each is also scaled to this
    run: input length (``profile.n_frames`` / the reference's), training utterances (``train``,
    dataset -> count, / the reference run's ``data.features.train``) and epochs (the row's
    schedule under ``profile``'s budget for its dataset / the reference run's stored
    ``training.phases``); utterances and epochs only where both train the row (an untrained
    row's wall time is its efficiency measurement); every factor is 1 where the two agree or
    one side is unknown."""
    by_run = {(r.experiment, r.seed): r for r in reference}
    by_exp: dict[object, list] = {}
    ref_train: dict[str, int] = {}
    for r in reference:
        by_exp.setdefault(r.experiment, []).append(r)
        n = _stored_train(r)
        if n:
            ref_train.setdefault(r.experiment.dataset, n)
    fallback = statistics.median(r.wall_seconds for r in reference) if reference else 60.0
    per_run, known, scaled = [], 0, False
    for exp, seed, *_ in todo:
        row = [by_run[exp, seed]] if (exp, seed) in by_run else by_exp.get(exp, [])
        seconds = statistics.fmean(r.wall_seconds for r in row) if row else fallback
        known += bool(row)
        if profile is not None and reference:
            model = row[0] if row else reference[0]
            frames = (model.config.get("profile") or {}).get("n_frames")
            factor = profile.n_frames / float(frames) if frames else 1.0
            ours, theirs = (train or {}).get(exp.dataset), ref_train.get(exp.dataset)
            ours_epochs = run_epochs(exp, profile.for_dataset(exp.dataset))
            theirs_epochs = _stored_epochs(row[0]) if row else 0
            # a row one side does not train (its wall time is the efficiency measurement): as is
            if ours_epochs and theirs_epochs:
                factor *= ours_epochs / theirs_epochs
                if ours and theirs:
                    factor *= ours / theirs
            seconds *= factor
            scaled = scaled or factor != 1.0
        per_run.append(seconds * (scale or 1.0))
    return Estimate(sum(per_run), tuple(per_run), scale, known, rough=scaled)


def plan_estimate(
    table: str,
    todo: Sequence[tuple],
    profile,
    train: dict[str, int | None],
    reference_dir: Path = REFERENCE_DIR,
    measure=None,
    load: Callable[[], tuple[float, int]] | None = None,
    precision: str | None = None,
) -> Estimate | None:
    """The one time estimate of ``--dry-run`` and of the run (``runner.run_table``): from the
    reference of ``profile`` in ``reference_dir`` when it has runs of ``table``, else from the
    ``cpu`` reference (``reference_dir_for("cpu")``), scaled to this run (``estimate``) and to
    this machine (``measure``, default ``calibrate``, / the reference's calibration, where it has
    one; ``load``, default ``os.getloadavg``, says whether other work shared the CPU meanwhile)
    and to this run's training ``precision`` ("fp32" | "bf16", resolved) where the reference
    trained in the other one (``FP32_OVER_BF16``; the calibration step is fp32 on both machines).
    ``train``: dataset -> training utterances of this run (None: unknown). None when no
    reference has runs of ``table``."""
    from benchmark.results.files import scan_results
    from benchmark.results.reference import reference_dir_for

    if not todo:
        return None
    basis, folder = profile.name, reference_dir
    reference = scan_results(folder / "results", basis, table).results
    if not reference and profile.name != "cpu":
        basis, folder = "cpu", reference_dir_for("cpu")
        reference = scan_results(folder / "results", basis, table).results
    if not reference:
        return None
    calibration = read_calibration(folder)
    scale = busy = None
    if calibration:
        scale = (measure or calibrate)() / float(calibration["step_seconds"])
        busy = busy_cpu(load or _load_average)
    est = estimate(todo, reference, scale, profile, train)
    setup = float(((calibration or {}).get("setup_seconds") or {}).get(table, 0.0))
    setup *= scale or 1.0
    est = replace(
        est, basis=basis, rough=est.rough or basis != profile.name, setup_seconds=setup, busy=busy
    )
    trained = [run_epochs(exp, profile.for_dataset(exp.dataset)) > 0 for exp, *_ in todo]
    return scaled_to_precision(est, trained, precisions(reference), precision)


def scaled_to_precision(
    est: Estimate, trained: Sequence[bool], reference: Sequence[str], here: str | None
) -> Estimate:
    """``est`` with the times of its trained runs (``trained``, per run) scaled from the
    reference's training precision (its result files': one of "fp32" / "bf16") to this run's
    (``here``); as it is where either is unknown, mixed or the same. Efficiency-only rows and
    corpus generation are not training. A trained run's measurements (GMACs, energy) are scaled
    with its training, so the factor overstates runs whose measurements take much of their time
    (the smoke profile's)."""
    if here is None or len(reference) != 1 or reference[0] == here:
        return est
    pair = (reference[0], here)
    factor = {("bf16", "fp32"): FP32_OVER_BF16, ("fp32", "bf16"): 1 / FP32_OVER_BF16}.get(pair)
    if factor is None:
        return est
    per_run = tuple(t * factor if on else t for t, on in zip(est.per_run, trained, strict=True))
    return replace(
        est, seconds=sum(per_run), per_run=per_run, precisions=pair, precision_factor=factor
    )


BUSY_SHARE = 0.5  # a 1-min load average above this share of the cores: the speed probe shared them


def _load_average() -> tuple[float, int]:
    return os.getloadavg()[0], os.cpu_count() or 1


def busy_cpu(load: Callable[[], tuple[float, int]]) -> tuple[float, int] | None:
    """(load average, cores) when other work kept the CPU busy while the speed was measured:
    the estimate then assumes the machine stays that busy. None on an idle machine, or where
    the load average is unknown (not Unix)."""
    try:
        avg, cores = load()
    except (OSError, AttributeError):
        return None
    return (avg, cores) if avg > BUSY_SHARE * cores else None


def estimate_line(est: Estimate | None) -> str:
    """One line for the plan of ``--dry-run`` and of the run: the time and its basis."""
    if est is None:
        return "time estimate: none (no committed reference has runs of this table)"
    how = [f"the {est.basis} reference's per-run wall times"]
    if est.rough:
        how = [
            f"scaled from the {est.basis} reference: rough; its per-run wall times x input length,"
            " training utterances and epochs"
        ]
    if est.scale is None:
        how.append("not scaled to this machine: the reference has no calibration")
    else:
        how.append(f"x {est.scale:.2f}, this machine's speed relative to the reference machine's")
        if est.busy is not None:
            how.append(
                f"measured while other work kept the CPU busy (load average {est.busy[0]:.1f} on "
                f"{est.busy[1]} cores), so it assumes the machine stays that busy"
            )
    if est.precisions is not None:
        ref, here = est.precisions
        how.append(
            f"trained runs x {est.precision_factor:.2f}: the reference trained in {ref}, this run "
            f"trains in {here}"
            + (" (this CPU has no native bf16)" if here == "fp32" else "")
            + f"; fp32 training took {FP32_OVER_BF16}x as long as bf16 on the reference's machine"
        )
    setup = ""
    if est.setup_seconds:
        setup = (
            f", plus up to {est.setup_seconds / 60:.0f} min of corpus generation and feature "
            "caching on a first run"
        )
    return f"time estimate: about {est.seconds / 60:.0f} min here ({'; '.join(how)}){setup}"


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
