"""Empty or unusable splits fail up front (issue 25, item 6) and the data-side minor cases:
preflight and --dry-run count the utterances each split will really have, an empty split that
still reaches the features is one clear error, real sizes in the disk message, one log-mel bar."""

import json
import re
from collections import namedtuple

import numpy as np
import pytest
import soundfile as sf

import benchmark.run.preflight as preflight
from benchmark.cli import main
from benchmark.data.features import EmptySplitError, load_features
from benchmark.data.records import Utterance, make_corpus
from benchmark.data.slurp import load_slurp
from benchmark.profiles import PROFILES
from benchmark.run.data_choice import DataChoice
from benchmark.run.plan import select
from benchmark.run.workspace import Workspace

HEADER = ",path,speakerId,transcription,action,object,location\n"
TRAIN = [("s1", "activate", "lights", "kitchen"), ("s2", "decrease", "volume", "none")] * 2


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _fsc(root, test=None, test_audio="noise"):
    """A tiny FSC layout: 4 train, 2 valid, test rows as given (default: like valid)."""
    (root / "data").mkdir(parents=True)
    rng = np.random.default_rng(0)
    test = [("s3", "activate", "lights", "kitchen")] * 2 if test is None else test
    for split, rows in (("train", TRAIN), ("valid", TRAIN[:2]), ("test", test)):
        lines = [HEADER]
        for i, (spk, action, obj, loc) in enumerate(rows):
            rel = f"wavs/speakers/{spk}/{split}{i}.wav"
            lines.append(f"{i},{rel},{spk},words,{action},{obj},{loc}\n")
            audio = root / rel
            audio.parent.mkdir(parents=True, exist_ok=True)
            if split != "test" or test_audio == "noise":
                sf.write(audio, 0.1 * rng.standard_normal(1600).astype(np.float32), 16000)
            elif test_audio == "text":
                audio.write_text("not audio")
        (root / "data" / f"{split}_data.csv").write_text("".join(lines))
    return root


def _check(tmp_path, root, **choice):
    exps = select("table1", ["QUADS"], ["FSC"])
    dc = DataChoice(roots={"fsc": str(root)}, **choice)
    return preflight.check(exps, PROFILES["smoke"], dc, tmp_path / "out", tmp_path / "cache")


@pytest.mark.parametrize(
    ("case", "test", "audio", "expected"),
    [
        ("header-only csv", [], "noise", "data/test_data.csv lists no utterance whose audio"),
        ("every file missing", None, "missing", "lists no utterance whose audio file exists"),
        ("every file unreadable", None, "text", "its 2 present file(s) have no readable audio"),
    ],
)
def test_an_empty_test_split_is_a_problem_before_training(tmp_path, case, test, audio, expected):
    root = _fsc(tmp_path / "fsc", test=test, test_audio=audio)
    pf = _check(tmp_path, root)
    assert pf.data[0].usable == {"train": 4, "valid": 2, "test": 0}, case
    [problem] = pf.problems
    assert problem.what.startswith("FSC: the test split has no usable utterance")
    assert expected in problem.what and problem.fix
    with pytest.raises(preflight.PreflightError, match="the test split has no usable"):
        preflight.require(pf)


def test_a_complete_corpus_has_no_problem_and_counts_usable_utterances(tmp_path):
    root = _fsc(tmp_path / "fsc")
    (root / "data" / "test_data.csv").write_text(
        (root / "data" / "test_data.csv").read_text()
        + "9,wavs/speakers/s3/gone.wav,s3,words,activate,lights,kitchen\n"
    )
    pf = _check(tmp_path, root)
    assert pf.problems == ()
    assert pf.data[0].utterances["test"] == 3 and pf.data[0].usable["test"] == 2


