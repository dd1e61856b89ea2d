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
