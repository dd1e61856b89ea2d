"""benchmark/run/authors_check.py: the head left float or covered by the fixed-label projection,
the drift measure, and its report."""

import json

import pytest
import torch
from mct_kit import student as _student

from benchmark.run.authors_check import PROJECTIONS, _quantizer, authors_check_lines, drift
from quads.cluster_mean import ClusterMeanQuantizer
from quads.quantize import QuantConfig

BITS = 2


def _fitted():
    model = _student()
    state = ClusterMeanQuantizer(model, QuantConfig(bits=BITS)).fit().state_dict()
    return model, state


def test_drift_is_zero_right_after_the_kmeans_and_grows_where_weights_moved():
    model, state = _fitted()
    assert "head.weight" in state["labels"]
    assert max(drift(model, BITS, state).values()) < 1e-6
    with torch.no_grad():
        model.head.weight.add_(torch.randn_like(model.head.weight))
    moved = drift(model, BITS, state)
    assert moved["head.weight"] > 0.1
    assert max(v for n, v in moved.items() if n != "head.weight") < 1e-6


def test_a_head_only_projection_leaves_the_encoder_alone():
    model, state = _fitted()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    _quantizer(model, BITS, state, "head").project()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {"head.weight"}
    with pytest.raises(ValueError, match="cover='decoder'"):
        _quantizer(model, BITS, state, "decoder")


def test_the_head_stays_float_only_when_asked():
    model, state = _fitted()
    with torch.no_grad():
        model.head.weight.add_(torch.randn_like(model.head.weight))
    moved = model.head.weight.detach().clone()
    _quantizer(model, BITS, state, "encoder").project()
    assert torch.equal(model.head.weight, moved)
    _quantizer(model, BITS, state, "all").project()
    assert model.head.weight.unique().numel() <= 2**BITS
    assert not torch.equal(model.head.weight, moved)


def test_the_report_gives_the_projection_and_the_curves_by_steps():
    curve = [{"epoch": 0, "steps": 0, "loss": None, "valid_accuracy": 3.2}]
    payload = {
        "profile": "converged",
        "bits": 8,
        "seed": 0,
        "batch_size": 16,
        "authors_first_quant_steps": 2169,
        "datasets": {
            "FSC": {
                "drift_summary": {"head": 0.626, "encoder_median": 0.0082, "encoder_max": 0.0112},
                "projection": dict(zip(PROJECTIONS[::-1], (12.4, 18.3, 3.2, 45.7), strict=True)),
                "curves": {
                    "head covered (the authors' code)": curve
                    + [{"epoch": 4, "steps": 156, "loss": 3.4, "valid_accuracy": 5.0}]
                },
                "n_train": 620,
                "provenance": {"commit": "abc"},
            }
        },
    }
    text = "\n".join(authors_check_lines(payload))
    assert "| FSC | 0.626 | 0.0082 | 0.0112 |" in text
    assert "| FSC | 45.7 | 3.2 | 18.3 | 12.4 |" in text  # the columns' order, whatever the dict's
    assert "head covered (the authors' code): 0: 3.2, 156: 5.0" in text
    assert "2,169 steps" in text
    assert 'FSC made by: {"commit": "abc"}' in text


def test_a_check_of_another_dataset_adds_to_the_earlier_file(tmp_path):
    from benchmark.run.authors_check import _earlier_datasets

    path = tmp_path / "authors-check-converged-8bit.json"
    assert _earlier_datasets(path, "converged", 8, 0) == {}
    path.write_text(
        json.dumps({"profile": "converged", "bits": 8, "seed": 0, "datasets": {"FSC": {}}})
    )
    assert _earlier_datasets(path, "converged", 8, 0) == {"FSC": {}}
    assert _earlier_datasets(path, "converged", 8, 1) == {}  # another seed starts afresh
    path.write_text("{not json")
    with pytest.raises(ValueError, match="authors-check-converged-8bit.json: not JSON"):
        _earlier_datasets(path, "converged", 8, 0)


def test_each_dataset_checks_the_schedule_its_rows_run():
    from benchmark.profiles import get_profile
    from benchmark.run.authors_check import authors_row
    from benchmark.run.data_choice import DataChoice

    converged = get_profile("converged")
    plans = {}
    for ds in ("FSC", "SLURP"):
        exp, profile, schedule = authors_row(converged, DataChoice(), ds, 8)
        assert (exp.dataset, exp.bits, exp.row) == (ds, 8, "QUADS (authors' recipe, ours)")
        plans[ds] = [p.epochs for p in schedule.phases]
    # the converged budgets: FSC D9 + Q12, SLURP D6 + Q8, in the authors' proportions
    assert plans == {"FSC": [3, 3, 6, 9], "SLURP": [2, 2, 4, 6]}


def test_the_report_re_renders_byte_identical_from_its_data_file(tmp_path, capsys):
    from benchmark.cli import main

    payload = {
        "profile": "converged",
        "bits": 4,
        "seed": 0,
        "batch_size": 16,
        "authors_first_quant_steps": 2169,
        "datasets": {
            "SLURP": {
                "drift_summary": {"head": 0.5, "encoder_median": 0.006, "encoder_max": 0.008},
                "projection": dict.fromkeys(PROJECTIONS, 1.0),
                "curves": {
                    "head float": [{"epoch": 0, "steps": 0, "loss": None, "valid_accuracy": 2.0}]
                },
                "n_train": 928,
                "provenance": {"commit": "abc"},
            }
        },
    }
    js = tmp_path / "authors-check-converged-4bit.json"
    js.write_text(json.dumps(payload))
    args = ["authors-check", "--bits", "4", "--report-only", "--out", str(tmp_path)]
    assert main(args) == 0
    first = (tmp_path / "authors-check-converged-4bit.md").read_bytes()
    assert main(args) == 0
    assert (tmp_path / "authors-check-converged-4bit.md").read_bytes() == first
    assert b"| SLURP | 1.0 | 1.0 | 1.0 | 1.0 |" in first
    assert main(["authors-check", "--report-only", "--out", str(tmp_path)]) != 0
    assert "authors-check-converged-8bit.json: no authors-check data" in capsys.readouterr().err
