"""Packed inference (ours, beyond the paper): peak memory and latency of the QUADS student run
from its exported 4- and 8-bit files, dequantized on load or kept packed (`quads.packed`), as
ratios to the fp32 student measured in the same run.

Student: whisper-tiny (as in the `cpu` profile), random init (seed 0), 31 classes, 300 frames
(3 s), batch 1. Setup (not measured): the float weights saved as float32 safetensors; for 4 and
8 bits a `CodebookQuantizer` attached to a fresh copy (k-means codebooks of the float weights)
and the model exported with `quads.export.save_quantized`, the sinusoidal table not stored.

Per variant (VARIANTS: load path + file):
  * memory: `benchmark.speed.packed_memory` in MEMORY_RUNS fresh subprocesses (load the model,
    run 3 forwards; VmRSS after imports, VmHWM since then), summarised into `extra_info`;
  * latency: one `torch.inference_mode()` forward, timed by pytest-benchmark (ROUNDS rounds
    after one warm-up), and, for the non-fp32 variants, PAIRS forwards alternating with the
    fp32 student's: `paired_latency_ratio` = median(t_variant_i / t_fp32_i), robust to a
    machine whose load drifts between benchmarks.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from baselines.registry import build_model
from benchmark.speed.packed_memory import MODEL, NUM_CLASSES, load_variant
from quads.export import measured_size_bytes, save_quantized
from quads.packed import tensor_nbytes
from quads.quantize import CodebookQuantizer, QuantConfig

N_FRAMES = 300  # 3 s at a 10 ms hop, the cpu profile's crop
BATCH = 1
BITS = (4, 8)
ROUNDS = 20  # a forward is ~25 ms here
PAIRS = 20
MEMORY_RUNS = 3  # fresh processes per variant
GROUP = "packed-inference"
MEMORY_METHOD = (
    f"median of {MEMORY_RUNS} fresh processes per variant: Linux VmHWM (peak RSS) over load + 3 "
    "forwards, reset after the imports; added = that peak - VmRSS after the imports"
)


@dataclass(frozen=True)
class Variant:
    name: str  # "fp32" | "dequantized-4bit" | "packed-4bit" | ...
    load_path: str  # benchmark.speed.packed_memory.LOAD_PATHS
    bits: int  # 32 for fp32


VARIANTS = (
    Variant("fp32", "fp32", 32),
    Variant("dequantized-4bit", "dequantized", 4),
    Variant("packed-4bit", "packed", 4),
    Variant("dequantized-8bit", "dequantized", 8),
    Variant("packed-8bit", "packed", 8),
)


@pytest.fixture(scope="session")
def student_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """{32: float32 safetensors, 4: 4-bit export, 8: 8-bit export} of the seed-0 student."""
    folder = tmp_path_factory.mktemp("packed")
    torch.manual_seed(0)
    model = build_model(MODEL, NUM_CLASSES, N_FRAMES)
    files = {32: folder / f"{MODEL}-fp32.safetensors"}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(files[32]))
    for bits in BITS:
        torch.manual_seed(0)
        model = build_model(MODEL, NUM_CLASSES, N_FRAMES)
        quantizer = CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
        files[bits] = folder / f"{MODEL}-{bits}bit.safetensors"
        config = {"model": MODEL, "num_classes": NUM_CLASSES, "bits": bits}
        save_quantized(model, quantizer, files[bits], config, skip=r"embed_positions")
    return files


_MODELS: dict[str, nn.Module] = {}


def _model(variant: Variant, files: dict[int, Path]) -> nn.Module:
    if variant.name not in _MODELS:
        _MODELS[variant.name] = load_variant(variant.load_path, files[variant.bits], N_FRAMES)
    return _MODELS[variant.name]


def _memory(variant: Variant, file: Path) -> dict:
    """MEMORY_RUNS records of the subprocess (benchmark/speed/packed_memory.py) and their
    summary: the median and range of the peak added by load + forwards, and of the whole
    process's peak (allocator behaviour varies from one process to the next)."""
    cmd = [sys.executable, "-m", "benchmark.speed.packed_memory", variant.load_path, str(file)]
    cmd += ["--frames", str(N_FRAMES), "--batch", str(BATCH)]
    cmd += ["--threads", str(torch.get_num_threads())]
    runs = []
    for _ in range(MEMORY_RUNS):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    added = [r["peak_kb"] - r["rss_imports_kb"] for r in runs]
    process = [max(r["peak_kb"], r["peak_imports_kb"]) for r in runs]
    return {
        "added_peak_kb": statistics.median(added),
        "added_peak_kb_range": [min(added), max(added)],
        "process_peak_kb": statistics.median(process),
        "process_peak_kb_range": [min(process), max(process)],
        "rss_imports_kb": statistics.median(r["rss_imports_kb"] for r in runs),
        "load_s": statistics.median(r["load_s"] for r in runs),
        "runs": runs,
    }


def _paired_ratio(model: nn.Module, fp32: nn.Module, mel: torch.Tensor) -> tuple[float, float]:
    """(median of t_model / t_fp32 over PAIRS alternating forwards, median fp32 time)."""
    ratios, fp32_times = [], []
    with torch.inference_mode():
        model(mel), fp32(mel)  # warm-up
        for _ in range(PAIRS):
            start = time.perf_counter()
            fp32(mel)
            mid = time.perf_counter()
            model(mel)
            end = time.perf_counter()
            ratios.append((end - mid) / (mid - start))
            fp32_times.append(mid - start)
    return statistics.median(ratios), statistics.median(fp32_times)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_packed_inference(benchmark, student_files: dict[int, Path], variant: Variant) -> None:
    file = student_files[variant.bits]
    model = _model(variant, student_files)
    mel = torch.randn(BATCH, 80, N_FRAMES, generator=torch.Generator().manual_seed(0))
    info = {
        "kind": GROUP,
        "model": MODEL,
        "variant": variant.name,
        "load_path": variant.load_path,
        "bits": variant.bits,
        "n_frames": N_FRAMES,
        "batch": BATCH,
        "utterances": BATCH,
        "file_bytes": measured_size_bytes(file),
        "tensor_bytes": tensor_nbytes(model),
        "memory_method": MEMORY_METHOD,
        "memory": _memory(variant, file),
    }
    if variant.name != "fp32":
        fp32 = _model(VARIANTS[0], student_files)
        with torch.inference_mode():
            if not torch.equal(model(mel), _model(_dequantized(variant), student_files)(mel)):
                raise AssertionError(f"{variant.name}: logits differ from the dequantized model's")
        ratio, fp32_median = _paired_ratio(model, fp32, mel)
        info["paired_latency_ratio"] = ratio
        info["paired_fp32_median_s"] = fp32_median
    benchmark.extra_info.update(info)

    def forward() -> None:
        with torch.inference_mode():
            model(mel)

    benchmark.pedantic(forward, rounds=ROUNDS, warmup_rounds=1)


def _dequantized(variant: Variant) -> Variant:
    return next(v for v in VARIANTS if v.load_path == "dequantized" and v.bits == variant.bits)
