"""Numbers read back from result-like files, checked before anything uses them: class ids in
range, accuracy and macro F1 re-derived from the stored predictions, every value finite and in
its range.

One set of checks for the table result files (``schema``), the robustness result files
(``benchmark.robustness.results``) and the frontier study records (``benchmark.frontier.study``).
Each function returns the first problem as a short phrase (None: no problem); the caller adds the
file's name and the fix. A checksum only shows that nobody edited a file without redoing it (any
script can redo a sha256); these checks show that its numbers are ones the harness can write.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from benchmark.data.records import RECORDING, SENTENCE_UNITS
from benchmark.metrics import accuracy, macro_f1

# metrics in percent, [0, 100]; every other stored metric (sizes, params, GMACs, energies,
# epochs, seconds) is a count or a measure, >= 0
PERCENT = frozenset({"accuracy", "f1", "valid_accuracy", "valid_f1", "test_f1"})
SHARES = frozenset({"energy_other_load"})  # fractions in [0, 1]
# stored metrics were computed by the same functions on the same ids, so they agree to the last
# bit; the tolerance only allows for a float printed and parsed again
REL_TOL = 1e-9
DERIVED = {"accuracy": accuracy, "f1": macro_f1}


def value_problem(name: str, value: object) -> str | None:
    """Why ``value`` cannot be the stored metric ``name`` (None: it can): not a number, NaN or
    infinite, a percentage outside [0, 100], or a negative size / count / energy."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name!r} is a {type(value).__name__}, not a number"
    if not math.isfinite(value):
        return f"{name!r} is {value}, not a finite number"
    if name in PERCENT and not 0.0 <= value <= 100.0:
        return f"{name!r} is {value}, outside [0, 100] percent"
    if value < 0:
        return f"{name!r} is {value}, a negative value"
    if name in SHARES and value > 1:
        return f"{name!r} is {value}, a share above 1"
    return None


def class_ids_problem(name: str, ids: object, num_classes: int | None) -> str | None:
    """Why ``ids`` is not a list of class ids in [0, num_classes) (None: it is). Without
    ``num_classes`` only the lower bound is checked."""
    if not isinstance(ids, list):
        return f"predictions {name!r} is a {type(ids).__name__}, not a list of class ids"
    for i, c in enumerate(ids):
        if type(c) is not int:
            return f"predictions {name!r}[{i}] is {c!r}, not an integer class id"
        if c < 0 or (num_classes is not None and c >= num_classes):
            upper = num_classes if num_classes is not None else "inf"
            return f"predictions {name!r}[{i}] is class id {c}, outside [0, {upper})"
    return None


def config_num_classes(config: Mapping[str, object]) -> object:
    """The class count a result's run configuration (``benchmark.run.experiment.experiment_config``) records:
    "num_classes", else its identity's "classes" (None: neither)."""
    identity = config.get("identity")
    return config.get(
        "num_classes", identity.get("classes") if isinstance(identity, dict) else None
    )


def num_classes_problem(num_classes: object) -> str | None:
    if type(num_classes) is not int or num_classes < 1:
        return f"its config's num_classes is {num_classes!r}, not a positive integer"
    return None


def predictions_problem(
    truth: object,
    scored: Mapping[str, tuple[object, Mapping[str, object]]],
    num_classes: int | None,
) -> str | None:
    """Why stored predictions and the metrics stored beside them cannot be what the harness
    wrote (None: they can). ``truth``: the test ids (N,); ``scored``: name -> (predicted ids (N,),
    {"accuracy": x, "f1": y} as stored, either may be absent or None). Checks the ids (integers
    in [0, num_classes)), that every list has N > 0 entries, each metric's range, and that each
    stored accuracy / macro F1 equals the one re-derived from the ids (``REL_TOL``)."""
    why = class_ids_problem("truth", truth, num_classes)
    if why:
        return why
    if not truth:
        return "predictions 'truth' is empty (no test utterances)"
    for name, (pred, stored) in scored.items():
        why = class_ids_problem(name, pred, num_classes)
        if why:
            return why
        if len(pred) != len(truth):
            return f"predictions {name!r} has {len(pred)} ids, 'truth' {len(truth)}"
        for metric, derive in DERIVED.items():
            value = stored.get(metric)
            why = value_problem(metric, value)
            if why:
                return f"{name}: {why}"
            if value is None:
                continue
            derived = derive(truth, pred)
            if not math.isclose(value, derived, rel_tol=REL_TOL, abs_tol=REL_TOL):
                return (
                    f"stored {metric} {value:.6g} of {name!r} is not that of its stored "
                    f"predictions ({derived:.6g})"
                )
    return None


def sentence_ids_problem(unit: object, groups: object, n: int) -> str | None:
    """Why ``groups`` cannot be the sentence ids of ``n`` test recordings grouped by ``unit``
    (``records.SENTENCE_UNITS``; None: they can): an unknown unit, ids without a unit or a unit
    without ids (the "recording" unit stores none; ``groups`` empty or None), or not one
    non-negative integer per recording."""
    if unit not in SENTENCE_UNITS:
        return f"sentence unit {unit!r} is not one of {SENTENCE_UNITS}"
    if bool(groups) != (unit != RECORDING):
        return f"sentence unit {unit!r} with {len(groups or [])} sentence ids"
    if groups and (
        not isinstance(groups, list)
        or len(groups) != n
        or not all(type(g) is int and g >= 0 for g in groups)
    ):
        return f"the sentence ids are not one sentence id per test recording ({n})"
    return None
