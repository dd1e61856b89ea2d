"""Result files whose numbers cannot be what the harness wrote (#25): metrics re-derived from the
stored predictions, class ids in range, values finite and in range; strict report JSON; the
right cause for a file that is no result file; the CLI's minor cases (SIGINT, empty cache
folder, --reference-only, --ray-*)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import predictions_scoring

import benchmark.commands
from benchmark.cli import main
from benchmark.frontier.study import load_record, read_records, record_path
from benchmark.metrics import bootstrap_ci
from benchmark.report.strict_json import write_strict_json
from benchmark.results.files import (
    Result,
    content_checksum,
    read_result,
    result_path,
    scan_results,
    write_result,
)
from benchmark.results.stored_values import predictions_problem, value_problem
from benchmark.robustness.results import read_robustness
from benchmark.rows import table1_experiments

QUADS4 = next(e for e in table1_experiments() if (e.row, e.bits, e.dataset) == ("QUADS", 4, "FSC"))
PROVENANCE = {
    "commit": "abc",
    "date": "2026-01-01T00:00:00Z",
    "versions": {"torch": "x"},
    "hardware": {"cpu": "cpu", "cpu_count": 2, "torch_threads": 2, "gpu": None},
}


def _write(tmp_path: Path, seed: int = 0) -> Path:
    path = result_path(tmp_path / "results", QUADS4, "smoke", seed)
    preds = predictions_scoring(60.0)  # 3 classes, accuracy = macro F1 = 60 %
    write_result(
        path,
        Result(
            experiment=QUADS4,
            profile="smoke",
            seed=seed,
            corpus="synthetic-fsc",
            metrics={"accuracy": 60.0, "f1": 60.0, "params_m": 7.25, "energy_j": 0.6},
            config={"num_classes": 3},
            provenance=PROVENANCE,
            predictions=preds,
        ),
    )
    return path


def _resign(path, change) -> None:
    """Apply ``change`` to the file and redo its checksum, as any script can."""
    data = json.loads(path.read_text())
    change(data)
    data["checksum"] = content_checksum(data)
    path.write_text(json.dumps(data))


def _set_pred(i: int, value):
    return lambda d: d["predictions"]["pred"].__setitem__(i, value)


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda d: d["metrics"].update(f1=95.0), "stored f1 95 of 'pred' is not that of its"),
        (lambda d: d["metrics"].update(accuracy=60.5), "stored accuracy 60.5"),
        (_set_pred(4, -3), "'pred'[4] is class id -3, outside [0, 3)"),
        (_set_pred(4, 5000), "'pred'[4] is class id 5000, outside [0, 3)"),
        (_set_pred(4, 1.0), "'pred'[4] is 1.0, not an integer class id"),
        (_set_pred(4, True), "'pred'[4] is True, not an integer class id"),
        (lambda d: d["predictions"]["truth"].pop(), "'pred' has 300 ids, 'truth' 299"),
        (lambda d: d["metrics"].update(f1=math.nan), "'f1' is nan, not a finite number"),
        (lambda d: d["metrics"].update(accuracy=math.inf), "'accuracy' is inf"),
        (lambda d: d["metrics"].update(f1=140.0), "'f1' is 140.0, outside [0, 100]"),
        (lambda d: d["metrics"].update(params_m=-7.25), "'params_m' is -7.25, a negative"),
        (lambda d: d["metrics"].update(energy_j=-0.1), "'energy_j' is -0.1, a negative"),
        (lambda d: d.update(wall_seconds=-1.0), "'wall_seconds' is -1.0"),
        (lambda d: d["config"].update(num_classes=0), "num_classes is 0"),
        (lambda d: d["predictions"].clear(), "metrics ['accuracy', 'f1'] without the test"),
        (lambda d: d["predictions"].pop("pred"), "only one of 'truth' and 'pred'"),
    ],
)
def test_impossible_numbers_exclude_the_file_with_one_line_naming_it(tmp_path, change, why):
    path = _write(tmp_path)
    _resign(path, change)
    with pytest.raises(ValueError) as err:
        read_result(path)
    line = str(err.value)
    assert str(path) in line and why in line and "\n" not in line
    scan = scan_results(tmp_path / "results", "smoke", "table1")
    assert scan.results == [] and len(scan.excluded) == 1 and why in scan.excluded[0]


def test_re_derived_metrics_pass_and_a_bad_id_is_listed_in_the_report(tmp_path, capsys):
    path = _write(tmp_path)
    assert read_result(path).metrics["f1"] == 60.0  # a consistent file reads
    _write(tmp_path, seed=1)
    _resign(path, _set_pred(0, 5000))  # today: bootstrap_ci allocates 186 GiB
    assert main(["report", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert f"{path}" in err and "class id 5000" in err
    cells = json.loads((tmp_path / "table1.json").read_text())
    f1 = next(
        c
        for c in cells
        if (c["row"], c["bits"], c["dataset"], c["metric"]) == ("QUADS", 4, "FSC", "f1")
    )
    assert f1["measured"] == 60.0 and "n_seeds" not in f1  # only seed 1 is averaged
    assert "class id 5000" in (tmp_path / "table1.md").read_text()


@pytest.mark.parametrize(
    "text, why",
    [
        ("[1, 2, 3]", "not a result file: a JSON array, not an object"),
        ('"x"', "not a result file: a JSON string"),
        ("null", "not a result file: a JSON null"),
        ('{"metrics": {}}', 'not a result file: a JSON object without a "schema" key'),
        ('{"schema": "2"}', "not a result file: its \"schema\" is '2'"),
    ],
)
def test_a_file_of_another_shape_is_not_blamed_on_another_harness_version(tmp_path, text, why):
    path = _write(tmp_path)
    path.write_text(text)
    with pytest.raises(ValueError, match="not a result file") as err:
        read_result(path)
    assert why in str(err.value) and "another version" not in str(err.value)
    assert str(path) in str(err.value)


def test_another_schema_number_still_points_at_another_version(tmp_path):
    path = _write(tmp_path)
    _resign(path, lambda d: d.update(schema=1))
    with pytest.raises(ValueError, match="another version of the harness"):
        read_result(path)


def test_bootstrap_ci_refuses_out_of_range_ids_instead_of_allocating():
    truth = [0, 1, 2, 1]
    with pytest.raises(ValueError, match="class id -3 is outside"):
        bootstrap_ci(truth, [[0, 1, -3, 1]])
    with pytest.raises(ValueError, match=r"class id 5000 is outside \[0, 3\)"):
        bootstrap_ci(truth, [[0, 1, 5000, 1]], num_classes=3)
    # no class count given: refused before the (1000, 5001, 5001) counts are allocated
    with pytest.raises(ValueError, match="5001 x 5001"):
        bootstrap_ci(truth, [[0, 1, 5000, 1]])
    with pytest.raises(ValueError, match="integer class ids"):
        bootstrap_ci(truth, [[0.0, 1.0, 2.0, 1.0]])
    ci = bootstrap_ci(truth, [[0, 1, 2, 1]], num_classes=3)  # in range: unchanged behaviour
    assert ci == bootstrap_ci(truth, [[0, 1, 2, 1]])


def test_the_shared_check_re_derives_each_scored_list():
    preds = predictions_scoring(60.0)
    truth, pred = preds["truth"], preds["pred"]
    good = {"accuracy": 60.0, "f1": 60.0 * (1 + 1e-12)}  # a float printed and parsed again
    assert predictions_problem(truth, {"clean": (pred, good)}, 3) is None
    assert "'noisy'" in predictions_problem(
        truth, {"clean": (pred, good), "noisy": (pred, {"f1": 61.0})}, 3
    )
    assert "empty" in predictions_problem([], {}, 3)
    assert value_problem("gmacs", True) == "'gmacs' is a bool, not a number"
    assert value_problem("f1", None) is None  # not measured


def test_robustness_files_get_the_same_prediction_checks(tmp_path):
    from test_robustness import _result

    from benchmark.robustness.results import robustness_path, write_robustness

    r = _result([0, 1, 2, 1], [0, 1, 2, 1], [0, 0, 2, 1])
    path = robustness_path(tmp_path, r.experiment, r.profile, r.seed)
    write_robustness(path, r)
    assert read_robustness(path, tmp_path) == r
    _resign(path, lambda d: d["predictions"]["babble-0dB"].__setitem__(1, -3))
    with pytest.raises(ValueError, match=r"'babble-0dB'\[1\] is class id -3, outside \[0, 4\)"):
        read_robustness(path)
    write_robustness(path, r)
    _resign(path, lambda d: d["metrics"]["clean"].update(f1=95.0))
    with pytest.raises(ValueError, match=f"{path}.*stored f1 95 of 'clean'"):
        read_robustness(path)
    # one file read as the other kind: each reader names the kind it found
    write_robustness(path, r)
    with pytest.raises(ValueError, match=r"has schema 1, kind 'robustness', expected schema 2 "):
        read_result(path)
    result = _write(tmp_path / "t1")
    with pytest.raises(ValueError, match=r"has schema 2, expected schema 1, kind 'robustness'"):
        read_robustness(result)
    path.write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="not a robustness result file: a JSON array"):
        read_robustness(path)


def test_frontier_study_records_get_the_same_checks_and_are_listed(tmp_path):
    preds = predictions_scoring(60.0)
    section = {"test_pred": preds["pred"], "test_f1": 60.0, "valid_f1": 50.0}
    record = {
        "dataset": "FSC",
        "seed": 0,
        "profile": "smoke",
        "corpus": "synthetic-fsc",
        "config": {},
        "provenance": {},
        "wall_seconds": 1.0,
        "float": section,
        "scan": [],
        "uniform": {**section, "size_bytes": 10},
        "mixed": {**section, "size_bytes": 9, "bits": {}},
        "test_truth": preds["truth"],
    }
    path = record_path(tmp_path, "smoke", "FSC", 0)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    assert load_record(path).mixed["test_f1"] == 60.0
    record["mixed"] = {**record["mixed"], "test_f1": 95.0}
    path.write_text(json.dumps(record))
    lines = []
    assert read_records(tmp_path, "smoke", lines.append) == []
    assert len(lines) == 1 and str(path) in lines[0] and "stored f1 95 of 'mixed'" in lines[0]
    record["mixed"] = {**record["mixed"], "test_f1": 60.0, "size_bytes": -9}
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="'size_bytes' is -9"):
        load_record(path)


def test_report_json_is_strict_a_non_finite_value_is_null_with_a_line(tmp_path):
    lines = []
    path = tmp_path / "t.json"
    write_strict_json(path, [{"measured": float("nan"), "ci": [1.0, np.inf]}], lines.append)
    assert json.loads(path.read_text(), parse_constant=pytest.fail) == [
        {"measured": None, "ci": [1.0, None]}
    ]
    assert lines == [
        f"{path}: non-finite value [0].measured = nan written as null",
        f"{path}: non-finite value [0].ci[1] = inf written as null",
    ]


# --- the CLI's minor cases ---------------------------------------------------------------------


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(benchmark.commands, "_reference_only", interrupted)
    assert main(["run", "--reference-only"]) == 130
    line = _one_line(capsys)
    assert line == "quads-bench: interrupted; run the same command again to resume"


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_cache_dir_is_refused(tmp_path, monkeypatch, capsys, value):
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--profile", "smoke", "--dry-run", "--cache-dir", value])
    assert code == 2 and "--cache-dir is empty" in _one_line(capsys)
    monkeypatch.setenv("QUADS_CACHE_DIR", value)
    assert main(["run", "--profile", "smoke", "--dry-run"]) == 2
    assert "QUADS_CACHE_DIR is set but empty" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == []  # nothing written into the current folder


@pytest.mark.parametrize(
    "args, named",
    [
        (["--out", "x"], "--out"),
        (["--seeds", "1", "--force"], "--seeds, --force"),
        (["--executor", "ray", "--cache-dir", "c"], "--cache-dir, --executor"),
        (["--precision", "fp32"], "--precision"),
    ],
)
def test_reference_only_names_the_flags_it_would_ignore(tmp_path, monkeypatch, capsys, args, named):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--reference-only", *args]) == 2
    line = _one_line(capsys)
    assert f"it would ignore {named}:" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ray-cpus", "-1"], "--ray-cpus -1: CPUs per run must be a number above 0"),
        (["--ray-cpus", "0", "--executor", "ray"], "--ray-cpus 0"),
        (["--ray-gpus", "nan", "--executor", "ray"], "--ray-gpus nan"),
        (["--ray-address", "", "--executor", "ray"], "--ray-address is empty"),
        (["--ray-cpus", "2"], "--ray-cpus applies only to --executor ray"),
    ],
)
def test_ray_options_are_checked_with_any_executor(tmp_path, capsys, args, message):
    code = main(["run", "--profile", "smoke", "--dry-run", "--out", str(tmp_path / "o"), *args])
    assert code == 2 and message in _one_line(capsys)
    assert not (tmp_path / "o").exists()
