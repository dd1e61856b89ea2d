"""Why the authors' recipe collapses here: its classification head under fixed labels.

`quads-bench authors-check --profile converged --datasets FSC --bits 8` takes the authors' recipe
(``quads.cluster_mean``) of one Table 1 row after its first distillation phase (from the prefix
cache the run filled, or trained here into it) and measures, on the VALIDATION split only:

1. drift: per covered tensor, |W - C[L]| / |W|, how far the float phase moved the weights away from
   what the fixed labels can represent (the head's labels come from its random initialisation);
2. one projection W <- C[L] (cluster means, fixed labels), before any quantization step: validation
   accuracy of the float model, of everything projected (the authors' code), of the encoder
   projected with the head left float, and of the head alone projected;
3. the first quantization phase (the authors' SGD, a fresh optimizer and cosine per epoch, the
   projection after every step) for ``epochs`` epochs twice: the authors' way (head covered) and
   with the head left float; ``long_epochs`` > ``epochs`` continues the authors' way further,
   e.g. to the number of SGD steps the authors' first quantization phase makes on the real FSC
   (3 epochs x ceil(23,132 / 32) = 2,169 steps; Lugosch et al. 2019 train split, batch 32 in
   github BASHLab/QUADS train.py).

It writes ``authors-check-<profile>-<bits>bit.md`` / ``.json`` (a check of another dataset adds to
them). Test data is never read.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from benchmark.profiles import Profile
from benchmark.rows import AUTHORS_STRATEGY, Experiment, table1_experiments
from benchmark.run.data_choice import DataChoice
from benchmark.run.provenance import provenance
from benchmark.run.recipe import fit, initial_model, prefix_dir, prefix_entry, schedule_for
from benchmark.run.workspace import Workspace
from quads.cluster_mean import ClusterMeanQuantizer, snap
from quads.engine import accuracy_percent
from quads.mct import AUTHORS_COSINE_T_MAX, Schedule
from quads.quantize import QuantConfig
from quads.train import (
    TensorData,
    cross_entropy_loss,
    load_checkpoint,
    make_optimizer,
    train_epoch,
)

# the classification head's weight (baselines.whisper: ``self.head``), as exclude / include patterns
HEAD, HEAD_WEIGHT = r"^head\.", r"head\.weight"
# the authors' first quantization phase on the real FSC: 3 epochs of ceil(23,132 / 32) steps
AUTHORS_FIRST_QUANT_STEPS = 3 * math.ceil(23_132 / 32)
# the projections measured, in the report's column order
PROJECTIONS = (
    "float (no projection)",
    "all covered weights (the authors' code)",
    "encoder only, head float",
    "head only",
)


def _accuracy(model: nn.Module, data: TensorData, ws: Workspace) -> float:
    return accuracy_percent(model, data, ws.device, ws.precision)


COVERS = ("all", "encoder", "head")  # which covered weights a projection reaches


def _quantizer(model: nn.Module, bits: int, state: dict, cover: str) -> ClusterMeanQuantizer:
    """A ClusterMeanQuantizer over ``model`` with the run's fixed labels and centroids, covering
    every weight the run covers ("all", the authors' code), all but the head ("encoder": the
    head left float) or the head alone ("head")."""
    if cover not in COVERS:
        raise ValueError(f"cover={cover!r}; one of {COVERS}")
    base = QuantConfig(bits=bits)
    config = {
        "all": base,
        "encoder": dataclasses.replace(base, exclude=base.exclude + (HEAD,)),
        "head": dataclasses.replace(base, include=(HEAD_WEIGHT,)),
    }[cover]
    q = ClusterMeanQuantizer(model, config)
    keep = set(q.names)
    q.load_state_dict(
        {
            "bits": state["bits"],
            "labels": {n: t for n, t in state["labels"].items() if n in keep},
            "centroids": {n: t for n, t in state["centroids"].items() if n in keep},
        }
    )
    return q


def drift(model: nn.Module, bits: int, state: dict) -> dict[str, float]:
    """{tensor name: |W - C[L]| / |W|} with C the cluster means of the current weights W."""
    q = _quantizer(model, bits, state, "all")
    out = {}
    with torch.no_grad():
        for name, labels in q.labels.items():
            w = q._weight(name)
            _, snapped = snap(w, labels, q.centroids[name])
            out[name] = float((w - snapped).norm() / w.norm())
    return out


def authors_row(
    profile: Profile, choice: DataChoice, dataset: str, bits: int
) -> tuple[Experiment, Profile, Schedule]:
    """The authors' Table 1 row on ``dataset`` at ``bits``, the profile as that dataset's rows run
    it (its own budget: ``DataChoice.profile_for``) and the row's schedule."""
    exp = next(
        e
        for e in table1_experiments()
        if e.strategy == AUTHORS_STRATEGY and e.dataset == dataset and e.bits == bits
    )
    profile = choice.profile_for(profile, dataset)
    return exp, profile, schedule_for(exp, profile)


