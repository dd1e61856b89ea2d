"""Efficiency columns of a model architecture: #params, GMACs (30 s and run length), energy.

They depend on the architecture, class count and input length only, never on the weights, so they
are measured once per (model, classes, frames) and shared by every row that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch

from baselines.registry import build_model, example_inputs
from baselines.whisper import PAPER_FRAMES
from benchmark.metrics import (
    EnergyMeasurement,
    count_params,
    gmacs_flop_counter,
    gmacs_fvcore,
    measure_energy,
)


@dataclass(frozen=True)
class Efficiency:
    params: int  # trainable parameters
    gmacs_30s: float  # fvcore, one utterance at 80 x 3000 (the paper's setting)
    gmacs_30s_check: float  # FlopCounterMode cross-check (no layer_norm), same input
    gmacs_run: float  # fvcore at the run's input length
    energy: EnergyMeasurement | None  # inference at the run's input length, batch 1


@lru_cache(maxsize=32)
def measure_efficiency(
    model_name: str,
    num_classes: int,
    n_frames: int,
    energy_seconds: float = 2.0,
    with_energy: bool = True,
) -> Efficiency:
    torch.manual_seed(0)
    full = build_model(model_name, num_classes, PAPER_FRAMES).eval()
    params = count_params(full)
    inputs = example_inputs(full, PAPER_FRAMES)
    gmacs_30s = gmacs_fvcore(full, inputs)
    check = gmacs_flop_counter(full, inputs)
    del full
    model = build_model(model_name, num_classes, n_frames).eval()
    run_inputs = example_inputs(model, n_frames)
    gmacs_run = gmacs_fvcore(model, run_inputs) if n_frames != PAPER_FRAMES else gmacs_30s
    energy = None
    if with_energy:

        def infer() -> int:
            with torch.inference_mode():
                model(**run_inputs)
            return 1

        infer()  # warm-up outside the measurement
        energy = measure_energy(infer, min_seconds=energy_seconds)
    return Efficiency(params, gmacs_30s, check, gmacs_run, energy)
