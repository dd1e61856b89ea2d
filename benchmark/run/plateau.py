"""Choose a training budget from data: the epoch at which the float student stops improving.

`quads-bench plateau --profile converged --datasets FSC SLURP` trains the pretrained float QUADS
student by distillation (the profile's distillation optimizer, one phase), seed 0, until its
plateau on the VALIDATION split is found (test data is never read) or ``cap`` epochs pass::

    best(e)   = max(valid accuracy of epochs 1..e)
    plateau   = the first epoch e after which ``patience`` more epochs never beat best(e) by more
                than the validation noise (``results.noise.noise_points``: the binomial standard
                error on n_valid utterances, at least 1 point)

It writes ``plateau-<profile>.md`` / ``.json`` (curves, plateau epochs, provenance). The budget of
a profile is then written into ``benchmark/profiles.py`` by hand, citing that report: the
distillation epochs are the plateau rounded up to a multiple of the MCT iterations (so every
strategy distills the same epochs; see ``quads.mct.Budget``). A corpus without a plateau within
``cap`` epochs says so.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

from benchmark.profiles import Profile
from benchmark.results.noise import noise_points
from benchmark.results.study import write_study
from benchmark.rows import Experiment
from benchmark.run.provenance import provenance
from benchmark.run.recipe import fit, initial_model
from benchmark.run.workspace import Workspace
from quads.mct import distillation_only

CAP = 40  # epochs at most (issue 23: "a cap of about 40")
PATIENCE = 5  # epochs without a gain beyond the noise


def plateau_epoch(
    accuracies: Sequence[float], n_valid: int, patience: int = PATIENCE
) -> int | None:
    """The first epoch (1-based) after which ``patience`` epochs never beat the best so far by
    more than the noise; None when the curve is still improving within its epochs."""
    for e in range(1, len(accuracies) - patience + 1):
        best = max(accuracies[:e])
        later = max(accuracies[e : e + patience])
        if later - best <= noise_points(best, n_valid):
            return e
    return None


def distill_epochs_for(plateau: int, iterations: int) -> int:
    """The plateau rounded up to a multiple of ``iterations`` (``quads.mct.Budget`` splits the
    distillation epochs evenly over the MCT iterations)."""
    return iterations * math.ceil(plateau / iterations)


def find_plateaus(
    profile: Profile,
    datasets: Sequence[str],
    ws: Workspace,
    out_dir: Path,
    seed: int = 0,
    cap: int = CAP,
    patience: int = PATIENCE,
) -> tuple[Path, Path]:
    if cap < patience + 1:
        raise ValueError(f"--cap {cap} leaves no room for --patience {patience}")
    schedule = distillation_only(cap, 0, profile.budget.distill_optim)
    rows: dict[str, dict[str, object]] = {}
    for ds in datasets:
        start = time.perf_counter()
        exp = Experiment("plateau", "QUADS", ds, "whisper-tiny", 32, "pretrained", "Distillation")
        model, _ = initial_model(exp, profile, seed, len(ws.corpus(ds).intents))
        n_valid = len(ws.features(ds, "valid").labels)

        def reached(history: list[dict], n_valid: int = n_valid) -> bool:
            curve = [float(h["valid_accuracy"]) for h in history]
            return plateau_epoch(curve, n_valid, patience) is not None

        out, _ = fit(
            exp,
            profile,
            seed,
            ws,
            model,
            prefix_cache=None,
            desc=f"plateau {ds}",
            schedule=schedule,
            stop_when=reached,
        )
        curve = [float(h["valid_accuracy"]) for h in out.history]
        found = plateau_epoch(curve, n_valid, patience)
        rows[ds] = {
            "curve": curve,
            "n_valid": n_valid,
            "plateau": found,
            "distill_epochs": (
                distill_epochs_for(found, profile.budget.mct_iterations) if found else None
            ),
            "best": max(curve),
            "best_epoch": curve.index(max(curve)) + 1,
            "seconds": round(time.perf_counter() - start, 1),
        }
    payload = {
        "profile": profile.name,
        "seed": seed,
        "split": "valid",
        "cap": cap,
        "patience": patience,
        "optimizer": dataclasses.asdict(profile.budget.distill_optim),
        "mct_iterations": profile.budget.mct_iterations,
        "datasets": rows,
        "provenance": provenance(),
    }
    return write_study(out_dir, f"plateau-{profile.name}", payload, plateau_lines(payload))


def plateau_lines(payload: dict) -> list[str]:
    lines = [
        f"# Budget from data: where the float student plateaus (profile `{payload['profile']}`)",
        "",
        "The pretrained float QUADS student trained by distillation until its plateau, at most "
        f"{payload['cap']} epochs (seed {payload['seed']}, validation split only). Plateau: the first epoch after which "
        f"{payload['patience']} more epochs never beat the best so far by more than the "
        "validation noise (binomial standard error, at least 1 point). Distillation epochs: the "
        f"plateau rounded up to a multiple of the {payload['mct_iterations']} MCT iterations.",
        "",
        "| dataset | plateau epoch | distillation epochs | best valid acc (epoch) | n_valid | min |",
        "|---|---|---|---|---|---|",
    ]
    for ds, r in payload["datasets"].items():
        plateau = r["plateau"] if r["plateau"] else f"none within {payload['cap']}"
        lines.append(
            f"| {ds} | {plateau} | {r['distill_epochs'] or '–'} | {r['best']:.2f} "
            f"({r['best_epoch']}) | {r['n_valid']} | {r['seconds'] / 60:.1f} |"
        )
    lines += ["", "Validation accuracy per epoch:", ""]
    for ds, r in payload["datasets"].items():
        lines.append(f"- {ds}: " + ", ".join(f"{a:.1f}" for a in r["curve"]))
    lines += ["", f"Made by: {json.dumps(payload['provenance'], sort_keys=True)}"]
    return lines
