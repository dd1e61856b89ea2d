"""Metrics as pure functions: accuracy, macro F1, #params, model size, GMACs, energy.

Conventions reproduce the paper's efficiency columns (Whisper tiny / base / small / large-v2 with
transformers' eager WhisperEncoder, mean pooling and a linear head give its FSC numbers to within
0.1 %): #params counts trainable
parameters (Whisper's sinusoidal positional table is frozen), "MB" is MiB at the stated bit width
(params x bits / 8 / 2^20, no codebook overhead), GMACs are fvcore's count for one utterance.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

# --- task metrics ---------------------------------------------------------------------------


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Percentage of exact matches."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(
            f"accuracy needs two equal, non-empty label arrays, got {t.shape}, {p.shape}"
        )
    return float((t == p).mean() * 100.0)


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Unweighted mean of per-class F1 in percent, over classes present in y_true or y_pred.

    Same convention as scikit-learn's ``f1_score(average="macro")`` (a class with no true and no
    predicted examples does not count; 0/0 precision or recall counts as 0).
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(
            f"macro_f1 needs two equal, non-empty label arrays, got {t.shape}, {p.shape}"
        )
    scores = []
    for c in np.union1d(t, p):
        tp = np.sum((t == c) & (p == c))
        fp = np.sum((t != c) & (p == c))
        fn = np.sum((t == c) & (p != c))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores) * 100.0)


def resample_counts(groups: Sequence[int], n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """How often each recording is drawn in each resample of a cluster bootstrap: (R, N) ints.

    groups (N,): a group id per recording (e.g. one per sentence: SLURP's ``slurp_id`` records a
    sentence several times, and its recordings are not independent). Each resample draws G of
    the G groups with replacement and takes all recordings of each drawn group (Davison &
    Hinkley 1997, Bootstrap Methods, Sec. 3.8: resample the independent units). Ids are
    renumbered in order of first appearance, so with one recording per group (ids 0..N-1 in
    order) this draws exactly the per-recording bootstrap's indices for the same ``seed``. Two
    rows compared pairwise pass the same ``groups`` and ``seed`` and get the same resamples.
    """
    g = np.asarray(groups)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"groups must be a non-empty 1-D array of ids, got shape {g.shape}")
    _, first, inverse = np.unique(g, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # sorted-id rank -> rank of first appearance
    gid = order[inverse]  # (N,) group ids 0..G-1 in order of first appearance
    n_groups = first.size
    draws = np.random.default_rng(seed).integers(0, n_groups, size=(n_resamples, n_groups))
    flat = (np.arange(n_resamples)[:, None] * n_groups + draws).ravel()
    per_group = np.bincount(flat, minlength=n_resamples * n_groups).reshape(n_resamples, -1)
    return per_group[:, gid]  # (R, N)


def _weighted_f1_acc(
    t: np.ndarray, p: np.ndarray, w: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro F1 (percent) of R weighted resamples: t, p (N,) ids in [0, k),
    w (R, N) how often each recording is drawn (a recording drawn twice counts twice in the
    confusion matrix: the per-recording bootstrap's arithmetic on indices)."""
    r = w.shape[0]
    flat = (np.arange(r)[:, None] * k * k + (t * k + p)[None, :]).ravel()
    conf = np.bincount(flat, weights=w.ravel(), minlength=r * k * k).reshape(r, k, k)
    tp = np.diagonal(conf, axis1=1, axis2=2)  # (R, k)
    support, predicted = conf.sum(2), conf.sum(1)
    denom = support + predicted  # 2 tp + fp + fn
    present = denom > 0
    f1 = np.where(present, 2 * tp / np.maximum(denom, 1), 0.0).sum(1) / present.sum(1)
    return tp.sum(1) / w.sum(1) * 100.0, f1 * 100.0


# (n_resamples, K, K) int64 counts bootstrap_ci may allocate: 2^28 = 2 GiB, 1000 resamples of
# up to 518 classes (synthetic SLURP has 58 intents, FSC 31)
MAX_CONFUSION_CELLS = 2**28


