"""The run identity (benchmark/results/identity.py): runs of different configurations never share
a cached artefact, never replace each other's result files silently, and are never averaged."""

from __future__ import annotations

import copy

import pytest

from benchmark.metrics import accuracy, macro_f1
from benchmark.report.tables import write_report
from benchmark.results.files import Result, result_path, scan_results, write_result
from benchmark.results.identity import (
    artefact_path,
    config_digest,
    differs_only_in_code,
    run_id,
    split_by_config,
)
from benchmark.rows import table1_experiments
from benchmark.run.plan import config_conflicts
from benchmark.run.preflight import PreflightError, require_none
from benchmark.run.provenance import provenance

EXP = next(e for e in table1_experiments() if (e.row, e.bits, e.dataset) == ("QUADS", 4, "FSC"))
PROVENANCE = provenance()
BF16 = {
    "profile": {"n_frames": 300},
    "corpus_fingerprint": "abc",
    "num_classes": 3,
    "identity": {"precision": "bf16", "trainer": 3, "corpus": "abc"},
    "schedule": {"name": "MCT"},
}
FP32 = copy.deepcopy(BF16) | {"identity": BF16["identity"] | {"precision": "fp32"}}


def _result(seed: int, config: dict) -> Result:
    truth, pred = [0, 1, 2, 0, 1, 2], [0, 0, 0, 0, 1, 2]
    return Result(
        EXP,
        "cpu",
        seed,
        "synthetic-fsc",
        {"accuracy": accuracy(truth, pred), "f1": macro_f1(truth, pred)},
        config=config,
        provenance=PROVENANCE,
        predictions={"truth": truth, "pred": pred},
    )


def test_artefacts_of_two_precisions_never_share_a_path(tmp_path):
    paths = {
        kind: {artefact_path(tmp_path, kind, "cpu", EXP, 0, c) for c in (BF16, FP32)}
        for kind in ("checkpoint", "model", "snapshot", "slurp_predictions")
    }
    assert all(len(p) == 2 for p in paths.values())
    assert run_id(EXP, 0, BF16) != run_id(EXP, 1, BF16)  # the seed is part of it too
    assert config_digest(BF16) == config_digest(dict(reversed(list(BF16.items()))))
    with pytest.raises(ValueError, match="unknown artefact kind 'weights'"):
        artefact_path(tmp_path, "weights", "cpu", EXP, 0, BF16)


def test_a_code_change_is_stale_but_a_precision_change_is_another_configuration():
    newer = copy.deepcopy(BF16)
    newer["identity"]["trainer"] = 4
    newer["schedule"] = {"name": "MCT", "epochs": 9}
    assert differs_only_in_code(BF16, newer)
    assert not differs_only_in_code(BF16, FP32)
    assert not differs_only_in_code(BF16, BF16)


def test_a_run_of_another_precision_into_the_same_out_is_refused_naming_file_and_flag(tmp_path):
    results = tmp_path / "results"
    stored = result_path(results, EXP, "cpu", 0)
    write_result(stored, _result(0, BF16))
    # seed 1 in fp32 beside a bf16 seed 0: would be averaged into one cell
    problems = config_conflicts(results, "cpu", EXP, FP32, (1,), force=False)
    assert len(problems) == 1 and str(stored) in problems[0].what
    assert "identity.precision: bf16 -> fp32" in problems[0].what
    assert "--seeds including 0" in problems[0].fix
    with pytest.raises(PreflightError, match="another configuration"):
        require_none(problems)
    # the same seed: --force replaces it; without it the run is refused
    assert "pass --force" in config_conflicts(results, "cpu", EXP, FP32, (0,), False)[0].fix
    assert config_conflicts(results, "cpu", EXP, FP32, (0,), force=True) == []
    # the same configuration, or one made by older code, is no conflict
    assert config_conflicts(results, "cpu", EXP, BF16, (0, 1), force=False) == []


def test_a_report_never_averages_two_configurations(tmp_path):
    results = tmp_path / "results"
    for seed, config in ((0, BF16), (1, BF16), (2, FP32)):
        write_result(result_path(results, EXP, "cpu", seed), _result(seed, config))
    scan = scan_results(results, "cpu", "table1")
    assert sorted(r.seed for r in scan.results) == [0, 1]
    assert len(scan.excluded) == 1 and "seed(s) 2: not averaged" in scan.excluded[0]
    assert "identity.precision: fp32 -> bf16" in scan.excluded[0]
    md, _ = write_report("table1", scan.results, "cpu", tmp_path / "out", excluded=scan.excluded)
    text = md.read_text()
    assert "Training precision: bf16" in text and "seed(s) 2: not averaged" in text
    # a tie keeps neither: both seeds are left out, each with its line
    kept, excluded = split_by_config([_result(0, BF16), _result(1, FP32)])
    assert kept == [] and len(excluded) == 2


def test_precisions_reads_a_table_result_and_a_robustness_result():
    from types import SimpleNamespace

    from benchmark.results.identity import precisions

    table = SimpleNamespace(config={"identity": {"precision": "bf16"}})
    robustness = SimpleNamespace(config={"table1_config": {"identity": {"precision": "fp32"}}})
    unrecorded = SimpleNamespace(config={"profile": {}})
    assert precisions([table, robustness, unrecorded]) == ["bf16", "fp32"]
    assert precisions([unrecorded]) == []
