"""Cached artifacts are checked before use (#17): a damaged corpus, feature cache, teacher or
prosodic feature file, checkpoint or prefix-cache entry is reported by name and rebuilt, never
used; a full disk while checkpointing is one error naming the file."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from benchmark.data.features import feature_dir, load_features
from benchmark.data.integrity import load_torch_cache
from benchmark.data.prosody import load_prosody
from benchmark.data.synthetic import (
    INTEGRITY,
    MANIFEST,
    corpus_dir,
    corpus_problem,
    load_synthetic,
)
from benchmark.data.synthetic_plan import SyntheticConfig
from quads.mct import distillation_only, finetune
from tests.test_data_features import _corpus
from tests.test_data_synthetic import FSC_INTENTS, TINY
from tests.test_mct import FAST, _run

REPO = Path(__file__).resolve().parent.parent
SMALL = SyntheticConfig(**{**TINY.__dict__, "n_train_speakers": 1, "intents": FSC_INTENTS[:2]})


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A tiny synthetic corpus generated once; each test damages its own copy."""
    cache = tmp_path_factory.mktemp("corpora")
    corpus = load_synthetic("synthetic-fsc", SMALL, cache_dir=cache, progress=False)
    return cache, corpus


def _copy(generated, tmp_path) -> tuple[Path, Path]:
    cache, _ = generated
    shutil.copytree(cache, tmp_path / "corpora")
    return tmp_path / "corpora", corpus_dir("synthetic-fsc", SMALL, tmp_path / "corpora")


def _wav(folder: Path, split: str = "test") -> Path:
    return next((folder / "wavs" / split).glob("*.wav"))


def test_deleted_manifest_lines_are_detected_and_the_corpus_regenerated(
    generated, tmp_path, capsys
):
    cache, folder = _copy(generated, tmp_path)
    lines = (folder / MANIFEST).read_text().splitlines(keepends=True)
    (folder / MANIFEST).write_text("".join(lines[:-2]))  # the test split shrinks
    corpus = load_synthetic("synthetic-fsc", SMALL, cache_dir=cache, progress=False)
    assert corpus.fingerprint == generated[1].fingerprint
    assert corpus.counts() == generated[1].counts()
    err = capsys.readouterr().err
    assert f"cached corpus {folder} is damaged" in err and MANIFEST in err


