"""The evaluated-model snapshot (benchmark/run/snapshot.py) gives back the very logits the test
split was scored with: float rows, rows on attached 4-bit codebooks, and a damaged file."""

import torch

from baselines.registry import build_model, example_inputs
from benchmark.run.snapshot import load_evaluated, save_evaluated
from quads.quantize import CodebookQuantizer, QuantConfig

N_FRAMES = 100  # 1 s of log-mel frames


def _logits(model, inputs):
    model.eval()
    with torch.no_grad():
        return model(**inputs)


def _student(seed: int = 0):
    torch.manual_seed(seed)
    return build_model("whisper-tiny", 5, N_FRAMES)


def test_a_float_snapshot_gives_the_same_logits(tmp_path):
    model = _student()
    inputs = example_inputs(model, N_FRAMES, batch=3)
    meta = {"model": "whisper-tiny", "classes": 5, "n_frames": N_FRAMES}
    path = save_evaluated(tmp_path / "row.pt", model, None, meta)
    loaded = load_evaluated(path)
    assert torch.equal(_logits(loaded, inputs), _logits(model, inputs))


def test_a_quantized_snapshot_stores_c_of_i_and_gives_the_same_logits(tmp_path):
    model = _student()
    quantizer = CodebookQuantizer(model, QuantConfig(bits=4)).attach(warm_start=False)
    inputs = example_inputs(model, N_FRAMES, batch=3)
    expected = _logits(model, inputs)
    meta = {"model": "whisper-tiny", "classes": 5, "n_frames": N_FRAMES}
    path = save_evaluated(tmp_path / "row.pt", model, quantizer, meta)
    state = torch.load(path)["state"]
    assert not any(k.endswith(("weight_centroids", "weight_indices")) for k in state)
    name = quantizer.names[0]
    assert state[name].unique().numel() <= 16  # a 4-bit tensor: at most 2**4 distinct values
    loaded = load_evaluated(path)
    assert torch.equal(_logits(loaded, inputs), expected)
    # the float student before quantization differs: the snapshot is not the unquantized model
    assert not torch.equal(_logits(_student(), inputs), expected)


def test_a_damaged_snapshot_is_reported_and_gives_none(tmp_path, capsys):
    path = tmp_path / "row.pt"
    model = _student()
    save_evaluated(path, model, None, {"model": "whisper-tiny", "classes": 5, "n_frames": 100})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert load_evaluated(path) is None
    assert not path.exists()
    assert load_evaluated(tmp_path / "missing.pt") is None
