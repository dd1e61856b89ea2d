"""Cached artifacts are checked before use (#17): a damaged corpus, feature cache, teacher or
prosodic feature file, checkpoint or prefix-cache entry is reported by name and rebuilt, never
used; a full disk while checkpointing is one error naming the file."""

import json
import resource
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from test_data_features import _corpus
from test_data_synthetic import FSC_INTENTS, TINY
from test_mct import FAST, _run

from benchmark.data.audio import write_audio
from benchmark.data.features import feature_dir, load_features
from benchmark.data.integrity import load_torch_cache, save_torch_cache
from benchmark.data.prosody import load_prosody
from benchmark.data.synthetic import (
    INTEGRITY,
    MANIFEST,
    MARKER,
    _write_integrity,
    corpus_dir,
    corpus_problem,
    load_synthetic,
)
from benchmark.data.synthetic_plan import SyntheticConfig
from quads.engine import _save
from quads.mct import distillation_only, finetune

SMALL = SyntheticConfig(**{**TINY.__dict__, "n_train_speakers": 1, "intents": FSC_INTENTS[:2]})


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A corpus folder laid out as ``_generate_here`` writes it (6 short wavs, manifest,
    integrity record, marker), made by hand in milliseconds; each test damages its own copy."""
    cache = tmp_path_factory.mktemp("corpora")
    folder = corpus_dir("synthetic-fsc", SMALL, cache)
    rows = []
    for i, split in enumerate(["train", "train", "valid", "valid", "test", "test"]):
        audio = np.sin(np.arange(16000 + 800 * i) * 0.05 * (i + 1)).astype(np.float32) * 0.3
        rel = f"wavs/{split}/{split}_{i}.wav"
        write_audio(folder / rel, audio, 16000)
        label = SMALL.label_space[i % 2]
        rows.append(
            {"uid": f"{split}_{i}", "path": rel, "label": label, "speaker": f"s{i // 2}",
             "split": split, "text": label, "duration_s": round(len(audio) / 16000, 4)}
        )  # fmt: skip
    (folder / MANIFEST).write_text("".join(json.dumps(r) + "\n" for r in rows))
    _write_integrity(folder, rows)
    (folder / MARKER).write_text(f"{len(rows)} utterances\n")
    return cache, load_synthetic("synthetic-fsc", SMALL, cache_dir=cache, progress=False)


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
    assert generated[1].counts()["test"] == 2
    corpus = load_synthetic("synthetic-fsc", SMALL, cache_dir=cache, progress=False)
    err = capsys.readouterr().err
    assert f"cached corpus {folder} is damaged" in err and MANIFEST in err
    # generated again by espeak-ng (not the hand-made stand-in): whole, with its own record
    assert corpus.counts()["test"] == 2 and corpus_problem(folder) is None
    assert "speaker" in json.loads((folder / MANIFEST).read_text().splitlines()[0])


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
    # RLIMIT_FSIZE (for the few lines below only) makes writes past 64 KiB fail with EFBIG, as a
    # full disk fails with ENOSPC; torch reports either as a RuntimeError of its zip writer
    big = {"w": torch.zeros(100_000)}
    errors = []
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, hard))
    try:
        for write in (
            lambda: _save(tmp_path / "ckpt.pt", big, "checkpoint"),
            lambda: save_torch_cache(tmp_path / "teacher.pt", big, "cached teacher features"),
        ):
            try:
                write()
            except OSError as err:
                errors.append(str(err))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert len(errors) == 2 and all("\n" not in e and "--cache-dir" in e for e in errors)
    assert f"cannot write checkpoint {tmp_path / 'ckpt.pt'}" in errors[0]
    assert f"cannot write cached teacher features {tmp_path / 'teacher.pt'}" in errors[1]
    assert not list(tmp_path.iterdir())  # no partial file, no temp file
