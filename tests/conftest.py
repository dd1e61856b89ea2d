"""Fixtures several test modules share."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TINY_FSC


@pytest.fixture(scope="session")
def tiny_fsc_corpora(tmp_path_factory) -> Path:
    """A ``corpora`` cache folder holding ``helpers.TINY_FSC`` as synthetic-fsc, generated once
    per session. Input data, read only: symlink it as ``<cache>/corpora`` or copy it."""
    from benchmark.data.synthetic import generate

    folder = tmp_path_factory.mktemp("corpora")
    generate("synthetic-fsc", TINY_FSC, cache_dir=folder, progress=False)
    return folder


@pytest.fixture(autouse=True)
def fixed_machine_speed(monkeypatch):
    """The time estimate's yardstick of this machine (``benchmark.run.reference.calibrate``: a
    few training steps of Whisper tiny, about 5-10 s on a busy 2-core CPU) fixed at 1 s a step
    in every test: each ``--dry-run`` and run would measure it again otherwise."""
    import benchmark.run.reference as reference

    monkeypatch.setattr(reference, "calibrate", lambda repeats=5: 1.0)
    # and an idle CPU: a load read at two moments would word two estimates differently
    monkeypatch.setattr(reference, "_load_average", lambda: (0.0, 2))


@pytest.fixture
def one_torch_thread():
    """torch on one thread while the test runs, as in ``helpers.run_forked``'s children, so that
    a run here and a run in a child do the same arithmetic."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def no_figure(monkeypatch):
    """Reports without Figure 3 and the learning curves (matplotlib, about 1 s a report), for
    tests that do not read them; test_report.py and test_climbing.py check the figures."""
    monkeypatch.setattr("benchmark.report.figure.write_figure", lambda *args, **kwargs: None)
    monkeypatch.setattr("benchmark.report.curves.write_curves", lambda *args, **kwargs: None)


@pytest.fixture
def tiny_training(monkeypatch):
    """The set-up of the tests that train table rows end to end on tiny random-weight Whisper
    encoders (tests/test_real_layout.py, tests/test_ray_executor.py): ``setup(library, bits,
    offline)`` points ``$QUADS_WHISPER_DIR`` at ``library`` (``tiny_whisper.write_library``), with
    ``offline`` sets ``HF_HUB_OFFLINE`` (no hub probe), swaps the registry's Whisper models for the
    tiny ones (``tiny_whisper.use_tiny_models``) and keeps only the rows of ``bits``. Undone after
    the test."""
    from tiny_whisper import use_tiny_models

    import benchmark.run.plan as plan
    from baselines.weights import ENV_DIR
    from benchmark.rows import experiments

    def setup(library: Path, bits: tuple[int, ...] = (32, 4), offline: bool = False) -> None:
        monkeypatch.setenv(ENV_DIR, str(library))
        if offline:
            monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        use_tiny_models(monkeypatch)
        monkeypatch.setattr(
            plan, "experiments", lambda t: tuple(e for e in experiments(t) if e.bits in bits)
        )

    return setup
