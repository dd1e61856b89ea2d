"""A real interruption: SIGKILL a run mid-row, restart it, compare with an uninterrupted run.

The run is the harness itself (``run_and_render``) on the session's tiny generated corpus. The killed
run and its restart run in forked child processes (``helpers.run_forked``: separate processes
that need not import torch again) with their own cache folder; the uninterrupted reference runs
afterwards in this process with another cache folder. So the runs share nothing but the code and
the generated corpus (input data, read only; features, teacher features, checkpoints and prefix
caches are each run's own), and the children never see the reference run's memory. The killed
child SIGKILLs itself right after writing its first epoch checkpoint, so the kill lands mid-row
(mid-phase) every time instead of racing a fast run.

To keep it fast: the registry's ``whisper-tiny`` is replaced by a tiny random-weight Whisper
encoder (``register(..., replace=True)``), its "pretrained" weights and the teacher's come from a
``$QUADS_WHISPER_DIR`` library of tiny Hugging Face folders written here, only the 4-bit QUADS row
runs (MCT: distillation, quantization, export), and neither the efficiency columns nor Figure 3
are made.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from functools import partial
from pathlib import Path

import pytest
from helpers import TINY_FSC, run_forked
from tiny_whisper import DIMS, write_library

import benchmark.run.experiment as experiment
import benchmark.run.plan as plan
import benchmark.run.runner as runner
import quads.engine
from baselines.registry import MODELS, ModelSpec
from baselines.weights import ENV_DIR
from baselines.whisper import WhisperClassifier
from benchmark.commands import run_and_render
from benchmark.data.cache import CACHE_ENV
from benchmark.profiles import Profile
from benchmark.rows import experiments
from benchmark.run.efficiency import Efficiency
from quads.mct import Budget

BITS = 4
ROWS = ("QUADS",)

PROFILE = Profile(
    "resume-test",
    "tiny corpus for interruption tests",
    corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
    synthetic={"synthetic-fsc": TINY_FSC},
    n_frames=40,
    measure_energy=False,
    batch_size=4,
    budget=Budget(distill_epochs=4, mct_iterations=2, quant_per_iteration=1, final_epochs=1),
)


def tiny_models(monkeypatch) -> None:
    """Replace whisper-tiny by a tiny encoder, run only the ``BITS`` rows, skip the efficiency
    measurement (constant placeholder numbers, not compared here) and Figure 3. Undone after the
    test; the forked children inherit it."""
    spec = MODELS["whisper-tiny"]
    tiny = ModelSpec(
        spec.name, partial(WhisperClassifier, "tiny", dims=DIMS), spec.pretrained, "tiny test"
    )
    monkeypatch.setitem(MODELS, spec.name, tiny)
    monkeypatch.setattr(
        plan, "experiments", lambda table: tuple(e for e in experiments(table) if e.bits == BITS)
    )
    monkeypatch.setattr(
        experiment, "measure_efficiency", lambda *args, **kwargs: Efficiency(1, 0.0, 0.0, 0.0, None)
    )
    monkeypatch.setattr("benchmark.report.figure.write_figure", lambda *args, **kwargs: None)


def tiny_setup(tmp_path: Path, monkeypatch, corpora: Path, caches: tuple[str, ...]) -> None:
    """The tiny models and weight library, and one cache folder per name in ``caches`` under
    ``tmp_path``, each with the session's generated corpus linked in (input data, read only)."""
    library = write_library(
        tmp_path / "whisper", (MODELS["whisper-tiny"].pretrained, PROFILE.teacher)
    )
    monkeypatch.setenv(ENV_DIR, str(library))
    tiny_models(monkeypatch)
    for name in caches:
        (tmp_path / name).mkdir()
        (tmp_path / name / "corpora").symlink_to(corpora)


def run(out: Path, cache: Path, log=print) -> None:
    options = runner.RunOptions(
        profile=PROFILE, out_dir=out, rows=ROWS, datasets=("FSC",), cache_dir=cache
    )
    run_and_render("table1", options, log=log)


def _run_in_child(out: Path, cache: Path, kill: bool) -> None:
    """A fresh invocation in a forked child, with ``cache`` as its cache root. ``kill``: SIGKILL
    the process right after its first epoch checkpoint is written."""
    os.environ[CACHE_ENV] = str(cache)
    if kill:
        save = quads.engine.save_checkpoint

        def save_then_die(path, state):
            save(path, state)
            if "checkpoints" in path.parts:
                os.kill(os.getpid(), signal.SIGKILL)

        quads.engine.save_checkpoint = save_then_die
    run(out, cache)


def _results(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "results").rglob("*.json"))}


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_mid_row_then_restart_matches_an_uninterrupted_run(
    tmp_path, monkeypatch, tiny_fsc_corpora, one_torch_thread
):
    tiny_setup(tmp_path, monkeypatch, tiny_fsc_corpora, ("run-cache", "ref-cache"))

    # a run killed right after the first epoch checkpoint of the row
    out, cache = tmp_path / "run", tmp_path / "run-cache"
    killed = run_forked(_run_in_child, out, cache, True)
    assert killed.returncode == -signal.SIGKILL, killed.output
    assert any((cache / "runs" / "checkpoints" / PROFILE.name).glob("*.pt"))
    assert not list(out.rglob("*.json")), "no result may exist for the killed row"
    assert not list(out.rglob("*.tmp"))

    again = run_forked(_run_in_child, out, cache, False)
    assert again.returncode == 0, again.output
    assert "resumed at phase 1, epoch 1" in again.output

    # the uninterrupted reference, here
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "ref-cache"))
    run(tmp_path / "ref", tmp_path / "ref-cache")

    ref_results, results = _results(tmp_path / "ref"), _results(out)
    assert sorted(results) == sorted(ref_results) and len(results) == 1  # QUADS at BITS
    for name, r in results.items():
        expected = ref_results[name]
        for metric in ("accuracy", "f1", "valid_accuracy", "best_epoch", "size_file_mb"):
            assert r["metrics"].get(metric) == expected["metrics"].get(metric), (name, metric)
        assert _digest(r["artifacts"]["model"]) == _digest(expected["artifacts"]["model"])
        assert [h["loss"] for h in r["training"]["history"]] == pytest.approx(
            [h["loss"] for h in expected["training"]["history"]], rel=1e-6
        )

    # the report has each cell once, and a third invocation recomputes nothing
    cells = json.loads((out / "table1.json").read_text())
    keys = [(c["row"], c["bits"], c["dataset"], c["metric"]) for c in cells]
    assert len(keys) == len(set(keys))
    lines: list[str] = []
    monkeypatch.setattr(quads.engine, "save_checkpoint", None)  # nothing may train
    run(out, cache, log=lines.append)
    assert "table1: 0 runs to do, 1 complete results reused" in lines[0], lines
