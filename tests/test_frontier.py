"""The bit-width frontier (benchmark/frontier, quads/mixed.py): its rows share Table 1's
distillation prefix, per-tensor bit widths attach, export and load, a scan gives the float weights
back, the greedy assignment follows the sensitivities and the budget, and the two claims flip
with their inputs. Tiny models only."""

import dataclasses
import json

import pytest
import torch
from torch import nn

from benchmark.frontier.assign import assignment, covered_bytes, greedy_upgrades
from benchmark.frontier.report import render_frontier, study_cell
from benchmark.frontier.sensitivity import Splits, measure, quantized, scan
from benchmark.frontier.study import StudyRecord
from benchmark.frontier.verdicts import mct_vs_ptq, mixed_vs_uniform
from benchmark.profiles import get_profile
from benchmark.report.cells import Cell
from benchmark.rows import FRONTIER, PTQ_ROW, experiments
from benchmark.run.recipe import schedule_for
from quads.engine import phase_key
from quads.export import load_quantized, read_metadata, save_quantized
from quads.mixed import TensorCost, attach_mixed, tensor_costs
from quads.quantize import CodebookQuantizer, QuantConfig
from quads.train import TensorData


class Tiny(nn.Module):
    """Two linears and a head over the mean of a (B, 8, 6) "mel" input."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = nn.Linear(8, 32)
        self.b = nn.Linear(32, 32)
        self.head = nn.Linear(32, 3)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.b(torch.relu(self.a(mel.mean(-1))))))


def _splits(n: int = 24) -> Splits:
    g = torch.Generator().manual_seed(1)

    def data():
        return TensorData({"mel": torch.randn(n, 8, 6, generator=g), "labels": torch.arange(n) % 3})

    return Splits(data(), data())


def test_frontier_rows_are_mct_and_ptq_at_3_and_2_bits_with_every_seed():
    exps = experiments(FRONTIER)
    assert {(e.row, e.bits, e.strategy) for e in exps} == {
        ("QUADS", b, s) for b in (3, 2) for s in ("MCT",)
    } | {(PTQ_ROW, b, "PTQ") for b in (3, 2)}
    assert len(exps) == 8 and all(e.table == FRONTIER for e in exps)
    cpu = get_profile("cpu")
    assert all(cpu.seeds_for(e) == cpu.seeds for e in exps)


def test_a_frontier_mct_row_shares_table1s_first_distillation_phase():
    cpu = get_profile("cpu")
    t1 = {e.bits: e for e in experiments("table1") if e.row == "QUADS"}
    two = next(e for e in experiments(FRONTIER) if e.row == "QUADS" and e.bits == 2)
    a, b = schedule_for(t1[4], cpu), schedule_for(two, cpu)
    assert phase_key("id", a, 1, 0) == phase_key("id", b, 1, 0)
    assert phase_key("id", a, 2, 0) != phase_key("id", b, 2, 0)  # quantization differs
    # the float twin (32 bit) keeps its best epoch of any phase, so its prefix entries (which
    # carry that best epoch) are its own, never an MCT row's
    twin = schedule_for(t1[32], cpu)
    assert twin.select == "all" and phase_key("id", twin, 1, 0) != phase_key("id", b, 1, 0)


def test_mixed_bits_export_load_and_3_bit_packing(tmp_path):
    model = Tiny()
    bits = {"a.weight": 3, "b.weight": 8, "head.weight": 2}
    quantizers = attach_mixed(model, bits)
    assert [q.bits for q in quantizers] == [2, 3, 8]
    assert [q.names for q in quantizers] == [("head.weight",), ("a.weight",), ("b.weight",)]
    x = torch.randn(4, 8, 6)
    with torch.no_grad():
        expected = model(x)
    path = tmp_path / "mixed.safetensors"
    save_quantized(model, quantizers, path, model_config={})
    meta = read_metadata(path)
    assert {n: i["bits"] for n, i in meta["quantized"].items()} == bits
    loaded = load_quantized(path, Tiny())
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)
    # one width in a tuple: the very bytes of the single-quantizer file (no per-tensor "bits")
    for q in quantizers:
        q.detach()
    one, tup = tmp_path / "one.safetensors", tmp_path / "tuple.safetensors"
    m1, m2 = Tiny(), Tiny()
    save_quantized(m1, CodebookQuantizer(m1, QuantConfig(bits=3)).attach(), one, {})
    save_quantized(m2, (CodebookQuantizer(m2, QuantConfig(bits=3)).attach(),), tup, {})
    assert one.read_bytes() == tup.read_bytes()
    assert "bits" not in next(iter(read_metadata(one)["quantized"].values()))
    four = tmp_path / "four.safetensors"
    m4 = Tiny()
    save_quantized(m4, CodebookQuantizer(m4, QuantConfig(bits=4)).attach(), four, {})
    # 3-bit indices packed: 1/8 of the 4-bit file's index bytes fewer (32*8 + 32*32 + 3*32)
    assert four.stat().st_size - one.stat().st_size >= (1376 * 4 - 1376 * 3) // 8 - 8 * 4 * 3


def test_attach_mixed_refuses_an_uncovered_tensor():
    with pytest.raises(ValueError, match="not covered"):
        attach_mixed(Tiny(), {"nope.weight": 4})
    with pytest.raises(ValueError, match="bits=9"):
        attach_mixed(Tiny(), {"a.weight": 9})
    with pytest.raises(ValueError, match="include pattern"):
        QuantConfig(bits=2, include=("(",))
    only_b = CodebookQuantizer(Tiny(), QuantConfig(bits=2, include=(r"b\.weight",)))
    assert only_b.names == ("b.weight",)


def test_a_trial_gives_the_float_weights_back_and_the_scan_sees_each_tensor(tmp_path):
    model = Tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    splits = _splits()
    with quantized(model, {"b.weight": 2}):
        assert model.b.weight.unique().numel() <= 4
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    rows = scan(model, splits, "cpu", bits=2)
    assert [r["tensor"] for r in rows] == ["a.weight", "b.weight", "head.weight"]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    out = measure(
        model,
        {n: 4 for n in ("a.weight", "b.weight", "head.weight")},
        splits,
        "cpu",
        tmp_path / "u4.safetensors",
        {},
        (),
    )
    assert out["size_bytes"] == (tmp_path / "u4.safetensors").stat().st_size
    assert len(out["test_pred"]) == 24


def _costs():
    # "big" weighs 8x "small"; bytes as quads.mixed.tensor_costs counts them
    return tensor_costs(Tiny(), (2, 3, 4, 8))


def test_the_greedy_gives_the_sensitive_tensor_more_bits_and_keeps_the_budget():
    costs = _costs()
    names = [c.name for c in costs]
    budget = covered_bytes(costs, {n: 4 for n in names})
    for hot in names:
        drops = {n: (20.0 if n == hot else 0.0) for n in names}
        bits = assignment(costs, greedy_upgrades(costs, drops, budget))
        assert covered_bytes(costs, bits) <= budget
        assert bits[hot] == max(bits.values()) and bits[hot] >= 4, (hot, bits)
    with pytest.raises(ValueError, match="budget"):
        greedy_upgrades(costs, {n: 1.0 for n in names}, budget_bytes=10)


def test_tensor_costs_count_packed_indices_and_float32_centroids():
    cost = next(c for c in _costs() if c.name == "b.weight")  # 32 x 32
    assert cost.nbytes == {2: 256 + 16, 3: 384 + 32, 4: 512 + 64, 8: 1024 + 1024}
    assert cost.mse[2] > cost.mse[3] > cost.mse[4] > cost.mse[8] >= 0
    assert isinstance(cost, TensorCost)


def _cell(row, bits, ds, values, half_width=0.5):
    mean = sum(values) / len(values)
    return Cell(
        row,
        bits,
        ds,
        "c",
        "f1",
        mean,
        None,
        "",
        None,
        len(values),
        ci=(mean - half_width, mean + half_width),
        values=tuple(values),
    )


def test_the_mixed_claim_flips_with_its_inputs():
    def verdict(mixed, uniform, sizes=(100, 100)):
        m = {ds: _cell("m", 4, ds, mixed) for ds in ("SLURP", "FSC")}
        u = {ds: _cell("u", 4, ds, uniform) for ds in ("SLURP", "FSC")}
        return mixed_vs_uniform(m, u, {ds: sizes for ds in ("SLURP", "FSC")}).status

    assert verdict([60, 61, 62], [50, 51, 52]) == "held"
    assert verdict([50, 51, 52], [60, 61, 62]) == "not held"
    assert verdict([50, 51, 52], [50.2, 51.2, 52.2]) == "inconclusive"
    assert verdict([60, 61, 62], [50, 51, 52], sizes=(101, 100)) == "not held"  # not same size
    assert mixed_vs_uniform({}, {}, {}).status == "not measurable"


def test_the_mct_claim_flips_with_its_inputs():
    def verdict(mct, ptq):
        cells = [
            _cell(row, b, ds, v)
            for b in (3, 2)
            for ds in ("SLURP", "FSC")
            for row, v in (("QUADS", mct), (PTQ_ROW, ptq))
        ]
        return mct_vs_ptq(cells).status

    assert verdict([40, 41, 42], [20, 21, 22]) == "held"
    assert verdict([20, 21, 22], [40, 41, 42]) == "not held"
    assert verdict([30, 31, 32], [30.1, 31.1, 32.1]) == "inconclusive"
    assert mct_vs_ptq([]).status == "not measurable"


def _record(ds, seed, mixed_pred, uniform_pred):
    truth = [0, 1, 2] * 4
    scan_rows = [
        {
            "tensor": "a.weight",
            "numel": 256,
            "valid_f1": 40.0,
            "valid_drop": 5.0,
        }
    ]
    return StudyRecord(
        ds,
        seed,
        "smoke",
        "synthetic",
        {},
        {
            "commit": "x",
            "date": "d",
            "versions": {},
            "hardware": {"cpu": "c", "cpu_count": 1, "torch_threads": 1, "gpu": "none"},
        },
        1.0,
        {"valid_f1": 45.0, "test_f1": 45.0, "test_pred": truth},
        scan_rows,
        {"size_bytes": 1000, "valid_f1": 1, "test_f1": 100 / 6, "test_pred": uniform_pred},
        {
            "size_bytes": 990,
            "valid_f1": 1,
            "test_f1": 100.0,
            "test_pred": mixed_pred,
            "bits": {"a.weight": 8},
        },
        truth,
    )


def test_the_report_is_deterministic_and_reads_the_study(tmp_path):
    truth = [0, 1, 2] * 4
    recs = [_record(ds, s, truth, [0] * 12) for ds in ("SLURP", "FSC") for s in (0, 1)]
    rec_json = json.loads(json.dumps(recs[0].to_json()))
    assert StudyRecord.from_json(rec_json) == recs[0]
    cell = study_cell("m", 4, "FSC", recs, "mixed")
    assert cell.measured == 100.0 and cell.n_seeds == 2
    md1, js1 = render_frontier([], [], recs, "smoke")
    md2, _ = render_frontier([], [], list(reversed(recs)), "smoke")
    assert md1 == md2
    assert "ours (not in the paper)" in md1 and "`a.weight`" in md1
    claim = next(c for c in js1["claims"] if c["claim"].startswith("mixed"))
    assert claim["status"] == "held"


def test_the_study_resamples_sentences_where_its_records_store_them():
    """Records with sentence ids (three sentences, four recordings each) give a wider F1
    interval than the same predictions drawn by recording, and the header names the unit; a
    record whose ids do not match its test set, or ids without a unit, is refused."""
    from benchmark.frontier.study import record_problem
    from benchmark.metrics import macro_f1

    right_twice = [0, 1, 2] * 2 + [1, 2, 0] * 2  # sentences 0-1 right, 2-3 wrong, all classes

    def scored(r):  # stored F1s equal to those of the stored predictions
        f1 = {
            k: macro_f1(r.test_truth, d["test_pred"])
            for k, d in r.to_json().items()
            if k in ("float", "uniform", "mixed")
        }
        return dataclasses.replace(
            r,
            float_={**r.float_, "test_f1": f1["float"]},
            uniform={**r.uniform, "test_f1": f1["uniform"]},
            mixed={**r.mixed, "test_f1": f1["mixed"]},
        )

    plain = [scored(_record("FSC", s, right_twice, [0] * 12)) for s in (0, 1)]
    sentences = [i // 3 for i in range(12)]  # 4 sentences of 3 recordings, right or wrong
    grouped = [
        dataclasses.replace(r, test_group=sentences, sentence_unit="transcription") for r in plain
    ]
    by_rec, by_sent = (study_cell("m", 4, "FSC", r, "mixed") for r in (plain, grouped))
    assert by_rec.measured == by_sent.measured
    assert by_sent.ci[1] - by_sent.ci[0] > by_rec.ci[1] - by_rec.ci[0]
    assert (by_rec.resampled_by, by_sent.resampled_by) == ("recording", "transcription")
    md, _ = render_frontier([], [], grouped, "smoke")
    assert "- Bootstrap resampling unit: FSC: sentence (same transcription" in md
    assert StudyRecord.from_json(json.loads(json.dumps(grouped[0].to_json()))) == grouped[0]
    assert record_problem(grouped[0].to_json()) is None
    short = dataclasses.replace(grouped[0], test_group=sentences[:5])
    assert "one sentence id per test recording" in record_problem(short.to_json())
    no_unit = dataclasses.replace(plain[0], test_group=sentences)
    assert "sentence unit 'recording' with 12" in record_problem(no_unit.to_json())
    # a record written before the ids (no keys) still reads, as drawn by recording
    old = {k: v for k, v in plain[0].to_json().items() if k not in ("test_group", "sentence_unit")}
    assert record_problem(old) is None and StudyRecord.from_json(old) == plain[0]
