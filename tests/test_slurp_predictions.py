"""SLURP predictions in the official scorer's format (jsonl keyed by recording file)."""

import json

from benchmark.data.records import Utterance, make_corpus
from benchmark.run.recipe import write_slurp_predictions


def test_predictions_are_keyed_by_recording_with_scenario_and_action(tmp_path):
    utts = [
        Utterance("u1", "/a/1.flac", "iot_hue_lightoff", "", "train", recording="audio-1.flac"),
        Utterance("u2", "/a/2.flac", "alarm_set", "", "train", recording="audio-2.flac"),
        Utterance("u3", "/a/3.flac", "alarm_set", "", "test", recording="audio-3-headset.flac"),
        Utterance("u4", "/a/4.flac", "iot_hue_lightoff", "", "test", recording="audio-4.flac"),
    ]
    corpus = make_corpus("slurp", "SLURP", False, utts)
    ids = {label: i for i, label in enumerate(corpus.intents)}
    path = write_slurp_predictions(
        tmp_path / "p.jsonl", corpus, ("u3", "u4"), [ids["iot_hue_lightoff"], ids["alarm_set"]]
    )
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "file": "audio-3-headset.flac",
            "scenario": "iot",
            "action": "hue_lightoff",
            "entities": [],
        },
        {"file": "audio-4.flac", "scenario": "alarm", "action": "set", "entities": []},
    ]


def test_the_end_of_a_run_names_the_predictions_folder_and_pattern(tmp_path, no_figure):
    import re

    from benchmark.commands import PREDICTIONS_PATTERN, predictions_line, render_run
    from benchmark.profiles import PROFILES
    from benchmark.results.files import Result
    from benchmark.results.identity import artefact_path
    from benchmark.rows import experiments
    from benchmark.run.runner import RunOptions, TableRun

    exp = next(e for e in experiments("table1") if e.row == "QUADS" and e.dataset == "SLURP")
    path = artefact_path(tmp_path / "cache", "slurp_predictions", "paper", exp, 0, {"a": 1})
    # the pattern printed is the one the files are named by (identity.run_id)
    regex = re.escape(PREDICTIONS_PATTERN)
    for field, value in (
        ("<table>", exp.table),
        ("<row slug>", re.escape(exp.slug)),
        ("<N>", r"\d+"),
        ("<config digest>", "[0-9a-f]+"),
    ):
        regex = regex.replace(re.escape(field), value)
    assert re.fullmatch(regex, path.name), (regex, path.name)

    truth = [0, 1, 2]
    result = Result(
        exp,
        "paper",
        0,
        "slurp",
        {"f1": 100.0, "accuracy": 100.0},
        config={"num_classes": 3},
        provenance={
            "date": "2026-01-01T00:00:00Z",
            "hardware": {"cpu": "x", "cpu_count": 2, "torch_threads": 2, "gpu": None},
        },
        artifacts={"slurp_predictions": str(path)},
        predictions={"truth": truth, "pred": truth},
    )
    options = RunOptions(profile=PROFILES["paper"], out_dir=tmp_path / "out")
    ran = TableRun("table1", options, (result,), (), (), None, (0,))
    lines: list[str] = []
    render_run(ran, log=lines.append)
    expected = f"SLURP scorer-format predictions: {path.parent}/ (one .jsonl per run: "
    assert [line for line in lines if line.startswith("SLURP")] == [
        expected + PREDICTIONS_PATTERN + ")"
    ]
    # synthetic corpora write none: no line
    assert predictions_line([Result(exp, "cpu", 0, "synthetic-slurp", {})]) is None
