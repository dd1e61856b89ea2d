"""The real-data path end to end, on real-layout copies of tiny synthetic corpora.

``quads-bench export-corpus`` writes the synthetic corpora in FSC's and SLURP's official layouts
(with listed-but-missing files); the real loaders, the feature cache, teacher features, training,
export and the SLURP predictions file then run on them through the command line: in the ``cpu``
profile (a root makes a dataset run on the real corpus in any profile), and in a shortened
``paper`` profile (40-frame inputs, one epoch per phase, teacher ``base`` via ``--teacher``,
two seeds, features read lazily from disk as at paper scale). The Whisper encoders are tiny
random-weight stand-ins (``tiny_whisper``) so the whole file takes seconds.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from helpers import TINY_CLEAN_FSC
from tiny_whisper import write_library

import benchmark.data.features as features
from benchmark.cli import main
from benchmark.data.corpora import get_corpus
from benchmark.data.fsc import load_fsc
from benchmark.data.slurp import load_slurp
from benchmark.profiles import PROFILES
from quads.mct import Budget

TINY = {
    "synthetic-fsc": TINY_CLEAN_FSC,
    # the same tiny clean layout with 3 SLURP intents
    "synthetic-slurp": dataclasses.replace(
        TINY_CLEAN_FSC, kind="slurp", intents=("alarm_set", "iot_hue_lightoff", "weather_query")
    ),
}
MISSING, HEADSET_EVERY = 2, 3


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Both tiny synthetic corpora, generated once and exported in the official layouts."""
    root = tmp_path_factory.mktemp("real-layout")
    cache = root / "cache"
    out = {}
    for layout in ("fsc", "slurp"):
        name = f"synthetic-{layout}"
        out[f"{layout}-synthetic"] = get_corpus(
            name, cache_dir=cache / "corpora", config=TINY[name], progress=False
        )
        mp = pytest.MonkeyPatch()
        mp.setitem(PROFILES, "cpu", dataclasses.replace(PROFILES["cpu"], synthetic=TINY))
        code = main(
            [
                "export-corpus",
                "--layout",
                layout,
                "--out",
                str(root / layout),
                "--cache-dir",
                str(cache),
                "--missing",
                str(MISSING),
                "--headset-every",
                str(HEADSET_EVERY),
            ]
        )
        mp.undo()
        assert code == 0
        out[layout] = root / layout
    out["library"] = write_library(root / "whisper", ("tiny.en", "base"))
    return out


def test_the_real_loaders_read_the_copies(exported):
    synthetic = exported["fsc-synthetic"]
    fsc = load_fsc(exported["fsc"])
    assert fsc.counts() == synthetic.counts() and fsc.intents == synthetic.intents
    assert fsc.skipped == {"missing audio": 3 * MISSING}
    assert sorted(u.text for u in fsc.utterances) == sorted(u.text for u in synthetic.utterances)
    assert (
        (exported["fsc"] / "data" / "train_data.csv")
        .read_text()
        .startswith(",path,speakerId,transcription,action,object,location\n")
    )

    synthetic = exported["slurp-synthetic"]
    every = load_slurp(exported["slurp"])
    farfield = load_slurp(exported["slurp"], headset=False)
    close = load_slurp(exported["slurp"], headset="only", unseen_labels="keep")
    assert farfield.counts() == synthetic.counts() and farfield.intents == synthetic.intents
    n_close = len(close.utterances)
    assert n_close == len(synthetic.utterances) // HEADSET_EVERY
    assert len(every.utterances) == len(synthetic.utterances) + n_close
    assert every.skipped == {"missing audio": 3 * MISSING}
    assert farfield.skipped == {"headset filtered": n_close, "missing audio": 3 * MISSING}
    assert all(u.recording.endswith("-headset.flac") for u in close.utterances)


def test_export_refuses_a_folder_in_use(exported, capsys):
    argv = ["export-corpus", "--layout", "fsc", "--out", str(exported["fsc"])]
    assert main(argv) == 2
    assert f"--out {exported['fsc']} exists and is not an empty folder" in capsys.readouterr().err
    assert (exported["fsc"] / "data" / "train_data.csv").is_file()  # left as it was


def _tiny_profile(monkeypatch, name: str, **changes) -> None:
    monkeypatch.setitem(
        PROFILES,
        name,
        dataclasses.replace(
            PROFILES[name], n_frames=40, measure_energy=False, batch_size=4, **changes
        ),
    )


def _results(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "results").rglob("*.json"))]