def test_test_labels_that_train_lacks_are_a_problem_with_the_cli_fix(tmp_path):
    root = _fsc(tmp_path / "fsc", test=[("s3", "bring", "shoes", "none")] * 2)
    [problem] = _check(tmp_path, root).problems
    assert "1 label(s) of valid/test" in problem.what and "['bring_shoes_none']" in problem.what
    assert "--unseen-labels drop" in problem.fix and "unseen_labels=" not in problem.fix
    # dropping them leaves the test split empty: still a problem, with its own fix
    [empty] = _check(tmp_path, root, unseen_labels="drop").problems
    assert "every utterance has a label train lacks" in empty.what
    assert _check(tmp_path, root, unseen_labels="keep").problems == ()


def test_dry_run_shows_usable_counts_and_exits_2_on_an_empty_split(tmp_path, capsys):
    root = _fsc(tmp_path / "fsc", test_audio="text")
    argv = ["run", "--profile", "smoke", "--dry-run", "--rows", "QUADS", "--datasets", "FSC"]
    argv += ["--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")]
    assert main([*argv, "--fsc-root", str(root)]) == 2
    out = capsys.readouterr().out
    assert "(listed: train 4, valid 2, test 2; usable: train 4, valid 2, test 0)" in out
    assert "FSC: the test split has no usable utterance" in out and "no problems" not in out


def test_an_empty_split_reaching_the_features_is_one_clear_error(tmp_path):
    root = _fsc(tmp_path / "fsc", test_audio="text")
    ws = Workspace(PROFILES["smoke"], DataChoice(roots={"fsc": str(root)}), tmp_path / "cache")
    empty = r"fsc: the test split in .* no usable"
    with (
        pytest.warns(UserWarning, match="unreadable"),
        pytest.raises(EmptySplitError, match=empty) as err,
    ):
        ws.features("FSC", "test")
    assert "2 listed with audio present, 2 unreadable" in str(err.value)
    assert len(ws.features("FSC", "train")) == 4


def test_disk_message_gives_real_numbers_when_little_is_free(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: usage(1, 1, 1000))
    exps = select("table1", ["QUADS"], ["FSC"])
    pf = preflight.check(exps, PROFILES["smoke"], DataChoice(), tmp_path, tmp_path / "c")
    [disk] = [p.what for p in pf.problems if "cache needs" in p.what]
    assert re.search(r"needs about \d+\.\d (MiB|GiB) .* has 1000 bytes free", disk), disk
    assert "0.0 GiB" not in disk
    assert preflight._size(3 * 2**20) == "3.0 MiB" and preflight._size(2048) == "2.0 KiB"


def test_slurp_record_without_recordings_is_counted(tmp_path):
    (tmp_path / "dataset" / "slurp").mkdir(parents=True)
    (tmp_path / "audio" / "slurp_real").mkdir(parents=True)
    sf.write(tmp_path / "audio" / "slurp_real" / "a.flac", np.zeros(800, np.float32) + 0.1, 16000)
    rec = {"slurp_id": 1, "sentence": "s", "scenario": "alarm", "action": "set"}
    for stem in ("train", "devel", "test"):
        lines = [{**rec, "recordings": [{"file": "a.flac"}] if stem == "train" else []}]
        lines.append({**rec, "slurp_id": 2, "recordings": []})
        text = "".join(json.dumps(r) + "\n" for r in lines)
        (tmp_path / "dataset" / "slurp" / f"{stem}.jsonl").write_text(text)
    corpus = load_slurp(tmp_path, index_dir=tmp_path / "idx")
    assert corpus.skipped == {"no recordings": 5} and len(corpus.utterances) == 1


def test_log_mel_shows_one_progress_bar_per_split(tmp_path, capsys):
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.wav"
        sf.write(p, np.full(800, 0.01 * (i + 1), np.float32), 16000)
        paths.append(Utterance(f"u{i}", str(p), "a", "s", "train"))
    corpus = make_corpus("toy", "FSC", False, paths)
    load_features(corpus, "train", 20, cache_dir=tmp_path / "c", progress=True)
    err = capsys.readouterr().err
    starts = re.findall(r"log-mel toy/train 20 frames:\s+0%\|[^|]*\| 0/(\d+)", err)
    assert starts == ["5"], err[:2000]
