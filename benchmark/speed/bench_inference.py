"""Inference latency of every Table 1 model family, per call and per utterance.

Models: the QUADS student (Whisper tiny: fp32, and loaded from exported 4-bit / 8-bit
`quads.export` files into a fresh float skeleton), Whisper base / small / large, CTL, Prosody
and Prosody + Distillation, all random-init (weights do not change the time), 31 classes.
Inputs: 300 frames (3 s, the default profile's crop) and 3000 frames (30 s, the paper's
Whisper window), batch 1 and 16. Each benchmark is one `torch.inference_mode()` forward.

`extra_info`: params (trainable), gmacs (fvcore, one utterance at this input length, counted
once per model and length), size_mb (the paper's formula: params x bits / 8 / 2^20),
file_mb (measured size of the exported file), utterances per call.

Cases whose forward costs more than `DEFAULT_BUDGET_GMACS` per call (`GMACS_PER_UTTERANCE` x
batch) are marked `bench_full`: skipped unless `--bench-full` (see conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.registry import build_model, example_inputs
from benchmark.metrics import count_params, gmacs_fvcore, paper_size_mb
from quads.export import load_quantized, measured_size_bytes, save_quantized
from quads.quantize import QuantConfig

NUM_CLASSES = 31  # FSC intents
STUDENT = "whisper-tiny"
MODEL_ORDER = (
    "whisper-tiny",
    "whisper-base",
    "whisper-small",
    "whisper-large",
    "ctl",
    "prosody",
    "prosody-distill",
)
EXPORT_BITS = (4, 8)
FRAMES = (300, 3000)  # 3 s (default profile) and 30 s (paper) at a 10 ms hop
BATCHES = (1, 16)
FRAMES_PER_SECOND = 100

# fvcore GMACs per utterance at (300, 3000) frames, 31 classes, measured here with
# benchmark.metrics.gmacs_fvcore; used only to decide which cases are too slow by default.
GMACS_PER_UTTERANCE: dict[str, tuple[float, float]] = {
    "whisper-tiny": (1.23, 18.49),
    "whisper-base": (3.13, 43.73),
    "whisper-small": (13.49, 172.23),
    "whisper-large": (97.11, 1136.96),
    "ctl": (12.67, 144.30),
    "prosody": (3.15, 43.96),
    "prosody-distill": (3.17, 44.13),
}
# A CPU core runs these encoders at some tens of GMAC/s (fp32, eager): 250 GMACs is seconds per call.
# In: everything at 3 s batch 1; at 3 s batch 16 all but Whisper large; at 30 s batch 1 all
# but Whisper large. Out: Whisper large at 3 s batch 16 and at 30 s, everything at 30 s batch 16.
DEFAULT_BUDGET_GMACS = 250.0
CHEAP_GMACS = 25.0  # calls under this get 5 rounds, the others 3


@dataclass(frozen=True)
class Case:
    model: str  # registry name
    variant: str  # "fp32" | "export-4bit" | "export-8bit"
    n_frames: int
    batch: int

    @property
    def bits(self) -> int:
        return 32 if self.variant == "fp32" else int(self.variant.split("-")[1].removesuffix("bit"))

    @property
    def seconds(self) -> int:
        return self.n_frames // FRAMES_PER_SECOND

    @property
    def group(self) -> str:
        return f"inference-{self.seconds}s-b{self.batch}"

    @property
    def id(self) -> str:
        return f"{self.model}-{self.variant}-{self.seconds}s-b{self.batch}"

    @property
    def est_gmacs(self) -> float:
        """Estimated GMACs of one call (all utterances of the batch)."""
        return GMACS_PER_UTTERANCE[self.model][FRAMES.index(self.n_frames)] * self.batch

    @property
    def rounds(self) -> int:
        return 5 if self.est_gmacs <= CHEAP_GMACS else 3


def cases() -> list[Case]:
    """Model-major order, so each model is built once per input length."""
    out = []
    for model in MODEL_ORDER:
        variants = ["fp32"] + ([f"export-{b}bit" for b in EXPORT_BITS] if model == STUDENT else [])
        for n_frames in FRAMES:
            for variant in variants:
                for batch in BATCHES:
                    out.append(Case(model, variant, n_frames, batch))
    return out


def _param(case: Case):
    marks = [pytest.mark.benchmark(group=case.group)]
    if case.est_gmacs > DEFAULT_BUDGET_GMACS:
        reason = (
            f"~{case.est_gmacs:.0f} GMACs per call, over the default budget of "
            f"{DEFAULT_BUDGET_GMACS:.0f} (~5 s per call on one core)"
        )
        marks.append(pytest.mark.bench_full(reason=reason))
    return pytest.param(case, marks=marks, id=case.id)


@pytest.fixture(scope="session")
def exported_student(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """{bits: path} of the student saved with `quads.export.save_quantized` (codebooks fitted
    to the random-init float weights, seed 0; the sinusoidal positional table is not stored)."""
    folder = tmp_path_factory.mktemp("exported")
    torch.manual_seed(0)
    model = build_model(STUDENT, NUM_CLASSES, FRAMES[0])
    paths = {}
    for bits in EXPORT_BITS:
        path = folder / f"{STUDENT}-{bits}bit.safetensors"
        config = {"model": STUDENT, "num_classes": NUM_CLASSES, "bits": bits}
        save_quantized(model, QuantConfig(bits=bits), path, config, skip=r"embed_positions")
        paths[bits] = path
    return paths


@lru_cache(maxsize=1)
def _model(name: str, variant: str, n_frames: int, path: str | None) -> nn.Module:
    """The model of a case in eval mode (one kept at a time: Whisper large is 2.4 GB)."""
    torch.manual_seed(0)
    model = build_model(name, NUM_CLASSES, n_frames)
    if path is not None:
        load_quantized(path, model)  # a fresh float skeleton filled with W = C[I]
    return model.eval()


_GMACS: dict[tuple[str, int], float] = {}


def _gmacs(name: str, n_frames: int, model: nn.Module) -> float:
    """fvcore GMACs of one utterance; computed once per (model, input length)."""
    key = (name, n_frames)
    if key not in _GMACS:
        _GMACS[key] = gmacs_fvcore(model, example_inputs(model, n_frames, batch=1))
    return _GMACS[key]


@pytest.mark.parametrize("case", [_param(c) for c in cases()])
def test_inference(benchmark, request: pytest.FixtureRequest, case: Case) -> None:
    path = None
    if case.variant != "fp32":
        path = request.getfixturevalue("exported_student")[case.bits]
    model = _model(case.model, case.variant, case.n_frames, None if path is None else str(path))
    inputs = example_inputs(model, case.n_frames, batch=case.batch)
    params = count_params(model)
    info = {
        "kind": "inference",
        "model": case.model,
        "variant": case.variant,
        "bits": case.bits,
        "n_frames": case.n_frames,
        "audio_seconds": case.seconds,
        "batch": case.batch,
        "utterances": case.batch,
        "params": params,
        "gmacs": _gmacs(case.model, case.n_frames, model),
        "size_mb": paper_size_mb(params, case.bits),
    }
    if path is not None:
        info["file_bytes"] = measured_size_bytes(path)
        info["file_mb"] = info["file_bytes"] / 2**20
    benchmark.extra_info.update(info)

    def forward() -> None:
        with torch.inference_mode():
            model(**inputs)

    benchmark.pedantic(forward, rounds=case.rounds, warmup_rounds=1)
