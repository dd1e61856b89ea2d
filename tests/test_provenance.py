"""Provenance: the commit a result names, and when it counts as dirty."""

import subprocess
from pathlib import Path

import benchmark.run.provenance as provenance


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_generated_reports_do_not_make_the_checkout_dirty(tmp_path, monkeypatch):
    (tmp_path / "reports").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "reports" / "table1.md").write_text("old\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "REPO", tmp_path)
    clean = provenance.git_commit()
    assert len(clean) == 40
    (tmp_path / "reports" / "table1.md").write_text("regenerated\n")
    (tmp_path / "untracked.txt").write_text("scratch\n")
    assert provenance.git_commit() == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_commit() == clean + "+dirty"


def test_repo_is_the_repository_root():
    assert Path(__file__).resolve().parent.parent == provenance.REPO
