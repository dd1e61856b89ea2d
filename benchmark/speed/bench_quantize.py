"""Cost of the quantizer: training-step overhead, codebook fitting, per-step re-quantization.

The student is the registry's "whisper-tiny" classifier (31 classes, 300 frames = 3 s) with
pretrained tiny.en encoder weights when an offline source has them (k-means error depends on
the weight distribution), else random init; `extra_info["weights"]` says which.

Groups (the report's "Ratios" section reads them by `extra_info`, not by name):
    train-step           batch 16, Adam, CE: float, and with 4-/8-bit codebooks attached. The
                         quantized benchmarks run one float step (timed here, untimed by
                         pytest-benchmark) before every round, so each quantized step has a
                         float step next to it: `paired_overhead` = median(q_i / f_i) - 1.
    codebook-fit-{4,8}bit  clustering every covered weight: ours (`CodebookQuantizer.attach`)
                         vs the authors' (`authors_fit`, fast_pytorch_kmeans), with the weight
                         MSE sum (W - C[I])^2 / numel over all covered weights.
    per-step-quantization  what each quantization-phase step costs on top of a float step: the
                         authors' centroid reset (`authors_requantize`) vs our gather W = C[I]
                         plus its Eq. 4 backward (bincount), for all covered weights.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from functools import lru_cache

import pytest
import torch
from torch import Tensor, nn

from baselines.registry import build_model
from benchmark.metrics import count_params
from benchmark.speed.reference_kmeans import AuthorsCodebook, authors_fit, authors_requantize
from quads.codebook import gather_weight
from quads.quantize import CodebookQuantizer, QuantConfig

STUDENT = "whisper-tiny"
NUM_CLASSES = 31  # FSC intents
N_FRAMES = 300  # 3 s at a 10 ms hop: the default (cpu) profile's input length
BATCH = 16
TRAIN_ROUNDS = 5
FIT_ROUNDS = 3
AUTHORS_FIT_ROUNDS = {
    4: 2,
    8: 1,
}  # their 8-bit fit takes tens of seconds on a small CPU: one round, no warm-up
AUTHORS_FIT_WARMUP = {4: 1, 8: 0}

TRAIN_GROUP = "train-step"
PER_STEP_GROUP = "per-step-quantization"


def fit_group(bits: int) -> str:
    return f"codebook-fit-{bits}bit"


@lru_cache(maxsize=1)
def _student() -> tuple[nn.Module, str]:
    from baselines.weights import WeightsUnavailable, load_whisper_encoder

    torch.manual_seed(0)
    model = build_model(STUDENT, NUM_CLASSES, N_FRAMES)
    try:
        pre = load_whisper_encoder("tiny.en", allow_hub=False)
    except WeightsUnavailable:
        return model, "random init (seed 0)"
    model.load_encoder_state(pre.state_dict)
    return model, f"pretrained {pre.name}"


def student() -> tuple[nn.Module, str]:
    """A fresh copy of the student in train mode, and where its weights came from."""
    model, weights = _student()
    return copy.deepcopy(model).train(), weights


def batch() -> tuple[Tensor, Tensor]:
    """Inputs (16, 80, 300) and labels (16,), seeded."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH, 80, N_FRAMES, generator=gen)
    y = torch.randint(0, NUM_CLASSES, (BATCH,), generator=gen)
    return x, y


