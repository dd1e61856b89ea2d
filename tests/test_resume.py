"""A real interruption: SIGKILL a run mid-training, restart it, compare with an uninterrupted run.

The run is the harness itself (``run_table``) on a tiny generated corpus, in a subprocess, with
its own cache folder, so the killed and the uninterrupted run share nothing but the code.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

RUN = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from benchmark.data.synthetic import SyntheticConfig
    from benchmark.profiles import Profile
    from quads.mct import Budget
    from benchmark.run.runner import RunOptions, run_table

    tiny = SyntheticConfig(
        kind="fsc",
        intents=("activate_lamp_none", "bring_juice_none", "decrease_volume_none"),
        n_train_speakers=2, n_valid_speakers=1, n_test_speakers=1, utterances_per_intent=2,
        snrs_db=(None,),
    )
    profile = Profile(
        "resume-test", "tiny corpus for interruption tests",
        corpora={"FSC": "synthetic-fsc", "SLURP": "synthetic-slurp"},
        synthetic={"synthetic-fsc": tiny},
        n_frames=40, measure_energy=False, batch_size=4,
        budget=Budget(distill_epochs=4, mct_iterations=2, quant_per_iteration=1, final_epochs=1),
    )
    rows = tuple(sys.argv[2].split(","))
    run_table("table1", RunOptions(profile=profile, out_dir=Path(sys.argv[1]), rows=rows,
                                   datasets=("FSC",)), log=print)
    """
)
ROWS = "QUADS"


def _start(out: Path, cache: Path) -> subprocess.Popen:
    env = dict(os.environ, QUADS_CACHE_DIR=str(cache), PYTHONHASHSEED="0")
    repo = Path(__file__).resolve().parent.parent
    return subprocess.Popen(
        [sys.executable, "-c", RUN, str(out), ROWS],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _results(out: Path) -> dict[str, dict]:
    found = {}
    for path in sorted((out / "results").rglob("*.json")):
        data = json.loads(path.read_text())
        found[path.name] = data
    return found


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.slow
def test_sigkill_mid_row_then_restart_matches_an_uninterrupted_run(tmp_path):
    # the uninterrupted reference
    ref = _start(tmp_path / "ref", tmp_path / "ref-cache")
    log, _ = ref.communicate(timeout=600)
    assert ref.returncode == 0, log

    # the same run, killed as soon as the first epoch checkpoint of the first row exists
    out, cache = tmp_path / "run", tmp_path / "run-cache"
    proc = _start(out, cache)
    checkpoints = cache / "runs" / "checkpoints" / "resume-test"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if checkpoints.is_dir() and any(checkpoints.glob("*.pt")):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not list(out.rglob("*.json")), "no result may exist for the killed row"
    assert not list(out.rglob("*.tmp"))

    again = _start(out, cache)
    log, _ = again.communicate(timeout=600)
    assert again.returncode == 0, log
    assert "resumed at phase" in log

    ref_results, results = _results(tmp_path / "ref"), _results(out)
    assert sorted(results) == sorted(ref_results) and len(results) == 4  # QUADS at 32/16/8/4
    for name, r in results.items():
        expected = ref_results[name]
        for metric in ("accuracy", "f1", "valid_accuracy", "best_epoch", "size_file_mb"):
            assert r["metrics"].get(metric) == expected["metrics"].get(metric), (name, metric)
        if "model" in r["artifacts"]:
            assert _digest(r["artifacts"]["model"]) == _digest(expected["artifacts"]["model"])
        assert [h["loss"] for h in r["training"]["history"]] == pytest.approx(
            [h["loss"] for h in expected["training"]["history"]], rel=1e-6
        )

    # the report has each cell once, and a second invocation recomputes nothing
    cells = json.loads((out / "table1.json").read_text())
    keys = [(c["row"], c["bits"], c["dataset"], c["metric"]) for c in cells]
    assert len(keys) == len(set(keys))
    third = _start(out, cache)
    log, _ = third.communicate(timeout=600)
    assert third.returncode == 0 and "0 runs to do, 4 complete results reused" in log, log
