"""Preflight: every problem of a run listed at once, with its fix, before anything is done."""

from collections import namedtuple

import pytest

import benchmark.run.preflight as preflight
from benchmark.cli import main
from benchmark.profiles import PROFILES
from benchmark.run.data_choice import DataChoice
from benchmark.run.plan import select


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # no hub probe: these tests are about files


def test_every_problem_is_listed_with_its_fix(tmp_path, monkeypatch):
    fsc = tmp_path / "fsc"
    (fsc / "data").mkdir(parents=True)
    (fsc / "data" / "train_data.csv").write_text(
        ",path,speakerId,transcription,action,object,location\n"
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: usage(1, 1, 1000))
    exps = select("table1", ["QUADS"], ["FSC", "SLURP"])
    choice = DataChoice(roots={"fsc": str(fsc)}, slurp_headset="farfield")
    smoke = PROFILES["smoke"]
    pf = preflight.check(exps, smoke, choice, blocker / "reports", tmp_path / "cache")
    with pytest.raises(preflight.PreflightError) as err:
        preflight.require(pf)
    message = str(err.value)
    for expected in (
        f"output folder {blocker / 'reports'} cannot be written",
        f"FSC manifest {fsc / 'data' / 'valid_data.csv'} is missing",
        f"FSC manifest {fsc / 'data' / 'test_data.csv'} is missing",
        f"FSC audio folder {fsc / 'wavs'} is missing",
        "--slurp-headset applies to real SLURP",
        "the cache needs about",
        "fix: free space, pass --cache-dir on a larger disk, or try --subset N first",
    ):
        assert expected in message, message
    assert message.count("fix:") == len(pf.problems) == 6


def test_disk_need_follows_the_input_length_and_subset(tmp_path):
    exps = select("table1", ["QUADS"], ["FSC"])
    cpu, paper_frames = PROFILES["cpu"], PROFILES["paper"].n_frames
    need = {}
    for frames, subset in ((cpu.n_frames, None), (paper_frames, None), (paper_frames, 10)):
        profile = cpu.__class__(**{**cpu.__dict__, "n_frames": frames})
        pf = preflight.check(exps, profile, DataChoice(subset=subset), tmp_path, tmp_path / "c")
        need[(frames, subset)] = pf.data[0].disk_bytes
    # an empty cache: the synthetic corpus to generate, then 80 x frames float16 per utterance
    audio = (620 + 186 + 372) * preflight.SYNTH_BYTES_PER_UTT
    teacher = 620 * preflight.TEACHER_BYTES
    assert need[(300, None)] == audio + teacher + (620 + 186 + 372) * 80 * 300 * 2
    assert need[(3000, None)] == audio + teacher + (620 + 186 + 372) * 80 * 3000 * 2
    assert need[(3000, 10)] == audio + 10 * preflight.TEACHER_BYTES + 30 * 80 * 3000 * 2


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["run", "--profile", "smoke", "--dry-run", "--out", str(out), "--cache-dir", str(cache)]
    assert main([*argv, "--rows", "QUADS", "Whisper (base)"]) == 0
    text = capsys.readouterr().out
    assert "plan for table1, profile smoke (200 frames per input)" in text
    assert "runs: 10 to do, 0 complete results reused" in text  # (QUADS x 4 bits + base) x 2
    assert (
        "weights base (teacher): " in text
        and "disk: about" in text
        and "time estimate: about" in text
    )
    assert "preflight: no problems" in text
    # a row whose weights are missing: a notice when it comes with the table, a problem when asked
    assert main(argv) == 0
    assert "not trained, reported as not measured: Whisper (large)" in capsys.readouterr().out
    assert main([*argv, "--rows", "Whisper (large)"]) == 2
    assert "weights of Whisper large-v2 not found, needed by Whisper (large)" in (
        capsys.readouterr().out
    )
    assert not out.exists() and not cache.exists()