def bootstrap_ci(
    y_true: Sequence[int],
    y_preds: Sequence[Sequence[int]],
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    groups: Sequence[int] | None = None,
    num_classes: int | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals over the test set of accuracy and macro F1 (percent).

    y_preds: one prediction array (N,) per seed, all on the same test set y_true (N,); each
    resample scores the mean over seeds, so the interval is that of the seed-mean a report
    prints. ``groups`` (N,): a sentence id per recording, for a cluster bootstrap
    (``resample_counts``: groups are drawn, with all their recordings); None resamples the
    recordings as independent (the same draws as one group per recording). Same macro-F1
    convention as ``macro_f1``. Deterministic for a given ``seed``.
    Returns {"accuracy": (lo, hi), "f1": (lo, hi)}.
    Class ids must be integers in [0, num_classes) (without ``num_classes``: >= 0, and small
    enough that the (n_resamples, K, K) confusion counts fit in ``MAX_CONFUSION_CELLS``);
    others raise ``ValueError`` instead of allocating.
    """
    t = np.asarray(y_true)
    preds = [np.asarray(p) for p in y_preds]
    if t.size == 0 or not preds or any(p.shape != t.shape for p in preds):
        raise ValueError("bootstrap_ci needs non-empty predictions of the test set's length")
    if any(not np.issubdtype(a.dtype, np.integer) for a in (t, *preds)):
        raise ValueError("bootstrap_ci needs integer class ids")
    lo, hi = (
        int(min(t.min(), *(p.min() for p in preds))),
        int(max(t.max(), *(p.max() for p in preds))),
    )
    if lo < 0 or (num_classes is not None and hi >= num_classes):
        upper = "inf" if num_classes is None else num_classes
        bad = lo if lo < 0 else hi
        raise ValueError(f"bootstrap_ci: class id {bad} is outside [0, {upper})")
    k = hi + 1
    if n_resamples * k * k > MAX_CONFUSION_CELLS:
        raise ValueError(
            f"bootstrap_ci: class id {hi} needs {n_resamples} confusion matrices of {k} x {k}; "
            f"more than {MAX_CONFUSION_CELLS} counts (is it a class id?)"
        )
    g = np.arange(t.size) if groups is None else np.asarray(groups)
    if g.shape != t.shape:
        raise ValueError(f"bootstrap_ci: {g.size} group ids for {t.size} test recordings")
    w = resample_counts(g, n_resamples, seed)
    acc, f1 = np.zeros(n_resamples), np.zeros(n_resamples)
    for p in preds:
        a, f = _weighted_f1_acc(t, p, w, k)
        acc += a / len(preds)
        f1 += f / len(preds)
    q = ((1 - level) / 2 * 100, (1 + level) / 2 * 100)
    lo_a, hi_a = np.percentile(acc, q)
    lo_f, hi_f = np.percentile(f1, q)
    return {"accuracy": (float(lo_a), float(hi_a)), "f1": (float(lo_f), float(hi_f))}


def resampled_scores(
    y_true: np.ndarray, y_pred: np.ndarray, counts: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and macro F1 (percent) of each bootstrap resample, the arithmetic of
    ``bootstrap_ci``: y_true, y_pred (N,) class ids < n_classes, counts (R, N) how often each
    recording is drawn (``resample_counts``) -> two (R,) arrays. Paired comparisons (one model on
    clean vs corrupted inputs) pass the same ``counts`` to both."""
    return _weighted_f1_acc(np.asarray(y_true), np.asarray(y_pred), counts, n_classes)


def chance_accuracy(y_true: Sequence[int]) -> float:
    """Accuracy (percent) of always predicting the most frequent test class."""
    t = np.asarray(y_true)
    return float(np.bincount(t).max() / t.size * 100.0)


def chance_f1(y_true: Sequence[int]) -> float:
    """Macro F1 (percent) a guesser reaches in expectation by drawing each prediction from the
    test split's class frequencies p_k: per class precision = recall = p_k, so macro F1 =
    mean_k p_k = 100 / K over the K classes present."""
    return 100.0 / np.unique(np.asarray(y_true)).size


def at_chance(y_true: Sequence[int], accuracy_low: float, f1_low: float) -> bool:
    """Is a model indistinguishable from chance: the lower end of its accuracy interval reaches
    the most-frequent-class rate (``chance_accuracy``), or that of its macro-F1 interval reaches
    the prior-matched guesser's macro F1 (``chance_f1``)? A model that mostly repeats one class
    can be above the first and still at the second."""
    return bool(accuracy_low <= chance_accuracy(y_true) or f1_low <= chance_f1(y_true))


# --- size ------------------------------------------------------------------------------------


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters, counting shared tensors once."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def paper_size_mb(n_params: int, bits: int) -> float:
    """Model size as the paper computes it: params x bits / 8 bytes, in MiB (2^20 bytes)."""
    if bits <= 0:
        raise ValueError(f"bits must be positive, got {bits}")
    return n_params * bits / 8 / 2**20


# --- compute ---------------------------------------------------------------------------------


def _zero_flops(inputs, outputs) -> int:
    return 0


def gmacs_fvcore(
    model: nn.Module, inputs: Mapping[str, torch.Tensor], count_norms: bool = True
) -> float:
    """Giga multiply-accumulates of one forward pass, counted by fvcore.

    ``inputs`` are the model's keyword inputs for one utterance (batch 1), e.g.
    ``{"mel": (1, 80, 3000)}``. Attention must run as explicit matmuls (eager attention): fvcore
    does not count ``aten::scaled_dot_product_attention``. fvcore counts layer_norm at 5 flops per
    element; ``count_norms=False`` removes that (a handle returning 0; ``set_op_handle(name, None)``
    does not remove it).
    """
    from fvcore.nn import FlopCountAnalysis

    names = tuple(inputs)
    wrapped = _KeywordModule(model, names)
    analysis = FlopCountAnalysis(wrapped, tuple(inputs[n] for n in names))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    if not count_norms:
        for op in ("aten::layer_norm", "aten::group_norm", "aten::batch_norm"):
            analysis.set_op_handle(op, _zero_flops)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad():
        return analysis.total() / 1e9


def gmacs_flop_counter(model: nn.Module, inputs: Mapping[str, torch.Tensor]) -> float:
    """Cross-check with ``torch.utils.flop_counter.FlopCounterMode`` (it reports FLOPs = 2 x MACs)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(**inputs)
    return counter.get_total_flops() / 2 / 1e9


class _KeywordModule(nn.Module):
    """Adapts a keyword-input model to fvcore's positional tracing."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, args, strict=True)))


# --- energy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnergyMeasurement:
    joules_per_utterance: float  # CPU + RAM energy (codecarbon's energy_consumed) / utterances
    cpu_joules_per_utterance: float
    utterances: int
    seconds: float
    mode: str  # how codecarbon measured CPU power, e.g. "intel_rapl" or "cpu_load" (TDP estimate)
    cpu_model: str
    # share of the machine's CPU time that OTHER processes used during the measurement (0-1);
    # codecarbon's load x TDP estimate charges it to us; None where /proc/stat is unreadable
    other_load: float | None = None


# other processes' CPU share above which an energy figure is flagged as inflated
BUSY_MACHINE = 0.10


def cpu_times() -> tuple[float, float] | None:
    """(busy seconds of the whole machine, busy seconds of this process) so far, from
    /proc/stat (all CPUs: user + nice + system + irq + softirq + steal, in USER_HZ ticks) and
    ``os.times``; None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(x) for x in fields]
    busy = sum(ticks[i] for i in (0, 1, 2, 5, 6, 7) if i < len(ticks))  # not idle, iowait
    own = os.times()
    return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system


def other_load(
    before: tuple[float, float] | None, after: tuple[float, float] | None, wall: float
) -> float | None:
    """Share of all cores' time (0-1) used by processes other than this one between two
    ``cpu_times`` readings ``wall`` seconds apart."""
    if before is None or after is None or wall <= 0:
        return None
    others = (after[0] - before[0]) - (after[1] - before[1])
    return min(max(others / (wall * (os.cpu_count() or 1)), 0.0), 1.0)


def measure_energy(
    run_batch: Callable[[], int], min_seconds: float = 2.0, max_batches: int = 10_000
) -> EnergyMeasurement:
    """Energy per utterance of ``run_batch`` (which runs inference and returns its batch size).

    Uses codecarbon's offline tracker: no network, nothing written to disk. On most containers
    codecarbon has no RAPL access and estimates CPU power from load x TDP; ``mode`` says which.
    """
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(
        country_iso_code="USA",
        save_to_file=False,
        save_to_api=False,
        log_level="error",
        measure_power_secs=1,
        tracking_mode="process",
        allow_multiple_runs=True,
    )
    tracker.start()
    start = time.perf_counter()
    times = cpu_times()
    n = 0
    for _ in range(max_batches):
        n += run_batch()
        if time.perf_counter() - start >= min_seconds:
            break
    seconds = time.perf_counter() - start
    shared = other_load(times, cpu_times(), seconds)
    tracker.stop()
    data = tracker.final_emissions_data
    mode = "unknown"
    for hw in getattr(tracker, "_hardware", []):
        if type(hw).__name__ == "CPU":
            mode = str(getattr(hw, "_mode", "unknown"))
    kwh_to_j = 3.6e6
    return EnergyMeasurement(
        joules_per_utterance=data.energy_consumed * kwh_to_j / n,
        cpu_joules_per_utterance=data.cpu_energy * kwh_to_j / n,
        utterances=n,
        seconds=seconds,
        mode=mode,
        cpu_model=data.cpu_model,
        other_load=shared,
    )
