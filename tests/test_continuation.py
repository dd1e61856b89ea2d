"""`quads-bench continue`: a finished run trained past its budget from its cached final state,
validation only; the budget is never trained again and the result files never change."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
from test_resume import PROFILE, run, tiny_setup

import quads.engine
from benchmark.continuation import continue_runs, extended, judge
from benchmark.data.cache import CACHE_ENV
from benchmark.run.data_choice import DataChoice
from benchmark.run.workspace import Workspace
from quads.mct import mct


def test_the_extension_repeats_the_last_phase_and_the_rule_uses_the_noise():
    s = mct(bits=4, iterations=2, distill_epochs=1, quant_epochs=1, final_epochs=1)
    e = extended(s, 3)
    assert e.phases[: len(s.phases)] == s.phases and e.bits == 4
    assert e.phases[-1].epochs == 3 and e.phases[-1].frozen == s.phases[-1].frozen
    # noise of 50 % on 100 utterances: 5 points
    assert judge([40.0, 50.0], [54.0], 100)["climbing"] is False
    assert judge([40.0, 50.0], [56.0], 100) == {
        "budget_best": 50.0,
        "continued": [56.0],
        "gain": 6.0,
        "noise": 5.0,
        "climbing": True,
    }


def _two_more_epochs(profile, cache, out, report, **options):
    """``continue_runs``: every trained Table 1 run of ``out``'s result files, 2 epochs past its
    budget, from ``cache``; the report into ``report``. Returns its (Markdown, JSON) paths."""
    ws = Workspace(profile, DataChoice(), cache)
    return continue_runs(
        profile,
        "table1",
        ws,
        out / "results",
        report,
        2,
        every_run=True,
        log=lambda line: None,
        **options,
    )


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.json")}


@pytest.mark.slow
def test_a_run_continues_from_its_cached_state_and_its_result_file_stays(
    tmp_path, monkeypatch, tiny_fsc_corpora, one_torch_thread
):
    tiny_setup(tmp_path, monkeypatch, tiny_fsc_corpora, ("cache", "other-cache"))
    out, cache, empty = tmp_path / "run", tmp_path / "cache", tmp_path / "other-cache"
    monkeypatch.setenv(CACHE_ENV, str(cache))
    run(out, cache, log=lambda line: None)  # QUADS 4 bit, FSC, seed 0: D4 + Q3
    before = _digest(out / "results")

    epochs_trained, interrupt_at = [], {9}
    train_epoch = quads.engine.train_epoch

    def counting(*args, **kwargs):
        if args[7] in interrupt_at:  # the global epoch number
            interrupt_at.clear()
            raise KeyboardInterrupt
        epochs_trained.append(args[7])
        return train_epoch(*args, **kwargs)

    monkeypatch.setattr(quads.engine, "train_epoch", counting)

    def continued(folder, profile=PROFILE, retrain=False, report="report"):
        """2 epochs past the budget of every trained run, from the cache ``folder``, reported
        into ``tmp_path / report``."""
        md, js = _two_more_epochs(profile, folder, out, tmp_path / report, retrain=retrain)
        return md.read_text(), [
            {k: v for k, v in e.items() if k not in ("seconds", "made")}
            for e in json.loads(js.read_text())["runs"]
        ]

    # interrupted in its second continued epoch: the report lists the run as still to do, and
    # the same command resumes at that epoch (its checkpoint), not at the continued phase's start
    with pytest.raises(KeyboardInterrupt):
        continued(cache, report="from-cache")
    assert epochs_trained == [8]  # only the epochs past the budget's 7
    assert "**In progress**: 1 runs" in (tmp_path / "from-cache/continuation-table1.md").read_text()
    text, from_cache = continued(cache, report="from-cache")
    assert epochs_trained == [8, 9]
    assert "| QUADS | 4 | pretrained | MCT | FSC | 0 |" in text
    assert re.search(r"Datasets: all; seeds: all\. [01] of 1 continued runs were still", text)
    assert "In progress" not in text
    assert _digest(out / "results") == before

    # the same command again resumes its report: the finished run is kept, not continued again
    # (even from a cache that lost its state)
    epochs_trained.clear()
    again, runs = continued(empty, report="from-cache")
    assert epochs_trained == [] and runs == from_cache
    assert again.split("Made by:")[0] == text.split("Made by:")[0]
    # another study in that folder (another number of epochs) is refused, naming the file
    with pytest.raises(ValueError, match=r"continuation-table1\.json holds another continuation"):
        continue_runs(
            PROFILE,
            "table1",
            Workspace(PROFILE, DataChoice(), cache),
            out / "results",
            tmp_path / "from-cache",
            3,
            every_run=True,
            log=lambda line: None,
        )

    # another cache holds no final state: skipped with the reason, nothing retrained
    epochs_trained.clear()
    text, runs = continued(empty)
    assert epochs_trained == [] and runs == []
    assert "its final state is not in the prefix cache" in text

    # --retrain: a run of another configuration than the result file's is not trained at all
    text, runs = continued(empty, dataclasses.replace(PROFILE, alpha=PROFILE.alpha / 2), True)
    assert epochs_trained == [] and runs == []
    assert "would be another configuration than its result file" in text and "alpha" in text

    # --retrain with the same configuration: the budget again (checked against the result
    # file's curve), then the same 2 epochs past it as from the cached state
    _, runs = continued(empty, retrain=True)
    assert epochs_trained == list(range(1, 10))
    assert runs == from_cache and len(runs) == 1
    assert _digest(out / "results") == before


def test_a_report_in_progress_lists_its_pending_runs_and_merges_selections(tmp_path):
    from benchmark.continuation import continuation_lines
    from benchmark.continuation_file import earlier_provenances, earlier_report, selection_union

    payload = {"profile": "p", "table": "table2", "epochs": 19, "twin": {"precision": "fp32"}}
    payload |= {"datasets": "all", "seeds": [0], "runs": [], "skipped": [], "provenance": {}}
    text = "\n".join(continuation_lines(payload | {"pending": ["QUADS 8 bit seed 1"]}))
    assert "**In progress**: 1 runs still to continue" in text and "- QUADS 8 bit seed 1" in text
    assert "In progress" not in "\n".join(continuation_lines(payload))

    path = tmp_path / "continuation-table2.json"
    settings = {k: payload[k] for k in ("profile", "table", "epochs", "twin")}
    assert earlier_report(path, settings) is None  # nothing to resume
    path.write_text(json.dumps(payload))
    assert earlier_report(path, settings) == payload
    with pytest.raises(ValueError, match=r"table2\.json holds another continuation \(epochs: 19"):
        earlier_report(path, settings | {"epochs": 3})
    with pytest.raises(ValueError, match="twin: .*'fp32'.* there, None here"):
        earlier_report(path, settings | {"twin": None})
    path.write_text("{")
    with pytest.raises(ValueError, match="continuation-table2.json: not valid JSON"):
        earlier_report(path, settings)
    assert selection_union([0], [2, 1]) == [0, 1, 2] and selection_union([0], "all") == "all"
    # entries kept from another commit's invocation name it; the same commit on another date not
    old, new = {"commit": "a", "date": "d1"}, {"commit": "b", "date": "d2"}
    assert earlier_provenances({"provenance": old}, new) == [old]
    assert earlier_provenances({"provenance": old}, dict(old, date="d3")) == []
    assert earlier_provenances({"provenance": new, "earlier_provenance": [old]}, new) == [old]
    text = "\n".join(continuation_lines(payload | {"earlier_provenance": [old]}))
    assert 'Earlier runs kept here made by: {"commit": "a", "date": "d1"}' in text


def test_past_three_epochs_the_rule_asks_whether_the_continued_curve_still_rises():
    # 5 epochs: the last 3 (60, 60, 61) against the best before them (58): +3 < noise 4.9
    long = judge([40.0, 50.0], [54.0, 58.0, 60.0, 60.0, 61.0], 100)
    assert long["gain"] == 3.0 and long["climbing"] is False and long["budget_best"] == 50.0
    # 3 epochs: the continued epochs against the budget's best (50): +10 > noise 5
    assert judge([40.0, 50.0], [54.0, 58.0, 60.0], 100)["climbing"] is True


def test_still_climbing_continues_only_the_runs_a_recorded_check_did_not_level_off():
    from test_climbing import RISING, D, F, _entry, _quads, _run

    from benchmark.continuation import to_continue
    from benchmark.report.continued import attach

    flagged = _run(_quads(32), RISING, [D, F, D, F, F])  # float curve climbs at the budget's end
    flat = _run(_quads(32), [(1, 60.0), (2, 61.0), (3, 60.0), (4, 61.0), (5, 60.5)], [D] * 5)
    assert to_continue(flagged, every_run=False, after_check=False) == ["float"]
    assert to_continue(flat, every_run=False, after_check=False) is None
    assert to_continue(flat, every_run=True, after_check=False) == []
    (levelled,), _ = attach([flagged], [_entry(climbing=False)])
    (rising,), _ = attach([flagged], [_entry(climbing=True)])
    assert to_continue(levelled, every_run=False, after_check=True) is None
    assert to_continue(rising, every_run=False, after_check=True) == ["float"]
    # a flagged run the check did not reach is still flagged: continued
    assert to_continue(flagged, every_run=False, after_check=True) == ["float"]


@pytest.mark.slow
def test_a_twin_in_the_other_precision_is_trained_continued_and_labelled(
    tmp_path, monkeypatch, tiny_fsc_corpora, one_torch_thread
):
    from benchmark.report.continued import load_continued
    from benchmark.results.files import scan_results

    tiny_setup(tmp_path, monkeypatch, tiny_fsc_corpora, ("cache", "twin-cache"))
    out, twin_cache = tmp_path / "run", tmp_path / "twin-cache"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    run(out, tmp_path / "cache", log=lambda line: None)  # QUADS 4 bit, FSC, seed 0: D4 + Q3
    before = _digest(out / "results")
    (r,) = scan_results(out / "results", PROFILE.name, "table1").results
    made_in = r.config["identity"]["precision"]
    other = "fp32" if made_in == "bf16" else "bf16"

    def twins(profile, folder):
        return _two_more_epochs(profile, twin_cache, out, folder, retrain=True, twin=True)[1]

    # without --twin, a run in the other precision is skipped, and the reason names --twin
    skipped = json.loads(
        _two_more_epochs(
            dataclasses.replace(PROFILE, precision=other),
            twin_cache,
            out,
            tmp_path / "b",
            retrain=True,
        )[1].read_text()
    )["skipped"]
    assert len(skipped) == 1 and f"precision: {made_in} -> {other}" in skipped[0]
    assert f"`--twin {other}` continues a twin in {other} instead" in skipped[0]

    # a twin may differ from its result file in the precision alone
    js = twins(
        dataclasses.replace(PROFILE, precision=other, alpha=PROFILE.alpha / 2), tmp_path / "a"
    )
    payload = json.loads(js.read_text())
    assert payload["runs"] == [] and "more than the precision" in payload["skipped"][0]

    js = twins(dataclasses.replace(PROFILE, precision=other), tmp_path / "twin")
    payload = json.loads(js.read_text())
    (entry,) = payload["runs"]
    assert payload["twin"] == {"precision": other} and entry["file_precision"] == made_in
    assert len(entry["budget_curve"]) == 3 and len(entry["continued"]) == 2  # Q3, then 2 more
    assert entry["budget_best"] == max(entry["budget_curve"])
    text = js.with_suffix(".md").read_text()
    assert f"Twins, trained in {other}" in text and f"({made_in}) |" in text
    assert _digest(out / "results") == before
    # the tables never read a twin's continuation as evidence for the result files
    with pytest.raises(ValueError, match="another configuration than the result files"):
        load_continued(tmp_path / "twin", "table1", PROFILE.name)
