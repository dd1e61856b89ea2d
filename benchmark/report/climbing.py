"""Was a trained row still improving when its budget ended? One rule over its whole learning curve.

A result file's ``training.history`` holds one entry per epoch (``epoch``, ``phase`` = 1-based index
into ``training.phases``, ``valid_accuracy`` in percent), over every phase. Validation accuracy
measures two kinds of model in one curve: a quantization phase evaluates the quantized student,
every other phase (distillation, fine-tuning) the float student. MCT alternates them, so its raw
curve zig-zags (each quantization phase drops to the quantized model's level) and its final phase
alone is one epoch. The rule therefore splits the curve by kind of model and judges each part over
all its phases::

    curve      = the row's epochs of one kind of model (float | quantized), in order, n of them
    k          = min(3, n // 2)      last epochs judged; never more than the epochs before them
    earlier    = max(curve[:n - k]);  last = max(curve[n - k:])
    noise      = max(1, 100 * sqrt(p * (1 - p) / n_valid)),  p = earlier / 100
    climbing   = n < 2  or  last - earlier > noise

A row (one seed) is climbing if either of its curves is: a float student that still improves
would give a better quantized row too (its quantization phases start from it). This is
early stopping with patience k and ``min_delta`` = noise (Prechelt 1998, "Early stopping - but
when?"; Keras ``EarlyStopping(patience, min_delta)``) asked at the end of the budget: a row is
climbing when that rule would not yet have stopped it. The noise is the binomial standard error of
an accuracy p on the n_valid validation utterances, floored at one point. A single epoch of a
kind shows no plateau, so it counts as climbing. A cell over several seeds is climbing if any of
its seeds is: its value is their mean, which an unfinished seed pulls down.

A run whose budget ends where its plateau starts cannot show the plateau in its own curve.
`quads-bench continue` trains each flagged run a few epochs past its budget (validation only;
``benchmark.continuation``); where the tables have that evidence (``report.continued``), the
continued epochs decide instead (early stopping with them as patience): a flagged run whose best
continued epoch does not beat its budget's best of that kind by more than the noise has levelled
off, and is not climbing.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmark.results.noise import noise_points
from quads.mct import QUANTIZE_KINDS

FLOAT, QUANTIZED = "float", "quantized"
PATIENCE = 3  # epochs judged at most (k)
RULE_TEXT = (
    "A trained row is *climbing* (still improving when its budget ended) when, on the curve of "
    "either kind of model it trains (float epochs: distillation / fine-tuning; quantized epochs: "
    "quantization phases; each over all its phases), the best validation accuracy of its last k "
    "epochs (k = min(3, n // 2) of its n epochs) beats the best of all earlier epochs by more "
    "than the validation noise: the binomial standard error of that accuracy on the validation "
    "split's n_valid utterances, at least 1 point (early stopping with patience k and that "
    "min_delta would not yet have stopped it). A kind with a single epoch counts as climbing. A "
    "cell over several seeds is climbing if any seed is."
)
CONTINUED_RULE_TEXT = (
    "A flagged run continued past its budget (`quads-bench continue`, validation only; "
    "`continuation-{table}.md`) is judged by its continued epochs instead: it is still climbing "
    "if the best of them beats the best epoch of the same kind within the budget by more than "
    "that noise, else it levelled off and is not climbing (early stopping with the continued "
    "epochs as patience; the reported model stays the budget's)."
)


def kind_of(phase: dict | None) -> str:
    """The kind of model a phase's validation accuracy measures."""
    return QUANTIZED if phase is not None and phase.get("kind") in QUANTIZE_KINDS else FLOAT


def curves(history: Sequence[dict], phases: Sequence[dict]) -> dict[str, list[float]]:
    """Validation accuracy (percent) per epoch, split by kind of model: {kind: [acc, ...]}."""
    out: dict[str, list[float]] = {}
    for entry in sorted(history, key=lambda e: e["epoch"]):
        i = int(entry.get("phase", 0)) - 1
        phase = phases[i] if 0 <= i < len(phases) else None
        out.setdefault(kind_of(phase), []).append(float(entry["valid_accuracy"]))
    return out


def curve_climbing(curve: Sequence[float], n_valid: int | None) -> bool:
    """The rule of the module docstring on one kind's curve."""
    n = len(curve)
    if n < 2:
        return True
    k = min(PATIENCE, n // 2)
    earlier, last = max(curve[: n - k]), max(curve[n - k :])
    return last - earlier > noise_points(earlier, n_valid)


def n_valid_of(data: dict) -> int | None:
    """Validation utterances a result file's ``data`` records (``features.valid.utterances``)."""
    valid = (data.get("features") or {}).get("valid") or {}
    n = valid.get("features", valid.get("utterances"))
    return int(n) if isinstance(n, int | float) and n > 0 else None


def budget_climbing_kinds(result) -> list[str] | None:
    """The kinds of model whose curve still climbs at the end of a result's budget ([] when
    none), or None for a row that did not train (no history): the rule on its own curve."""
    history = result.training.get("history") or []
    if not history:
        return None
    n_valid = n_valid_of(result.data)
    parts = curves(history, result.training.get("phases") or [])
    return [kind for kind, curve in parts.items() if curve_climbing(curve, n_valid)]


def climbing_kinds(result) -> list[str] | None:
    """``budget_climbing_kinds``, unless the run was continued past its budget
    (``training["continued"]``, attached by ``report.continued.attach``): then the continued
    curve decides: [] when it levelled off, [the kind continued] when it still climbed."""
    kinds = budget_climbing_kinds(result)
    continued = result.training.get("continued")
    if not kinds or not continued:
        return kinds
    return [continued["kind"]] if continued["climbing"] else []


def levelled_when_continued(result) -> bool:
    """Flagged at the end of its budget, but levelled off when continued past it."""
    return bool(budget_climbing_kinds(result)) and climbing_kinds(result) == []