def first_phase_state(
    profile: Profile, ws: Workspace, dataset: str, bits: int, seed: int
) -> tuple[nn.Module, dict, Schedule]:
    """The authors' row after its first distillation phase: (model, cluster-mean state, the row's
    schedule). Reuses the run's prefix-cache entry, or trains the phase into it."""
    exp, profile, schedule = authors_row(profile, ws.choice, dataset, bits)
    corpus = ws.corpus(dataset)
    n_classes = len(corpus.intents)
    prefix = prefix_dir(ws, profile)
    model, _ = initial_model(exp, profile, seed, n_classes)
    path = prefix_entry(ws, exp, profile, schedule, 1, seed)
    if not path.exists():  # train the phase; run_schedule stores it in the prefix cache
        first = Schedule(schedule.name, schedule.phases[:1], schedule.bits)
        fit(
            exp, profile, seed, ws, model, prefix_cache=prefix, schedule=first, desc=f"{dataset} D1"
        )
    entry = load_checkpoint(path)
    model.load_state_dict(entry["modules"]["model"])  # the phase's last epoch, as the run goes on
    return model, entry["cluster_mean"], schedule


def quantize_curve(
    model: nn.Module,
    bits: int,
    state: dict,
    schedule: Schedule,
    ws: Workspace,
    dataset: str,
    *,
    head: bool,
    epochs: int,
    every: int,
    seed: int,
    batch_size: int,
) -> list[dict[str, float]]:
    """The first quantization phase of the recipe from ``model`` (a copy), with the projection
    covering the head or not; validation accuracy after epoch 0 (the projection alone) and every
    ``every`` epochs. [{"epoch", "steps", "loss", "valid_accuracy"}]"""
    m = copy.deepcopy(model)
    q = _quantizer(m, bits, state, "all" if head else "encoder")
    q.project()
    train, valid = ws.data(dataset, "train"), ws.data(dataset, "valid")
    steps_per_epoch = math.ceil(len(train) / batch_size)
    phase = schedule.phases[1]
    params = list(m.named_parameters())
    curve = [{"epoch": 0, "steps": 0, "loss": None, "valid_accuracy": _accuracy(m, valid, ws)}]
    for epoch in range(1, epochs + 1):
        optimizer, scheduler = make_optimizer(params, phase.optim, AUTHORS_COSINE_T_MAX)
        loss = train_epoch(
            m,
            train,
            cross_entropy_loss,
            optimizer,
            scheduler,
            batch_size,
            seed,
            schedule.phases[0].epochs + epoch,  # the run's global epoch: the same shuffle
            desc=f"{dataset} Q head {'covered' if head else 'float'} {epoch}/{epochs}",
            device=ws.device,
            precision=ws.precision,
            after_step=q.project,
        )
        if epoch % every == 0 or epoch == epochs:
            curve.append(
                {
                    "epoch": epoch,
                    "steps": epoch * steps_per_epoch,
                    "loss": loss,
                    "valid_accuracy": _accuracy(m, valid, ws),
                }
            )
    return curve


