"""Result files that cannot lie (#17): a copy, a moved, edited, truncated or malformed file is
recomputed or left out of the report and listed, never averaged in; bad CLI options are one line
and exit 2 before anything runs."""

import json
import shutil

import pytest

from benchmark.cli import build_parser, main
from benchmark.metrics import accuracy, macro_f1
from benchmark.results.files import (
    Result,
    content_checksum,
    read_result,
    result_path,
    scan_results,
    write_result,
)
from benchmark.rows import table1_experiments
from benchmark.run.plan import is_current

QUADS4 = next(e for e in table1_experiments() if (e.row, e.bits, e.dataset) == ("QUADS", 4, "FSC"))
CONFIG = {"identity": {"trainer": 3}, "num_classes": 3}


def _predictions(wrong: int) -> dict[str, list[int]]:
    """30 test ids of 3 classes, the first ``wrong`` of them mispredicted."""
    truth = [i % 3 for i in range(30)]
    return {"truth": truth, "pred": [(t + 1) % 3 if i < wrong else t for i, t in enumerate(truth)]}


def _f1(wrong: int) -> float:
    p = _predictions(wrong)
    return macro_f1(p["truth"], p["pred"])


def _result(seed: int = 0, wrong: int = 10, **kw) -> Result:
    preds = _predictions(wrong)
    return Result(
        experiment=QUADS4,
        profile="smoke",
        seed=seed,
        corpus="synthetic-fsc",
        metrics={"accuracy": accuracy(preds["truth"], preds["pred"]), "f1": _f1(wrong)},  # as run
        config=CONFIG,
        provenance={
            "commit": "abc",
            "date": "2026-01-01T00:00:00Z",
            "versions": {"torch": "x"},
            "hardware": {"cpu": "cpu", "cpu_count": 2, "torch_threads": 2, "gpu": None},
        },
        predictions=preds,
        **kw,
    )


def _write(tmp_path, seed=0, **kw):
    path = result_path(tmp_path / "results", QUADS4, "smoke", seed)
    write_result(path, _result(seed, **kw))
    return path


def _resign(path, data):
    """Write ``data`` with a valid checksum: a malformed file the checksum cannot catch."""
    data["checksum"] = content_checksum(data)
    path.write_text(json.dumps(data))


def _report(tmp_path, capsys):
    assert main(["report", "--profile", "smoke", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    return (
        json.loads((tmp_path / "table1.json").read_text()),
        (tmp_path / "table1.md").read_text(),
        err,
    )


def _f1_cell(cells):
    return next(
        c
        for c in cells
        if c["row"] == "QUADS" and c["bits"] == 4 and c["dataset"] == "FSC" and c["metric"] == "f1"
    )


def test_a_copy_beside_a_result_is_not_averaged_in_and_is_listed(tmp_path, capsys):
    path = _write(tmp_path, wrong=10)
    copy = path.with_name(path.stem + " (copy).json")
    shutil.copy(path, copy)
    cells, md, err = _report(tmp_path, capsys)
    cell = _f1_cell(cells)
    assert cell["measured"] == round(_f1(10), 6) and cell.get("n_seeds", 1) == 1
    assert "## Excluded result files" in md and "(copy).json" in md
    assert "(copy).json" in err


def test_a_seed0_file_copied_to_the_seed1_path_is_recomputed_and_excluded(tmp_path, capsys):
    seed0 = _write(tmp_path, seed=0)
    seed1 = result_path(tmp_path / "results", QUADS4, "smoke", 1)
    shutil.copy(seed0, seed1)
    lines = []
    assert not is_current(seed1, CONFIG, tmp_path / "results", lines.append)
    assert len(lines) == 1 and str(seed1) in lines[0]
    assert is_current(seed0, CONFIG, tmp_path / "results", lines.append)
    scan = scan_results(tmp_path / "results", "smoke", "table1")
    assert [r.seed for r in scan.results] == [0]
    assert len(scan.excluded) == 1 and "seed1" in scan.excluded[0]


def test_a_hand_edited_result_is_listed_not_averaged_and_not_reused(tmp_path, capsys):
    path = _write(tmp_path, wrong=10)
    _write(tmp_path, seed=1, wrong=5)
    data = json.loads(path.read_text())
    data["metrics"]["f1"] = 99.0
    path.write_text(json.dumps(data))
    cells, md, _ = _report(tmp_path, capsys)
    assert _f1_cell(cells)["measured"] == round(_f1(5), 6)
    assert "checksum" in md and path.name in md
    lines = []
    assert not is_current(path, CONFIG, tmp_path / "results", lines.append)
    assert "checksum" in lines[0]


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda d: d["metrics"].update(f1="99"), "metric 'f1'"),
        (lambda d: d.update(seed="0"), "'seed'"),
        (lambda d: d["predictions"].update(pred=[0, "x", 1]), "predictions"),
        (lambda d: d["predictions"].update(group=[0, 0]), "'group'"),
        (lambda d: d.pop("config"), "missing keys"),
        (lambda d: d.update(bonus=1), "unknown keys"),
        (lambda d: d["experiment"].update(bits="4"), "experiment 'bits'"),
    ],
)
def test_wrong_types_or_keys_name_the_file_even_with_a_valid_checksum(tmp_path, damage, why):
    path = _write(tmp_path)
    data = json.loads(path.read_text())
    damage(data)
    _resign(path, data)
    with pytest.raises(ValueError, match="malformed") as err:
        read_result(path)
    assert str(path) in str(err.value) and why in str(err.value)


def test_a_truncated_result_file_is_listed_and_the_report_still_renders(tmp_path, capsys):
    path = _write(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    cells, md, err = _report(tmp_path, capsys)
    assert _f1_cell(cells)["measured"] is None
    assert "unreadable result file" in md and path.name in err


def test_a_result_whose_exported_model_is_truncated_is_not_complete(tmp_path):
    import torch
    from safetensors.torch import save_file

    model = tmp_path / "model.safetensors"
    save_file({"w": torch.zeros(1000)}, str(model))
    path = _write(tmp_path, artifacts={"model": str(model)})
    assert is_current(path, CONFIG, tmp_path / "results")
    model.write_bytes(model.read_bytes()[:-100])
    lines = []
    assert not is_current(path, CONFIG, tmp_path / "results", lines.append)
    assert "model.safetensors" in lines[0] and str(path) in lines[0]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "nosuch"], "--device 'nosuch'"),
        (["--seeds", "99999999999999999999"], "--seeds 99999999999999999999"),
        (["--seeds", "-1"], "--seeds -1"),
        (["--seeds", "0", "1", "0"], "--seeds lists 0 more than once"),
    ],
)
def test_bad_run_options_are_one_line_and_exit_2_before_anything_runs(
    tmp_path, capsys, args, message
):
    code = main(["run", "--profile", "smoke", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "out").exists()


def test_repeated_rows_datasets_and_seeds_add_up():
    args = build_parser().parse_args(
        ["run", "--rows", "QUADS", "--rows", "Whisper (base)", "--seeds", "0", "--seeds", "2"]
    )
    assert args.rows == ["QUADS", "Whisper (base)"] and args.seeds == [0, 2]
    assert build_parser().parse_args(["run"]).datasets is None  # the default: both