def test_a_truncated_manifest_is_named(generated, tmp_path):
    _, folder = _copy(generated, tmp_path)
    text = (folder / MANIFEST).read_text()
    (folder / MANIFEST).write_text(text[: len(text) // 2])
    assert str(folder / MANIFEST) in corpus_problem(folder)


def test_garbage_filled_or_truncated_wavs_are_named(generated, tmp_path):
    _, folder = _copy(generated, tmp_path)
    assert corpus_problem(folder) is None
    wav = _wav(folder)
    data = bytearray(wav.read_bytes())
    data[1000:3000] = bytes(range(256)) * 7 + bytes(208)  # same size, other samples
    wav.write_bytes(bytes(data))
    assert f"{wav} does not match its recorded sha256" in corpus_problem(folder)
    wav.write_bytes(bytes(data[: len(data) // 2]))
    assert f"{wav} has" in corpus_problem(folder) and "truncated" in corpus_problem(folder)


def test_a_corpus_made_before_checksums_is_checked_then_recorded(generated, tmp_path, capsys):
    _, folder = _copy(generated, tmp_path)
    (folder / INTEGRITY).unlink()
    lines = (folder / MANIFEST).read_text().splitlines(keepends=True)
    (folder / MANIFEST).write_text("".join(lines[:-1]))
    assert "rows" in corpus_problem(folder)  # fewer rows than the marker counts
    (folder / MANIFEST).write_text("".join(lines))
    wav = _wav(folder)
    whole = wav.read_bytes()
    wav.write_bytes(whole[: len(whole) // 2])
    assert str(wav) in corpus_problem(folder)
    wav.write_bytes(whole)
    assert corpus_problem(folder) is None and (folder / INTEGRITY).exists()
    assert "recorded the checksums" in capsys.readouterr().err


def _arrow(final: Path) -> Path:
    return next((final / "dataset").glob("*.arrow"))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: (f / "meta.json").write_text('{"corpus": "to'), id="meta-truncated"),
        pytest.param(
            lambda f: _arrow(f).write_bytes(_arrow(f).read_bytes()[:-5000]), id="arrow-truncated"
        ),
        pytest.param(
            lambda f: _arrow(f).write_bytes(
                _arrow(f).read_bytes()[:-9000] + bytes(4000) + _arrow(f).read_bytes()[-5000:]
            ),
            id="arrow-garbage",
        ),
    ],
)
def test_a_damaged_feature_cache_is_named_and_rebuilt(tmp_path, capsys, damage):
    corpus = _corpus(tmp_path, corrupt=False)
    cache = tmp_path / "features"
    first = load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    final = feature_dir(corpus, "train", 300, cache)
    damage(final)
    again = load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    assert torch.equal(again.mel, first.mel) and not again.from_cache
    assert f"feature cache {final} is damaged" in capsys.readouterr().err
    assert load_features(corpus, "train", 300, cache_dir=cache, progress=False).from_cache


def test_a_feature_cache_made_before_checksums_is_recorded_once(tmp_path, capsys):
    corpus = _corpus(tmp_path, corrupt=False)
    cache = tmp_path / "features"
    load_features(corpus, "train", 300, cache_dir=cache, progress=False)
    meta_path = feature_dir(corpus, "train", 300, cache) / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta.pop("files")
    meta_path.write_text(json.dumps(meta))
    assert load_features(corpus, "train", 300, cache_dir=cache, progress=False).from_cache
    assert "files" in json.loads(meta_path.read_text())
    assert "recorded the checksums" in capsys.readouterr().err


def _garbage_mid_file(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_teacher_features_are_named_and_not_loaded(tmp_path, capsys, damage):
    path = tmp_path / "teacher.pt"
    torch.save(torch.arange(4000, dtype=torch.float32).view(100, 40), path)
    assert torch.equal(load_torch_cache(path, "cached teacher features")[0], torch.arange(40.0))
    if damage == "garbage":
        _garbage_mid_file(path)
    else:
        path.write_bytes(path.read_bytes()[:-300])
    assert load_torch_cache(path, "cached teacher features") is None
    assert f"cached teacher features {path} is damaged" in capsys.readouterr().err
    assert not path.exists()  # recomputed by the caller


def test_damaged_prosodic_features_are_recomputed(tmp_path, capsys):
    corpus = _corpus(tmp_path, corrupt=False)
    uids = ("a", "b", "c")
    first = load_prosody(corpus, "train", 100, uids, tmp_path / "prosody", progress=False)
    (path,) = (tmp_path / "prosody").rglob("*.pt")
    _garbage_mid_file(path)
    again = load_prosody(corpus, "train", 100, uids, tmp_path / "prosody", progress=False)
    assert torch.equal(again.half(), first.half())
    assert str(path) in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_checkpoint_is_ignored_with_a_message(tmp_path, damage):
    schedule = finetune(3, FAST)

    class Stop(Exception):
        pass

    def stop(msg: str) -> None:
        if "epoch 2/" in msg:  # the checkpoint of epoch 2 is written right after this line
            raise Stop

    with pytest.raises(Stop):
        _run(schedule, tmp_path, log=stop)
    ckpt = tmp_path / "ckpt.pt"
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:-1000])
    else:
        _garbage_mid_file(ckpt)
    messages = []
    out = _run(schedule, tmp_path, log=messages.append)
    assert out.resumed_from is None
    assert any(f"ignoring damaged checkpoint {ckpt}" in m for m in messages)
    reference = _run(schedule)
    assert [h["loss"] for h in out.history] == pytest.approx([h["loss"] for h in reference.history])


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_prefix_cache_entry_is_recomputed(tmp_path, damage):
    distill = distillation_only(1, 1, FAST)
    _run(distill, prefix=tmp_path)
    for entry in tmp_path.glob("*.pt"):
        if damage == "truncated":
            entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 3])
        else:
            _garbage_mid_file(entry)
    messages = []
    out = _run(distill, prefix=tmp_path, log=messages.append)
    assert out.resumed_from is None
    assert any("ignoring damaged prefix-cache entry" in m for m in messages)
    assert _run(distill, prefix=tmp_path).resumed_from == "prefix cache"  # rewritten whole


def test_disk_full_while_checkpointing_is_one_error_naming_the_file(tmp_path):
    # RLIMIT_FSIZE makes writes past 64 KiB fail (EFBIG), as a full disk fails with ENOSPC;
    # torch reports either as a RuntimeError of its zip writer
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        sys.dont_write_bytecode = True
        sys.path.insert(0, {str(REPO)!r})
        import torch
        from pathlib import Path
        from quads.engine import _save
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        try:
            _save(Path({str(tmp_path)!r}) / "ckpt.pt", {{"w": torch.zeros(100_000)}}, "checkpoint")
        except OSError as err:
            print("ERROR", err)
            sys.exit(3)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    out = proc.stdout.strip()
    assert out.count("\n") == 0 and f"cannot write checkpoint {tmp_path / 'ckpt.pt'}" in out
    assert "--cache-dir" in out
    assert not list(tmp_path.glob("*.tmp"))
