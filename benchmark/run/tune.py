"""Learning-rate selection for a profile's QUADS phases, on the VALIDATION split only.

`quads-bench tune --profile cpu` trains the pretrained Whisper tiny student with each candidate
optimizer of the distillation phases, then (from the best distilled model, through the prefix
cache) each candidate of the quantization phases under 16-bit MCT, and writes the validation
accuracy of every candidate to ``reports/tuning-<profile>.md`` / ``.json``. Test data is never
read. The chosen settings are then written into the profile by hand (``benchmark/profiles.py``,
``Profile.budget.distill_optim`` / ``quant_optim``), citing this report, which names the commit it was
made with. A one-seed grid: enough to avoid a bad setting, not to rank close ones.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from benchmark.profiles import Profile
from benchmark.rows import Experiment
from benchmark.run.provenance import provenance
from benchmark.run.recipe import fit, initial_model, schedule_for
from benchmark.run.workspace import Workspace
from quads.train import OptimConfig

# Candidates (adam unless named): the profile's own setting is always tried too.
DISTILL_CANDIDATES = (
    OptimConfig("adam", lr_encoder=5e-5, lr_head=1e-3),
    OptimConfig("adam", lr_encoder=1e-4, lr_head=1e-3),
    OptimConfig("adam", lr_encoder=2e-4, lr_head=1e-3),
)
QUANT_CANDIDATES = (
    OptimConfig("adam", lr_encoder=1e-5, lr_head=1e-4),
    OptimConfig("adam", lr_encoder=1e-4, lr_head=1e-3),
    OptimConfig("adam", lr_encoder=1e-3, lr_head=1e-3),
    # the authors' quantization optimizer (quads.mct.QUANT_OPTIM) on our centroids; not the
    # authors' update, which resets the weights to cluster means after every SGD step
    OptimConfig("sgd", lr_encoder=0.01, lr_head=0.01, momentum=0.9, cosine=True),
)


def _label(o: OptimConfig) -> str:
    extra = ", cosine" if o.cosine else ""
    return f"{o.name} encoder {o.lr_encoder:g} / head {o.lr_head:g}{extra}"


def _valid_accuracy(
    exp: Experiment, profile: Profile, ws: Workspace, seed: int, work: Path
) -> tuple[float, list[dict[str, float]]]:
    """Best validation accuracy over the schedule's final phase, and the epoch history."""
    n_classes = len(ws.corpus(exp.dataset).intents)
    model, _ = initial_model(exp, profile, seed, n_classes)
    out, _ = fit(
        exp,
        profile,
        seed,
        ws,
        model,
        prefix_cache=work / "prefix" / f"tune-{profile.name}",
        desc=f"tune {exp.dataset} {schedule_for(exp, profile).name}",
    )
    return out.best_valid_accuracy, out.history


def tune(
    profile: Profile, datasets: tuple[str, ...], ws: Workspace, out_dir: Path, seed: int = 0
) -> tuple[Path, Path]:
    work = ws.cache / "runs"
    rows: list[dict[str, object]] = []
    chosen: dict[str, dict[str, object]] = {}
    for ds in datasets:
        start = time.perf_counter()
        distill = Experiment("tune", "QUADS", ds, "whisper-tiny", 32, "pretrained", "Distillation")
        best_d = None
        budget = profile.budget
        for cand in dict.fromkeys((budget.distill_optim, *DISTILL_CANDIDATES)):
            p = dataclasses.replace(profile, budget=dataclasses.replace(budget, distill_optim=cand))
            acc, history = _valid_accuracy(distill, p, ws, seed, work)
            rows.append({"dataset": ds, "phase": "distill", "optim": _label(cand), "valid": acc})
            if best_d is None or acc > best_d[0]:
                best_d = (acc, cand)
        mct16 = dataclasses.replace(distill, bits=16, strategy="MCT")
        best_q = None
        for cand in dict.fromkeys((budget.quant_optim, *QUANT_CANDIDATES)):
            b = dataclasses.replace(budget, distill_optim=best_d[1], quant_optim=cand)
            p = dataclasses.replace(profile, budget=b)
            acc, history = _valid_accuracy(mct16, p, ws, seed, work)
            rows.append({"dataset": ds, "phase": "quantize", "optim": _label(cand), "valid": acc})
            if best_q is None or acc > best_q[0]:
                best_q = (acc, cand)
        chosen[ds] = {
            "distill_optim": dataclasses.asdict(best_d[1]),
            "quant_optim": dataclasses.asdict(best_q[1]),
            "seconds": round(time.perf_counter() - start, 1),
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "profile": profile.name,
        "seed": seed,
        "split": "valid",
        "rows": rows,
        "chosen": chosen,
        "provenance": provenance(),
    }
    js = out_dir / f"tuning-{profile.name}.json"
    js.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    lines = [
        f"# Learning-rate selection, profile `{profile.name}` (validation split, seed {seed})",
        "",
        "Distillation candidates train Distillation (the profile's epochs); quantization "
        "candidates train 16-bit MCT from the best distillation setting. Accuracy is the best "
        "validation accuracy of the final phase; test data is not read.",
        "",
        "| dataset | phase | optimizer | valid accuracy |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['dataset']} | {r['phase']} | {r['optim']} | {r['valid']:.2f} |" for r in rows]
    lines += ["", f"Made by: {json.dumps(payload['provenance'], sort_keys=True)}", ""]
    md = out_dir / f"tuning-{profile.name}.md"
    md.write_text("\n".join(lines))
    return md, js
