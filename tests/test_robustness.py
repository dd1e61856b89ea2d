"""The robustness sweep (benchmark/robustness/): the claim's rule, flipped by its inputs; result
files; and the command end to end on the session's tiny corpus with a tiny trained QUADS row."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from test_resume import PROFILE, tiny_models
from tiny_whisper import write_library

import benchmark.run.runner as runner
from baselines.registry import MODELS
from baselines.weights import ENV_DIR
from benchmark.commands import run_and_render
from benchmark.data.corrupted_features import corrupted_path, load_corrupted
from benchmark.data.corruptions import CONDITIONS
from benchmark.metrics import accuracy, macro_f1, resample_counts
from benchmark.report.cells import Cell
from benchmark.report.claims import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURABLE
from benchmark.results.files import write_checked_json
from benchmark.robustness.claim import (
    CLAIM,
    absolute_drop,
    drop_cell,
    group_cell,
    learning_baselines,
    relative_drop,
    robustness_verdict,
)
from benchmark.robustness.results import (
    EQUAL,
    RobustnessResult,
    read_robustness,
    robustness_path,
    scan_robustness,
    write_robustness,
)
from benchmark.robustness.run import RobustnessOptions, run_robustness
from benchmark.rows import table1_experiments


def _drop(measured: float, half_width: float, values=(), chance=False, row="QUADS") -> Cell:
    return Cell(
        row=row,
        bits=4,
        dataset="FSC",
        corpus="synthetic-fsc",
        metric="f1_drop_relative",
        measured=measured,
        paper=None,
        note="",
        ci=(measured - half_width, measured + half_width),
        values=tuple(values),
        chance=chance,
    )


def _verdict(quads: Cell | None, base: Cell | None) -> str:
    drops = {} if quads is None else {(ds, b): quads for ds in ("SLURP", "FSC") for b in (4, 32)}
    bases = {} if base is None else {"SLURP": base, "FSC": base}
    v = robustness_verdict(drops, bases)
    assert v.claim == CLAIM
    return v.status


def test_the_rule_gives_each_verdict():
    base = _drop(5.0, 0.2, row="baselines")
    # QUADS loses as much as the baselines: held
    assert _verdict(_drop(5.5, 0.2), base) == HELD
    # QUADS loses 10 points more, far outside the noise: not held
    assert _verdict(_drop(15.0, 0.2), base) == NOT_HELD
    # 4 points more (limit 5), but the bootstrap interval is wide: inconclusive
    assert _verdict(_drop(9.0, 2.0), base) == INCONCLUSIVE
    # the same difference with the seed spread as the noise: inconclusive too
    assert _verdict(_drop(9.0, 0.0, values=(4.5, 9.0, 13.5)), base) == INCONCLUSIVE
    # ... and held once the difference is small and both are tight
    assert _verdict(_drop(6.0, 0.0, values=(6.0, 6.1, 5.9)), base) == HELD
    # both at chance on clean speech: inconclusive, whatever the numbers
    at_chance = replace(base, chance=True)
    assert _verdict(_drop(30.0, 0.1, chance=True), at_chance) == INCONCLUSIVE
    # no baseline or no QUADS measured: not measurable
    assert _verdict(_drop(5.0, 0.2), None) == NOT_MEASURABLE
    assert _verdict(None, base) == NOT_MEASURABLE


def _result(truth, clean, noisy, seed=0) -> RobustnessResult:
    exp = next(e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4)
    exp = replace(exp, dataset="FSC")
    preds = {"truth": truth, "clean": clean, "babble-0dB": noisy}
    return RobustnessResult(
        experiment=exp,
        profile="test",
        seed=seed,
        corpus="synthetic-fsc",
        snapshot={"path": "x.pt", "sha256": "0"},
        config={"conditions": {"babble-0dB": {}}, "table1_config": {"num_classes": 4}},
        clean_check={"status": EQUAL},
        metrics={
            k: {"accuracy": accuracy(truth, v), "f1": macro_f1(truth, v)}
            for k, v in preds.items()
            if k != "truth"
        },
        predictions=preds,
    )


def test_the_drop_cell_is_the_share_of_clean_f1_lost_with_a_paired_interval():
    rng = np.random.default_rng(0)
    truth = [int(x) for x in rng.integers(0, 4, 200)]
    noisy = [t if i % 3 else (t + 1) % 4 for i, t in enumerate(truth)]
    runs = [_result(truth, truth, noisy)]
    idx = resample_counts(range(200), 300, 1)  # (300, 200) draws of each recording
    cell, boot = drop_cell("QUADS", 4, "FSC", runs, ["babble-0dB"], idx)
    assert cell.measured == pytest.approx(100.0 - macro_f1(truth, noisy))  # clean F1 is 100
    assert cell.ci[0] < cell.measured < cell.ci[1] and boot.shape == (300,)
    assert not cell.chance
    # a row with half the clean F1 that loses the same F1 points has lost twice the share
    weak_clean = [t if i % 2 else (t + 2) % 4 for i, t in enumerate(truth)]
    weak_noisy = [p if i % 3 else (p + 1) % 4 for i, p in enumerate(weak_clean)]
    weak = _result(truth, weak_clean, weak_noisy)
    clean, noisy_f1 = macro_f1(truth, weak_clean), macro_f1(truth, weak_noisy)
    got, _ = drop_cell("QUADS", 4, "FSC", [weak], ["babble-0dB"], idx)
    assert got.measured == pytest.approx(100.0 * (clean - noisy_f1) / clean)
    assert got.measured > (clean - noisy_f1)
    assert absolute_drop([weak], ["babble-0dB"]) == pytest.approx(clean - noisy_f1)
    # a seed with no clean F1 has nothing to keep: no cell
    dead = _result(truth, [(t + 1) % 4 for t in truth], noisy)
    assert drop_cell("QUADS", 4, "FSC", [dead], ["babble-0dB"], idx) is None
    assert np.isnan(relative_drop(0.0, 0.0)) and relative_drop(50.0, 40.0) == pytest.approx(20.0)
    # a model that never changes its answer loses nothing, with a zero-width interval
    same, _ = drop_cell("QUADS", 4, "FSC", [_result(truth, noisy, noisy)], ["babble-0dB"], idx)
    assert same.measured == 0.0 and same.ci == (0.0, 0.0)


def _grouped(r: RobustnessResult, groups: list[int]) -> RobustnessResult:
    preds = {**r.predictions, "group": groups}
    return replace(r, predictions=preds, sentence_unit="transcription")


def test_the_paired_bootstrap_resamples_sentences_where_the_files_store_them():
    """Four recordings per sentence, right or wrong together under noise: drawing sentences
    shows the real noise of the drop, drawing recordings hides it; files without ids (older
    ones) draw recordings, exactly the draws the per-recording bootstrap made."""
    from benchmark.robustness.report import paired_counts, resampling, unit_line

    rng = np.random.default_rng(5)
    sentences, reps = 50, 4
    truth_s = rng.integers(0, 4, sentences)
    noisy_s = np.where(rng.random(sentences) < 0.6, truth_s, (truth_s + 1) % 4)
    truth = [int(x) for x in np.repeat(truth_s, reps)]
    noisy = [int(x) for x in np.repeat(noisy_s, reps)]
    groups = [int(x) for x in np.repeat(np.arange(sentences), reps)]
    plain = _result(truth, truth, noisy)
    grouped = _grouped(plain, groups)
    assert resampling([plain]) == ("recording", None)
    assert resampling([grouped]) == ("transcription", groups)
    assert resampling([grouped, plain]) == ("recording", None)  # not every file has the ids
    by_rec = np.random.default_rng(0).integers(0, len(truth), size=(1000, len(truth)))
    as_counts = np.stack([np.bincount(row, minlength=len(truth)) for row in by_rec])
    assert np.array_equal(paired_counts([plain]), as_counts)

    def width(run):
        cell, _ = drop_cell("QUADS", 4, "FSC", [run], ["babble-0dB"], paired_counts([run]))
        return cell.ci[1] - cell.ci[0]

    assert width(grouped) > 1.5 * width(plain)
    exp = grouped.experiment
    assert "FSC: sentence (same transcription" in unit_line({exp: [grouped]})
    assert "FSC: recording (the result files hold no sentence ids" in unit_line({exp: [plain]})


def test_a_result_file_round_trips_and_an_edit_is_refused(tmp_path):
    truth = [0, 1, 2, 1]
    r = _result(truth, truth, [0, 0, 2, 1])
    path = robustness_path(tmp_path, r.experiment, r.profile, r.seed)
    write_robustness(path, r)
    assert read_robustness(path, tmp_path) == r
    data = json.loads(path.read_text())
    data["metrics"]["clean"]["f1"] = 99.0
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="does not match its checksum"):
        read_robustness(path)
    write_robustness(path, r)
    moved = path.with_name(path.name.replace("seed0", "seed1"))
    path.rename(moved)
    with pytest.raises(ValueError, match="holds the run of"):
        read_robustness(moved, tmp_path)
    # sentence ids round-trip; ids without a unit, a unit without ids, or an unknown unit do not
    grouped = _grouped(r, [0, 1, 0, 2])
    write_robustness(path, grouped)
    assert read_robustness(path) == grouped and read_robustness(path).groups == [0, 1, 0, 2]
    for bad, match in (
        (replace(grouped, sentence_unit="recording"), "sentence ids"),
        (replace(r, sentence_unit="transcription"), "sentence ids"),
        (replace(grouped, sentence_unit="speaker"), "is not one of"),
    ):
        write_robustness(path, bad)
        with pytest.raises(ValueError, match=match):
            read_robustness(path)
    # a file written before the sentence ids (no "sentence_unit" key) reads as "recording"
    old = {k: v for k, v in json.loads(path.read_text()).items() if k != "sentence_unit"}
    old["predictions"].pop("group")
    write_checked_json(path, old)
    assert read_robustness(path).sentence_unit == "recording"


def test_seeds_of_another_configuration_are_listed_not_averaged(tmp_path):
    truth = [0, 1, 2, 1]
    seeds = [_result(truth, truth, [0, 0, 2, 1], seed=s) for s in (0, 1, 2)]
    # seed 2 scored under noise in fp32 while seeds 0 and 1 used bf16: another configuration
    seeds = [replace(r, config={**r.config, "precision": "bf16"}) for r in seeds[:2]] + [
        replace(seeds[2], config={**seeds[2].config, "precision": "fp32"})
    ]
    for r in seeds:
        write_robustness(robustness_path(tmp_path, r.experiment, r.profile, r.seed), r)
    kept, excluded = scan_robustness(tmp_path, "test")
    assert [r.seed for r in kept] == [0, 1]
    assert len(excluded) == 1 and "seed(s) 2: not averaged" in excluded[0]
    assert "precision" in excluded[0]  # the difference is named


CONDS = ("babble-0dB", "violet-5dB", "reverb-0.7s")


def _quads_table1(tmp_path, monkeypatch, corpora):
    """The tiny profile's QUADS rows of Table 1 on FSC (4 bit trains: snapshot + result file);
    returns (cache, out)."""
    library = write_library(
        tmp_path / "whisper", (MODELS["whisper-tiny"].pretrained, PROFILE.teacher)
    )
    monkeypatch.setenv(ENV_DIR, str(library))
    tiny_models(monkeypatch)
    cache, out = tmp_path / "cache", tmp_path / "out"
    cache.mkdir()
    (cache / "corpora").symlink_to(corpora)
    options = runner.RunOptions(
        profile=PROFILE, out_dir=out, rows=("QUADS",), datasets=("FSC",), cache_dir=cache
    )
    run_and_render("table1", options, log=lambda _: None)
    return cache, out


@pytest.mark.slow
def test_the_command_end_to_end(tmp_path, monkeypatch, tiny_fsc_corpora, one_torch_thread, capsys):
    cache, out = _quads_table1(tmp_path, monkeypatch, tiny_fsc_corpora)

    def sweep(conditions=CONDS):
        lines: list[str] = []
        opts = RobustnessOptions(
            PROFILE, out, ("FSC",), conditions, cache, reference_dir=tmp_path / "ref"
        )
        md, js = run_robustness(opts, log=lines.append)
        return md, js, lines

    md, js, lines = sweep()
    assert "1 (row, seed) runs with a snapshot" in lines[0]
    skipped = [x for x in lines if x.startswith("skipped: QUADS 32 bit FSC seed 0")]
    assert skipped and "re-run `quads-bench run --table table1` to make it" in skipped[0]
    assert "1 evaluated, 0 reused" in lines[-1]
    exp = next(
        e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4 and e.dataset == "FSC"
    )
    result = read_robustness(
        robustness_path(out / "results", exp, PROFILE.name, 0), out / "results"
    )
    assert result.clean_check["status"] == EQUAL  # the snapshot is the row's evaluated model
    # the sentence ids of the row's Table 1 result file: the same resampling unit
    t1 = json.loads(Path(result.clean_check["table1_result"]).read_text())
    assert result.groups == t1["predictions"]["group"]
    assert result.sentence_unit == t1["data"]["sentence_unit"] != "recording"
    assert sorted(result.metrics) == sorted(["clean", *CONDS])
    text = md.read_text()
    assert "ours (not in the paper)" in text and "synthetic stand-in corpora" in text
    assert "QUADS keeps its accuracy under noise as well as the baselines do" in text
    assert "not measurable" in text  # no baseline trained here
    assert "- Bootstrap resampling unit: FSC: sentence" in text
    assert (out / "robustness.png").exists()
    data = json.loads(js.read_text())
    assert {c["condition"] for c in data["cells"]} == {"clean", *CONDS}

    # again: nothing recomputed, the same report bytes and figure bytes
    before = (md.read_bytes(), (out / "robustness.png").read_bytes())
    md2, _, lines = sweep()
    assert "0 evaluated, 1 reused" in lines[-1]
    assert (md2.read_bytes(), (out / "robustness.png").read_bytes()) == before

    # a damaged corrupted-feature file is named, rebuilt, and gives the same features
    corpus_dir = next((cache / "robustness").iterdir())
    damaged = next(corpus_dir.rglob("babble-0dB.mel.pt"))
    good = damaged.read_bytes()
    damaged.write_bytes(good[: len(good) // 2])
    (out / "results" / PROFILE.name / "robustness" / "fsc").joinpath(
        f"{exp.slug}-seed0.json"
    ).unlink()
    _, _, lines = sweep()
    assert "1 evaluated" in lines[-1]
    assert "cached corrupted features" in capsys.readouterr().err
    assert (
        read_robustness(robustness_path(out / "results", exp, PROFILE.name, 0)).predictions
        == result.predictions
    )

    with pytest.raises(ValueError, match="unknown condition 'pink-5dB'"):
        sweep(("pink-5dB",))
    with pytest.raises(ValueError, match="--as-reference writes into"):
        run_robustness(
            RobustnessOptions(PROFILE, out, as_reference=True, reference_dir=tmp_path / "ref")
        )


def test_corrupted_features_are_deterministic_and_keyed_by_condition(tmp_path, tiny_fsc_corpora):
    from helpers import TINY_FSC

    from benchmark.data.corpora import get_corpus

    corpus = get_corpus("synthetic-fsc", cache_dir=tiny_fsc_corpora, config=TINY_FSC)
    uids = [u.uid for u in corpus.split("test")]
    conds = [CONDITIONS["blue-0dB"], CONDITIONS["reverb-0.3s"]]
    a = load_corrupted(
        corpus, "test", uids, 40, conds, ("mel", "prosody"), tmp_path / "a", progress=False
    )
    b = load_corrupted(corpus, "test", uids, 40, conds, ("mel",), tmp_path / "b", progress=False)
    assert a[("blue-0dB", "mel")].values.shape == (len(uids), 80, 40)
    assert a[("reverb-0.3s", "prosody")].values.shape == (len(uids), 6, 40)
    assert all(a[k].values.equal(b[k].values) for k in b)
    assert not a[("blue-0dB", "mel")].values.equal(a[("reverb-0.3s", "mel")].values)
    again = load_corrupted(
        corpus, "test", uids, 40, conds, ("mel",), tmp_path / "a", progress=False
    )
    assert all(v.from_cache and v.values.equal(a[k].values) for k, v in again.items())
    path = corrupted_path(tmp_path / "a", corpus, "test", 40, uids, conds[0], "mel")
    assert path.exists() and path.parent.name.startswith("test-f40-v1-")
    with pytest.raises(ValueError, match="unknown inputs"):
        load_corrupted(corpus, "test", uids, 40, conds, ("spectrum",), tmp_path / "c")


def test_the_plan_counts_efficiency_only_rows_and_names_what_is_missing(tmp_path):
    from benchmark.results.files import Result, result_path, write_result
    from benchmark.results.identity import artefact_path
    from benchmark.robustness.results import robustness_path
    from benchmark.robustness.sweep import is_claim_row, plan, priority

    profile = replace(PROFILE, seeds=(0, 1), efficiency_only={"ctl": "too slow here"})
    cache, results, table1 = tmp_path / "cache", tmp_path / "out" / "results", tmp_path / "t1"
    exps = {(e.row, e.bits): e for e in table1_experiments() if e.dataset == "FSC"}
    q4, large = exps[("QUADS", 4)], exps[("Whisper (large)", 32)]
    config = {"identity": {"precision": "fp32"}, "num_classes": 2}

    def trained(exp, seed):
        metrics = {"accuracy": 50.0, "f1": 100 / 3}  # those of the predictions below
        preds = {"truth": [0, 1], "pred": [0, 0]}
        r = Result(exp, profile.name, seed, "synthetic-fsc", metrics, config=config)
        write_result(result_path(table1, exp, profile.name, seed), replace(r, predictions=preds))

    for exp, seed in ((q4, 1), (q4, 0), (exps[("PTQ control (ours)", 4)], 0)):
        trained(exp, seed)
        snap = artefact_path(cache, "snapshot", profile.name, exp, seed, config)
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_bytes(b"x")
    trained(exps[("QUADS", 32)], 0)  # a Table 1 result whose snapshot is gone
    missing = artefact_path(cache, "snapshot", profile.name, exps[("QUADS", 32)], 0, config)
    write_result(
        result_path(table1, large, profile.name, 0),
        Result(large, profile.name, 0, "synthetic-fsc", {}, {"f1": "weights not available"}),
    )
    got = plan(profile, ("FSC",), cache, results, table1)
    assert got.efficiency_only == 2  # CTL_pt and CTL on FSC
    assert [(j.exp.row, j.exp.bits, j.seed) for j in sorted(got.jobs, key=priority)] == [
        ("QUADS", 4, 0),
        ("PTQ control (ours)", 4, 0),
        ("QUADS", 4, 1),
    ]
    lines = "\n".join(got.skipped)
    assert "Whisper (large) 32 bit FSC seed 0: not trained: weights not available" in lines
    assert f"QUADS 32 bit FSC seed 0: no snapshot {missing}" in lines
    # what the report lists comes from the result files alone: the same reason with the snapshot
    # there or not, naming no cache path (so the report re-renders the same on any machine)
    reasons = {why.split(":")[0]: why for _, why in got.unevaluated}
    assert (
        "`quads-bench robustness --retrain` trains that run again"
        in reasons["QUADS 32 bit FSC seed 0"]
    )
    assert reasons["QUADS 4 bit FSC seed 0"].startswith("QUADS 4 bit FSC seed 0: no robustness")
    assert str(cache) not in "\n".join(reasons.values())
    assert "not trained: weights not available" in reasons["Whisper (large) 32 bit FSC seed 0"]
    # the default policy evaluates one seed of rows the claim does not read; "all" every seed
    assert got.left_out == sum(
        len(profile.seeds_for(e)) - 1
        for e in exps.values()
        if not profile.untrained_reason(e) and not is_claim_row(e)
    )
    assert got.left_out > 0 and "PTQ control (ours) 4 bit FSC seed 1" not in lines
    every = plan(profile, ("FSC",), cache, results, table1, seeds="all")
    assert every.left_out == 0
    assert "PTQ control (ours) 4 bit FSC seed 1: no usable Table 1 result" in "\n".join(
        every.skipped
    )
    with pytest.raises(ValueError, match="unknown seed policy 'some'"):
        plan(profile, ("FSC",), cache, results, table1, seeds="some")
    # an earlier sweep's result file of the run whose snapshot is gone: not skipped, so the
    # report's counts are those of the result files, whatever this machine's cache holds
    kept = robustness_path(results, exps[("QUADS", 32)], profile.name, 0)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text("{}")
    again = plan(profile, ("FSC",), cache, results, table1)
    assert "QUADS 32 bit FSC seed 0" not in "\n".join(again.skipped)
    assert len(again.skipped) == len(got.skipped) - 1 and len(again.jobs) == len(got.jobs)


def test_a_baseline_at_chance_is_left_out_of_the_baselines_mean_drop():
    learning = (_drop(7.0, 0.3, row="Prosody + Distillation"), np.full(4, 7.0))
    at_chance = (_drop(0.0, 0.3, row="Prosody", chance=True), np.zeros(4))
    kept, left_out = learning_baselines([learning, at_chance])
    assert [c.row for c, _ in kept] == ["Prosody + Distillation"] and left_out == ["Prosody"]
    base = group_cell(kept, left_out, "FSC")
    assert base.measured == 7.0 and base.note.endswith("left out at chance: Prosody")
    quads = _drop(11.0, 0.3)
    assert _verdict(quads, base) == HELD  # 11 vs 7: within the limit of 5
    # averaged with the chance baseline's empty drop, the same QUADS row would fail the claim
    assert _verdict(quads, group_cell([learning, at_chance], [], "FSC")) == NOT_HELD
    # every baseline at chance: all are kept (the verdict then reads "both at chance")
    kept, left_out = learning_baselines([at_chance])
    assert [c.row for c, _ in kept] == ["Prosody"] and left_out == []


@pytest.mark.slow
def test_retrain_remakes_a_lost_snapshot_and_leaves_the_result_files(
    tmp_path, monkeypatch, tiny_fsc_corpora, one_torch_thread
):
    import dataclasses
    import hashlib

    cache, out = _quads_table1(tmp_path, monkeypatch, tiny_fsc_corpora)
    t1 = {p: hashlib.sha256(p.read_bytes()).digest() for p in (out / "results").rglob("*.json")}
    (snapshot,) = (cache / "runs" / "evaluated").rglob("*.pt")
    snapshot.unlink()  # the cache lost it

    def sweep(profile=PROFILE, retrain=True):
        lines: list[str] = []
        opts = RobustnessOptions(
            profile,
            out,
            ("FSC",),
            CONDS[:1],
            cache,
            reference_dir=tmp_path / "ref",
            retrain=retrain,
        )
        run_robustness(opts, log=lines.append)
        return lines

    lines = sweep(retrain=False)
    assert "0 (row, seed) runs with a snapshot" in lines[0]
    # another configuration (here: another alpha) is not retrained, and the line says why
    lines = sweep(dataclasses.replace(PROFILE, alpha=PROFILE.alpha / 2))
    assert any("not retrained" in x and "alpha" in x for x in lines) and not snapshot.exists()

    lines = sweep()
    assert any(x.startswith("retrain: 1/1 QUADS 4 bit FSC seed 0") for x in lines)
    assert snapshot.exists() and "1 evaluated" in lines[-1]
    exp = next(
        e for e in table1_experiments() if e.row == "QUADS" and e.bits == 4 and e.dataset == "FSC"
    )
    result = read_robustness(robustness_path(out / "results", exp, PROFILE.name, 0))
    assert result.clean_check["status"] == EQUAL  # the retrained snapshot is the file's model
    # the Table 1 result files are the ones written before
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in t1} == t1
