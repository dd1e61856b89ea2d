"""The one atomic write (quads.atomic): a failed write leaves the old file and no temporary file;
the training checkpoints and the harness' cache files go through it."""

from __future__ import annotations

import pickle

import pytest
import torch

import benchmark.data.cache
from quads.atomic import atomic_write
from quads.train import load_checkpoint, save_checkpoint


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    with atomic_write(path) as tmp:
        assert tmp.parent == path.parent and tmp.name.endswith(".tmp")
        tmp.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(path, fsync=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.txt"]


def test_checkpoints_are_written_atomically(tmp_path):
    path = tmp_path / "checkpoints" / "run.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(2)})
    # a lambda cannot be pickled: torch.save fails after it has opened the file
    with pytest.raises((pickle.PicklingError, AttributeError)):
        save_checkpoint(path, {"epoch": 2, "f": lambda: 0})
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["run.pt"]


def test_the_harness_uses_the_same_helper():
    assert benchmark.data.cache.atomic_write is atomic_write