@pytest.mark.slow
def test_cpu_profile_trains_on_real_layout_copies(
    exported, tmp_path, monkeypatch, capsys, tiny_training
):
    tiny_training(exported["library"])
    _tiny_profile(monkeypatch, "cpu")
    out, cache = tmp_path / "reports", tmp_path / "cache"
    argv = ["run", "--table", "table1", "--profile", "cpu", "--rows", "QUADS", "--seeds", "0"]
    argv += ["--fsc-root", str(exported["fsc"]), "--slurp-root", str(exported["slurp"])]
    assert main([*argv, "--out", str(out), "--cache-dir", str(cache)]) == 0

    results = _results(out)
    assert len(results) == 4  # QUADS 32 and 4 bit x FSC, SLURP
    for r in results:
        real = r["experiment"]["dataset"].lower()
        assert r["corpus"] == real
        assert r["config"]["profile"]["corpora"][r["experiment"]["dataset"]] == real
        assert r["metrics"]["accuracy"] is not None
        assert r["data"]["skipped"]["missing audio"] == 3 * MISSING
        assert list((cache / "features").glob(f"{real}-*/test-f40-v1/meta.json"))
        if r["experiment"]["bits"] == 4:
            assert Path(r["artifacts"]["model"]).is_file()
        # the bootstrap's unit: SLURP sentences by slurp_id, FSC phrasings by transcription
        groups = r["predictions"]["group"]
        assert len(groups) == len(r["predictions"]["truth"])
        assert r["data"]["sentence_unit"] == {"slurp": "source_id", "fsc": "transcription"}[real]
        if real == "slurp":
            test = load_slurp(exported["slurp"]).split("test")
            assert len(set(groups)) == len({u.source_id for u in test}) < len(groups)
        if real == "slurp":  # the official scorer's format, one line per test recording
            lines = Path(r["artifacts"]["slurp_predictions"]).read_text().splitlines()
            assert len(lines) == len(r["predictions"]["pred"])
            assert {json.loads(line)["file"] for line in lines} == {
                u.recording for u in load_slurp(exported["slurp"]).split("test")
            }
    header = (out / "table1.md").read_text()
    assert "corpora: `fsc`, `slurp`" in header
    # each trained run keeps the model it was scored with (benchmark/run/snapshot.py)
    assert len(list((cache / "runs" / "evaluated" / "cpu").glob("*.pt"))) == 4

    # the dry run reads the corpora and the result files: nothing left to do, one more seed is
    capsys.readouterr()
    assert main([*argv, "--out", str(out), "--cache-dir", str(cache), "--dry-run"]) == 0
    assert "runs: 0 to do, 4 complete results reused" in capsys.readouterr().out
    assert (
        main([*argv, "--seeds", "1", "--out", str(out), "--cache-dir", str(cache), "--dry-run"])
        == 0
    )
    assert "runs: 4 to do, 4 complete results reused" in capsys.readouterr().out


@pytest.mark.slow
def test_shortened_paper_run_goes_through_every_step(
    exported, tmp_path, monkeypatch, capsys, tiny_training
):
    tiny_training(exported["library"], offline=True)  # tiny.en and base, no large-v2
    for env in ("QUADS_FSC_ROOT", "QUADS_SLURP_ROOT"):
        monkeypatch.delenv(env, raising=False)
    paper = PROFILES["paper"]
    one = dict(distill_optim=paper.budget.distill_optim, quant_optim=paper.budget.quant_optim)
    _tiny_profile(
        monkeypatch,
        "paper",
        seeds=(0, 1),
        baseline_seeds=(0, 1),
        finetune_epochs=1,
        budget=Budget(  # one epoch per phase: D1, Q1, D1, Q1, final Q1
            distill_epochs=2, mct_iterations=2, quant_per_iteration=1, final_epochs=1, **one
        ),
    )
    lazy: list = []
    read = features._read
    # at paper scale the splits do not fit in memory: read every split lazily from disk, as there
    monkeypatch.setattr(features, "_read", lambda *a: (lazy.append(fs := read(*a[:5], 0)), fs)[1])
    out, cache = tmp_path / "reports", tmp_path / "cache"
    argv = ["run", "--table", "table1", "--profile", "paper", "--out", str(out)]
    argv += ["--cache-dir", str(cache), "--rows", "QUADS", "PTQ control (ours)", "Whisper (base)"]

    # no roots, no large-v2: one message with every problem and its fix, nothing done
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot start (3 problem(s))" in err, err
    for fix in ("pass --fsc-root DIR", "pass --slurp-root DIR", "pass --teacher base"):
        assert fix in err, err
    assert not cache.exists() and not out.exists()

    roots = ["--fsc-root", str(exported["fsc"]), "--slurp-root", str(exported["slurp"])]
    assert main([*argv, *roots, "--teacher", "base"]) == 0
    results = _results(out)
    # (QUADS 32 + 4, PTQ 4, Whisper base) x 2 datasets x 2 seeds
    assert len(results) == 16 and {r["seed"] for r in results} == {0, 1}
    assert lazy and all(isinstance(fs.mel, features.LazyMel) for fs in lazy)
    for r in results:
        assert r["config"]["profile"]["teacher"] == "base"
        assert r["config"]["profile"]["precision"] == "fp32"
        assert r["metrics"]["accuracy"] is not None, r["notes"]
        if r["experiment"]["dataset"] == "SLURP":
            assert Path(r["artifacts"]["slurp_predictions"]).is_file()
        if r["experiment"]["row"] == "QUADS" and r["experiment"]["bits"] == 4:
            kinds = [p["kind"] for p in r["training"]["phases"]]
            assert "distill" in kinds and "quantize" in kinds, kinds
            assert len(r["training"]["history"]) == sum(
                p["epochs"] for p in r["training"]["phases"]
            )
    assert list((cache / "teacher").glob("base-*.pt"))
