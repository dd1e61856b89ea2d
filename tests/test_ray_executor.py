"""The Ray executor gives the local executor's result files: same metrics, predictions, training
histories and exported model bytes, from a local Ray instance on 2 CPUs.

The runs are the smoke profile's on a tiny generated corpus with tiny random-weight Whisper
encoders (``tiny_whisper``; Ray workers load them through the executor's setup hook), QUADS
32 / 4 bit and the 4-bit PTQ control on FSC, seeds 0 and 1: runs that share a training prefix
(every QUADS strategy's first distillation phase; the PTQ control trains QUADS 32-bit's schedule)
and two independent seeds to run side by side. The first Ray worker to write an epoch checkpoint
is killed right after it: Ray retries its task, which resumes from that checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: pip install 'quads-repro[cluster]' (tox -e py installs it)"
)

import torch  # noqa: E402
from helpers import TINY_CLEAN_FSC  # noqa: E402
from tiny_whisper import KILL_ONCE_ENV, write_library  # noqa: E402

from benchmark.commands import run_and_render  # noqa: E402
from benchmark.profiles import PROFILES  # noqa: E402
from benchmark.run.ray_executor import RayOptions  # noqa: E402
from benchmark.run.runner import RunOptions  # noqa: E402

PROFILE = dataclasses.replace(
    PROFILES["smoke"],
    synthetic={"synthetic-fsc": TINY_CLEAN_FSC},
    n_frames=40,
    measure_energy=False,
    batch_size=4,
    seeds=(0, 1),
)


def _files(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted((out / "results").rglob("*.json"))}


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_ray_gives_the_local_executors_result_files(tmp_path, monkeypatch, tiny_training):
    tiny_training(write_library(tmp_path / "whisper", ("tiny.en", "base")), offline=True)
    tests = str(Path(__file__).resolve().parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, (tests, os.environ.get("PYTHONPATH"))))
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a Ray task of 1 CPU
    try:
        options = RunOptions(
            profile=PROFILE,
            out_dir=tmp_path / "local",
            rows=("QUADS", "PTQ control (ours)"),
            datasets=("FSC",),
            cache_dir=tmp_path / "cache-local",
        )
        run_and_render("table1", options)
    finally:
        torch.set_num_threads(threads)
    killed = tmp_path / "killed"
    monkeypatch.setenv(KILL_ONCE_ENV, str(killed))
    (tmp_path / "cache-ray").mkdir()
    (tmp_path / "cache-ray" / "corpora").symlink_to(tmp_path / "cache-local" / "corpora")
    lines: list[str] = []
    md, _ = run_and_render(
        "table1",
        dataclasses.replace(
            options,
            out_dir=tmp_path / "ray",
            cache_dir=tmp_path / "cache-ray",
            executor="ray",
            ray=RayOptions(setup_hook="tiny_whisper.register_and_kill_once", local_cpus=2),
        ),
        log=lines.append,
    )
    assert not ray.is_initialized()  # the executor stops the instance it started
    assert any("ray: 6 runs on 2 CPUs" in line for line in lines), lines

    assert killed.exists()  # a worker died mid-run ...
    local, remote = _files(tmp_path / "local"), _files(tmp_path / "ray")
    # ... and its retried task resumed from the run's epoch checkpoint
    assert [r["training"]["resumed_from"] for r in remote.values()].count("checkpoint") == 1
    assert sorted(remote) == sorted(local) and len(local) == 6  # 3 rows x 2 seeds
    for name, r in remote.items():
        ref = local[name]
        assert r["metrics"] == ref["metrics"], name
        assert r["predictions"] == ref["predictions"], name
        assert r["config"] == ref["config"] and r["data"] == ref["data"], name
        assert [h["loss"] for h in r["training"]["history"]] == [
            h["loss"] for h in ref["training"]["history"]
        ], name
        if "model" in ref["artifacts"]:
            assert _digest(r["artifacts"]["model"]) == _digest(ref["artifacts"]["model"]), name
    # the PTQ control trains exactly the float twin's schedule: computed once, read from the
    # prefix cache (the twin keeps its best epoch of any phase, so it shares nothing with MCT)
    reused = sorted(n for n, r in remote.items() if r["training"]["resumed_from"] == "prefix cache")
    assert reused and all(n.startswith("ptq-control") for n in reused), reused
    assert md.read_text().count("QUADS") >= 2
