"""``quads-bench robustness --retrain``: remake the snapshots the cache lost, result files untouched.

The sweep evaluates the snapshot a Table 1 run leaves in the cache (``benchmark.run.snapshot``).
A cache that lost it (another machine, a cleared folder) used to leave only ``quads-bench run
--force``, which rewrites the committed Table 1 result file. Here each such run is trained again
through ``run_experiment`` (deterministic on CPU for the same machine type; an interrupted
retrain resumes from its epoch checkpoints), its snapshot lands where the sweep looks, and the
new Result is discarded: the result files stay as written. A run is retrained only where a run
here has its result file's configuration (``run_config`` equal to the stored ``config``: same
precision, corpus, profile, schedule ...); else it is skipped, naming the difference. A retrained
run whose test predictions differ from its result file's is not the model the file was scored
with: its snapshot is removed and the run is skipped with the count (the sweep's clean check
would flag it; here it is never evaluated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from benchmark.profiles import Profile
from benchmark.results.files import read_result
from benchmark.results.identity import artefact_path, mismatch
from benchmark.robustness.sweep import is_claim_row, label
from benchmark.rows import Experiment
from benchmark.run.experiment import run_config, run_experiment
from benchmark.run.workspace import Workspace


def retrain_snapshots(
    profile: Profile,
    missing: Sequence[tuple[Experiment, int, Path]],
    ws: Workspace,
    table1_dir: Path,
    log: Callable[[str], None] = print,
) -> None:
    """Train each (experiment, seed, Table 1 result file) of ``missing`` again for its snapshot,
    the claim's rows first; each run not remade is logged with why (the report lists it among
    the runs not evaluated, from the result files alone)."""
    # the claim's runs first: an interrupted retrain has made the snapshots that matter most
    missing = sorted(missing, key=lambda m: not is_claim_row(m[0]))
    for i, (exp, seed, t1) in enumerate(missing, 1):
        name = label(exp, seed)
        stored = read_result(t1, table1_dir)
        diffs = mismatch(stored.config, run_config(exp, profile, ws.choice, ws))
        if diffs:
            log(
                f"retrain: {name}: not retrained: a run here would be another configuration ({diffs})"
            )
            continue
        log(f"retrain: {i}/{len(missing)} {name}: training its Table 1 run again for its snapshot")
        result = run_experiment(exp, ws.choice.profile_for(profile, exp.dataset), seed, ws)
        ours, theirs = (r.predictions.get("pred") or [] for r in (result, stored))
        if ours != theirs:
            differing = sum(a != b for a, b in zip(ours, theirs, strict=False))
            differing += abs(len(ours) - len(theirs))
            artefact_path(ws.cache, "snapshot", profile.name, exp, seed, stored.config).unlink(
                missing_ok=True
            )
            log(
                f"retrain: {name}: retrained, but its test predictions differ from {t1} in "
                f"{differing} of {len(theirs)} utterances (another machine's arithmetic?): "
                "snapshot removed"
            )