def train_step(model: nn.Module, x: Tensor, y: Tensor) -> Callable[[], None]:
    """One Adam step on CE; build it after attach() (parameters change identity)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


def weight_mse(originals: dict[str, Tensor], model: nn.Module) -> float:
    """sum over tensors of (W - W_q)^2 / total numel; W_q is `<module>.weight` now."""
    sq, n = 0.0, 0
    for name, w in originals.items():
        wq = model.get_submodule(name.rsplit(".", 1)[0]).weight.detach()
        sq += float(((wq.double() - w.double()) ** 2).sum())
        n += w.numel()
    return sq / n


def _round_times(benchmark) -> list[float]:
    """Per-round durations pytest-benchmark recorded (empty with --benchmark-disable)."""
    stats = getattr(benchmark, "stats", None)
    return list(stats.stats.data) if stats is not None else []


# ------------------------------------------------------------------------------ train step


@pytest.mark.benchmark(group=TRAIN_GROUP)
@pytest.mark.parametrize("bits", [0, 4, 8], ids=["float", "4bit", "8bit"])
def test_train_step(benchmark, bits: int) -> None:
    model, weights = student()
    x, y = batch()
    info = {"kind": "train-step", "model": STUDENT, "bits": bits, "batch": BATCH}
    info |= {"n_frames": N_FRAMES, "utterances": BATCH, "weights": weights}
    info["params"] = count_params(model)
    if bits == 0:
        benchmark.extra_info.update(info)
        benchmark.pedantic(train_step(model, x, y), rounds=TRAIN_ROUNDS, warmup_rounds=1)
        return
    float_model, _ = student()
    float_step = train_step(float_model, x, y)
    CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
    float_times: list[float] = []

    def setup() -> None:
        t0 = time.perf_counter()
        float_step()
        float_times.append(time.perf_counter() - t0)

    info["trainable_after_attach"] = count_params(model)
    benchmark.extra_info.update(info)
    benchmark.pedantic(train_step(model, x, y), setup=setup, rounds=TRAIN_ROUNDS, warmup_rounds=1)
    quant = _round_times(benchmark)
    if quant:
        paired = float_times[-len(quant) :]
        ratios = [q / f for q, f in zip(quant, paired, strict=True)]
        benchmark.extra_info["paired_float_median_s"] = statistics.median(paired)
        benchmark.extra_info["paired_overhead"] = statistics.median(ratios) - 1.0


# ------------------------------------------------------------------------------ codebook fit

_AUTHORS_FITTED: dict[int, tuple[nn.Module, dict[str, AuthorsCodebook]]] = {}


def _fit_cases() -> list:
    return [
        pytest.param(
            impl, bits, marks=pytest.mark.benchmark(group=fit_group(bits)), id=f"{impl}-{bits}bit"
        )
        for bits in (4, 8)
        for impl in ("ours", "authors")
    ]


@pytest.mark.parametrize(("impl", "bits"), _fit_cases())
def test_codebook_fit(benchmark, impl: str, bits: int) -> None:
    last: dict = {}
    weights = student()[1]

    if impl == "ours":

        def setup():
            model, _ = student()
            q = CodebookQuantizer(model, QuantConfig(bits=bits))
            last["model"] = model
            last["originals"] = {name: m.weight.detach().clone() for name, m in q}
            return (q,), {}

        def target(q: CodebookQuantizer) -> None:
            q.attach()

        rounds, warmup = FIT_ROUNDS, 1
    else:

        def setup():
            model, _ = student()
            last["model"] = model
            last["originals"] = {
                n: p.detach().clone()
                for n, p in model.named_parameters()
                if p.dim() > 1 and p.requires_grad
            }
            torch.manual_seed(0)  # fast_pytorch_kmeans draws its initial centroids from it
            return (model, bits), {}

        def target(model: nn.Module, bits: int) -> None:
            last["state"] = authors_fit(model, bits)

        rounds, warmup = AUTHORS_FIT_ROUNDS[bits], AUTHORS_FIT_WARMUP[bits]

    benchmark.pedantic(target, setup=setup, rounds=rounds, warmup_rounds=warmup)
    originals = last["originals"]
    benchmark.extra_info.update(
        {
            "kind": "codebook-fit",
            "impl": impl,
            "bits": bits,
            "model": STUDENT,
            "weights": weights,
            "tensors": len(originals),
            "values": sum(w.numel() for w in originals.values()),
            "mse": weight_mse(originals, last["model"]),
        }
    )
    if impl == "authors":
        _AUTHORS_FITTED[bits] = (last["model"], last["state"])


# ------------------------------------------------------------------------------ per step


def _authors_fitted(bits: int) -> tuple[nn.Module, dict[str, AuthorsCodebook]]:
    """The model + labels of the codebook-fit benchmark, or a fresh (untimed) fit."""
    if bits not in _AUTHORS_FITTED:
        model, _ = student()
        torch.manual_seed(0)
        _AUTHORS_FITTED[bits] = (model, authors_fit(model, bits))
    return _AUTHORS_FITTED[bits]


def _per_step_cases() -> list:
    return [
        pytest.param(impl, bits, id=f"{impl}-{bits}bit")
        for bits in (4, 8)
        for impl in ("ours", "authors")
    ]


@pytest.mark.benchmark(group=PER_STEP_GROUP)
@pytest.mark.parametrize(("impl", "bits"), _per_step_cases())
def test_per_step_quantization(benchmark, impl: str, bits: int) -> None:
    info = {"kind": "per-step", "impl": impl, "bits": bits, "model": STUDENT}
    if impl == "authors":
        model, state = _authors_fitted(bits)
        info["tensors"] = len(state)
        benchmark.extra_info.update(info)
        benchmark.pedantic(authors_requantize, args=(model, state), rounds=3, warmup_rounds=1)
        return
    model, _ = student()
    q = CodebookQuantizer(model, QuantConfig(bits=bits)).attach()
    books = [
        (m.weight_centroids.detach().clone().requires_grad_(True), m.weight_indices, m.weight.shape)
        for _, m in q
    ]
    gen = torch.Generator().manual_seed(2)
    grads = [torch.randn(tuple(shape), generator=gen) for _, _, shape in books]

    def gather_and_backward() -> None:
        for (centroids, indices, shape), grad in zip(books, grads, strict=True):
            gather_weight(centroids, indices, tuple(shape)).backward(grad)

    info["tensors"] = len(books)
    benchmark.extra_info.update(info)
    benchmark.pedantic(gather_and_backward, rounds=5, warmup_rounds=1)
