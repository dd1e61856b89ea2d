"""A real interruption: SIGKILL a run mid-row, restart it, compare with an uninterrupted run.

The run is the harness itself (``run_table``) on a tiny generated corpus. The uninterrupted
reference runs in this process; the killed run and its restart run in subprocesses with their own
cache folder, so the two runs share nothing but the code and the generated corpus (input data,
read only; features, teacher features, checkpoints and prefix caches are each run's own). The
killed process SIGKILLs itself right after writing its first epoch checkpoint, so the kill lands
mid-row (mid-phase) every time instead of racing a fast run.

To keep it fast: the registry's ``whisper-tiny`` is replaced by a tiny random-weight Whisper
encoder (``register(..., replace=True)``), its "pretrained" weights and the teacher's come from a
``$QUADS_WHISPER_DIR`` library of tiny Hugging Face folders written here, only the 4-bit QUADS row
runs (MCT: distillation, quantization, export), and the efficiency columns are not measured.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

import benchmark.run.runner as runner
import quads.engine
from baselines.registry import MODELS, ModelSpec, register
from baselines.weights import ENV_DIR
from baselines.whisper import WhisperClassifier, WhisperDims
from benchmark.data.cache import CACHE_ENV
from benchmark.data.synthetic import SyntheticConfig
from benchmark.profiles import Profile
from benchmark.rows import experiments
from benchmark.run.efficiency import Efficiency
from quads.mct import Budget

DIMS = WhisperDims(d_model=16, layers=1, heads=2, ffn=32)
BITS = 4
ROWS = ("QUADS",)
KILL_ENV = "RESUME_TEST_KILL_AFTER_FIRST_CHECKPOINT"

PROFILE = Profile(
    "resume-test",
    "tiny corpus for interruption tests",
    corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
    synthetic={
        "synthetic-fsc": SyntheticConfig(
            kind="fsc",
            intents=("activate_lamp_none", "bring_juice_none", "decrease_volume_none"),
            n_train_speakers=2,
            n_valid_speakers=1,
            n_test_speakers=1,
            utterances_per_intent=2,
            snrs_db=(None,),
        )
    },
    n_frames=40,
    measure_energy=False,
    batch_size=4,
    budget=Budget(distill_epochs=4, mct_iterations=2, quant_per_iteration=1, final_epochs=1),
)


def tiny_models(set_item=None, set_attr=None) -> None:
    """Replace whisper-tiny by a tiny encoder, run only the ``BITS`` rows, skip the efficiency
    measurement (constant placeholder numbers, not compared here). ``set_item``/``set_attr``:
    pytest's monkeypatch (undone after the test) in this process; assignment in a subprocess."""
    spec = MODELS["whisper-tiny"]
    tiny = ModelSpec(
        spec.name, partial(WhisperClassifier, "tiny", dims=DIMS), spec.pretrained, "tiny test"
    )
    if set_item is None:
        register(tiny, replace=True)
    else:
        set_item(MODELS, spec.name, tiny)
    patches = {
        "experiments": lambda table: tuple(e for e in experiments(table) if e.bits == BITS),
        "measure_efficiency": lambda *args, **kwargs: Efficiency(1, 0.0, 0.0, 0.0, None),
    }
    for name, value in patches.items():
        (set_attr or setattr)(runner, name, value)


def run(out: Path, cache: Path, log=print) -> None:
    options = runner.RunOptions(
        profile=PROFILE, out_dir=out, rows=ROWS, datasets=("FSC",), cache_dir=cache
    )
    runner.run_table("table1", options, log=log)


def _write_library(root: Path) -> Path:
    """Tiny random-weight Whisper encoders as Hugging Face folders: the student's and the
    teacher's "pretrained" weights."""
    import torch
    from safetensors.torch import save_file
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    for seed, name in enumerate((MODELS["whisper-tiny"].pretrained, PROFILE.teacher)):
        config = WhisperConfig(
            d_model=DIMS.d_model,
            encoder_layers=DIMS.layers,
            encoder_attention_heads=DIMS.heads,
            encoder_ffn_dim=DIMS.ffn,
            decoder_layers=1,
            decoder_attention_heads=DIMS.heads,
            decoder_ffn_dim=DIMS.ffn,
            max_source_positions=1500,
        )
        torch.manual_seed(seed)
        state = WhisperEncoder(config).state_dict()
        folder = root / name
        folder.mkdir(parents=True)
        config.to_json_file(str(folder / "config.json"))
        tensors = {f"encoder.{k}": v.contiguous() for k, v in state.items()}
        save_file(tensors, str(folder / "model.safetensors"))
    return root


SUBPROCESS = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, "tests")
import quads.engine
import test_resume as t

t.tiny_models()
if os.environ.get(t.KILL_ENV):
    save = quads.engine.save_checkpoint

    def save_then_die(path, state):
        save(path, state)
        if "checkpoints" in path.parts:
            os.kill(os.getpid(), signal.SIGKILL)

    quads.engine.save_checkpoint = save_then_die
t.run(Path(sys.argv[1]), Path(sys.argv[2]))
"""


def _subprocess(out: Path, cache: Path, library: Path, kill: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{CACHE_ENV: str(cache), ENV_DIR: str(library)})
    env.pop(KILL_ENV, None)
    if kill:
        env[KILL_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SUBPROCESS, str(out), str(cache)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )


def _results(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "results").rglob("*.json"))}


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_mid_row_then_restart_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    library = _write_library(tmp_path / "whisper")
    monkeypatch.setenv(ENV_DIR, str(library))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "ref-cache"))
    tiny_models(monkeypatch.setitem, monkeypatch.setattr)

    # the uninterrupted reference, here
    run(tmp_path / "ref", tmp_path / "ref-cache")

    # the same run in a subprocess, killed right after the first epoch checkpoint of the row
    out, cache = tmp_path / "run", tmp_path / "run-cache"
    cache.mkdir()
    (cache / "corpora").symlink_to(tmp_path / "ref-cache" / "corpora")  # input data, read only
    killed = _subprocess(out, cache, library, kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stdout
    assert any((cache / "runs" / "checkpoints" / PROFILE.name).glob("*.pt"))
    assert not list(out.rglob("*.json")), "no result may exist for the killed row"
    assert not list(out.rglob("*.tmp"))

    again = _subprocess(out, cache, library, kill=False)
    assert again.returncode == 0, again.stdout
    assert "resumed at phase 1, epoch 1" in again.stdout

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