def check_authors(
    profile: Profile,
    datasets: Sequence[str],
    bits: int,
    ws: Workspace,
    out_dir: Path,
    *,
    seed: int = 0,
    epochs: int = 3,
    long_epochs: int = 0,
    every: int = 1,
) -> tuple[Path, Path]:
    rows: dict[str, dict[str, object]] = {}
    for ds in datasets:
        start = time.perf_counter()
        model, state, schedule = first_phase_state(profile, ws, ds, bits, seed)
        valid = ws.data(ds, "valid")
        drifts = drift(model, bits, state)
        projected = {PROJECTIONS[0]: _accuracy(model, valid, ws)}
        for label, cover in zip(PROJECTIONS[1:], ("all", "encoder", "head"), strict=True):
            m = copy.deepcopy(model)
            _quantizer(m, bits, state, cover).project()
            projected[label] = _accuracy(m, valid, ws)
        common = dict(seed=seed, batch_size=profile.batch_size, every=every)
        curves = {
            "head covered (the authors' code)": quantize_curve(
                model,
                bits,
                state,
                schedule,
                ws,
                ds,
                head=True,
                epochs=max(epochs, long_epochs),
                **common,
            ),
            "head float": quantize_curve(
                model, bits, state, schedule, ws, ds, head=False, epochs=epochs, **common
            ),
        }
        encoder = [v for n, v in drifts.items() if not n.startswith("head.")]
        rows[ds] = {
            "drift": drifts,
            "drift_summary": {
                "head": drifts.get("head.weight"),
                "encoder_median": sorted(encoder)[len(encoder) // 2],
                "encoder_max": max(encoder),
            },
            "projection": projected,
            "curves": curves,
            "n_valid": len(valid),
            "n_train": len(ws.data(ds, "train")),
            "first_distill_epochs": schedule.phases[0].epochs,
            "seconds": round(time.perf_counter() - start, 1),
            "provenance": provenance(),  # per dataset: a later check may add another dataset
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    js = check_path(out_dir, profile.name, bits)
    payload = {
        "profile": profile.name,
        "bits": bits,
        "seed": seed,
        "split": "valid",
        "batch_size": profile.batch_size,
        "authors_first_quant_steps": AUTHORS_FIRST_QUANT_STEPS,
        "datasets": _earlier_datasets(js, profile.name, bits, seed) | rows,
    }
    js.write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return render_check(js), js


def check_path(out_dir: Path, profile: str, bits: int) -> Path:
    """The check's data file (its Markdown report sits beside it, ``.md``)."""
    return out_dir / f"authors-check-{profile}-{bits}bit.json"


def render_check(js: Path) -> Path:
    """Write the Markdown report of the check in ``js`` beside it, from that file alone."""
    if not js.exists():
        raise FileNotFoundError(f"{js}: no authors-check data here; run the check first")
    md = js.with_suffix(".md")
    md.write_text("\n".join(authors_check_lines(json.loads(js.read_text()))) + "\n")
    return md


def _earlier_datasets(path: Path, profile: str, bits: int, seed: int) -> dict[str, object]:
    """The other datasets of an earlier check of the same profile, bit width and seed in ``path``
    (a check of one dataset adds to it, replacing only that dataset); {} when there is none."""
    if not path.exists():
        return {}
    try:
        earlier = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not JSON ({err}); move it away and run the check again") from err
    if (earlier.get("profile"), earlier.get("bits"), earlier.get("seed")) != (profile, bits, seed):
        return {}
    return dict(earlier.get("datasets", {}))


def authors_check_lines(payload: dict) -> list[str]:
    p = payload
    lines = [
        f"# The authors' recipe: what collapses it here (profile `{p['profile']}`, {p['bits']} bit)",
        "",
        "The authors' recipe (one k-means on the pretrained student, labels never recomputed, "
        "cluster means after every quantization step; `quads.cluster_mean`) after its first "
        f"distillation phase, seed {p['seed']}, validation split only. Made by "
        f"`quads-bench authors-check --profile {p['profile']} --bits {p['bits']} --datasets ...`.",
        "",
        "## Drift: how far the float phase moved the weights from what the fixed labels represent",
        "",
        "| dataset | head | encoder (median tensor) | encoder (max) |",
        "|---|---|---|---|",
    ]
    for ds, r in p["datasets"].items():
        s = r["drift_summary"]
        lines.append(
            f"| {ds} | {s['head']:.3f} | {s['encoder_median']:.4f} | {s['encoder_max']:.4f} |"
        )
    lines += [
        "",
        "|W - C[L]| / |W| with C the cluster means of the current weights W. The head's labels "
        "come from its random initialisation, so its trained weights share clusters at random.",
        "",
        "## One projection W <- C[L], before any quantization step (validation accuracy, %)",
        "",
    ]
    labels = PROJECTIONS
    lines += ["| dataset | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for ds, r in p["datasets"].items():
        lines.append(f"| {ds} | " + " | ".join(f"{r['projection'][k]:.1f}" for k in labels) + " |")
    lines += [
        "",
        "## The first quantization phase (the authors' SGD and cosine, projection after every step)",
        "",
        f"Validation accuracy (%) by SGD steps (batch {p['batch_size']}); epoch 0 is the projection "
        f"alone. The authors' first quantization phase on the real FSC makes "
        f"{p['authors_first_quant_steps']:,} steps (3 epochs x ceil(23,132 / 32)).",
        "",
    ]
    for ds, r in p["datasets"].items():
        lines.append(f"- {ds} ({r['n_train']} training utterances):")
        for label, curve in r["curves"].items():
            points = ", ".join(f"{c['steps']}: {c['valid_accuracy']:.1f}" for c in curve)
            lines.append(f"  - {label}: {points}")
    lines += [""]
    for ds, r in p["datasets"].items():
        lines.append(f"{ds} made by: {json.dumps(r['provenance'], sort_keys=True)}")
    return lines
