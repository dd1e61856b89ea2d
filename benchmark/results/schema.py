"""What a result file must hold: its keys and their types, and the run its path names.

``check_result_json`` validates a parsed result file (schema 2) before it becomes a ``Result``;
``check_result_path`` checks that the run inside the file (experiment, profile, seed) is the run
its path names, so a copy (``... (copy).json``) or a seed-0 file copied to the seed-1 path is
refused. Both raise ``ValueError`` naming the file.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from benchmark.results.stored_values import (
    DERIVED,
    class_ids_problem,
    config_num_classes,
    num_classes_problem,
    predictions_problem,
    value_problem,
)
from benchmark.rows import TABLES, Experiment, experiments

_NUMBER = (int, float)

# top-level key -> allowed types of its value (bool is excluded from int explicitly below)
RESULT_KEYS: dict[str, tuple[type, ...]] = {
    "schema": (int,),
    "checksum": (str,),
    "experiment": (dict,),
    "profile": (str,),
    "seed": (int,),
    "corpus": (str,),
    "metrics": (dict,),
    "notes": (dict,),
    "config": (dict,),
    "provenance": (dict,),
    "wall_seconds": _NUMBER,
    "artifacts": (dict,),
    "training": (dict,),
    "data": (dict,),
    "predictions": (dict,),
}
_EXPERIMENT_KEYS = {f.name: f.type for f in fields(Experiment)}


def _is(value: object, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


def check_result_json(data: object, path: Path) -> None:
    """Raise ``ValueError`` naming ``path`` unless ``data`` has exactly the keys of a result file
    with values of the right types (metrics numbers or null, notes and artifacts strings,
    predictions lists of class ids)."""

    def bad(what: str) -> ValueError:
        return ValueError(f"result file {path} is malformed: {what} (delete it to recompute)")

    if not isinstance(data, dict):
        raise bad(f"a JSON {type(data).__name__}, not an object")
    missing = sorted(set(RESULT_KEYS) - set(data))
    unknown = sorted(set(data) - set(RESULT_KEYS))
    if missing or unknown:
        raise bad(f"missing keys {missing}, unknown keys {unknown}")
    for key, types in RESULT_KEYS.items():
        if not _is(data[key], types):
            raise bad(f"{key!r} is a {type(data[key]).__name__}")
    exp = {k: v for k, v in data["experiment"].items() if k != "needs"}  # older files' field
    if set(exp) != set(_EXPERIMENT_KEYS):
        raise bad(f"experiment has keys {sorted(exp)}, expected {sorted(_EXPERIMENT_KEYS)}")
    for k, v in exp.items():
        if not _is(v, (int,) if k == "bits" else (str,)):
            raise bad(f"experiment {k!r} is a {type(v).__name__}")
    if data["seed"] < 0:
        raise bad(f"seed {data['seed']} is negative")
    for k, v in data["metrics"].items():
        why = value_problem(k, v)
        if why:
            raise bad(f"metric {why}")
    why = value_problem("wall_seconds", data["wall_seconds"])
    if why:
        raise bad(why)
    for section in ("notes", "artifacts"):
        for k, v in data[section].items():
            if not isinstance(v, str):
                raise bad(f"{section} {k!r} is a {type(v).__name__}")
    for k, v in data["predictions"].items():
        # "truth" and "pred" are checked against num_classes in _scores_problem
        why = None if k in ("truth", "pred") else class_ids_problem(k, v, None)
        if why:
            raise bad(why)
    preds = data["predictions"]
    if "group" in preds and len(preds["group"]) != len(preds.get("truth", ())):
        raise bad("predictions 'group' (sentence ids) and 'truth' differ in length")
    why = _scores_problem(data)
    if why:
        raise bad(why)


def _scores_problem(data: dict) -> str | None:
    """Class ids in [0, num_classes) and accuracy / macro F1 equal to those re-derived from the
    stored test predictions (``stored_values.predictions_problem``); a stored accuracy or F1
    needs predictions to be re-derived from."""
    preds, metrics = data["predictions"], data["metrics"]
    if "truth" not in preds and "pred" not in preds:
        stated = [m for m in DERIVED if metrics.get(m) is not None]
        return f"metrics {stated} without the test predictions they come from" if stated else None
    if "truth" not in preds or "pred" not in preds:
        return "predictions hold only one of 'truth' and 'pred'"
    num_classes = config_num_classes(data["config"])
    why = num_classes_problem(num_classes)
    if why:
        return why
    return predictions_problem(preds["truth"], {"pred": (preds["pred"], metrics)}, num_classes)


def check_result_path(path: Path, expected: Path, exp: Experiment) -> None:
    """Raise ``ValueError`` unless ``path`` is where the harness writes the file's own run
    (``expected``, from ``results.result_path``) and its experiment is a row of its table."""
    if exp.table not in TABLES or exp not in experiments(exp.table):
        raise ValueError(
            f"result file {path} holds an experiment that is no row of the harness "
            f"({exp.row}, {exp.bits} bit, {exp.init}, {exp.strategy}, {exp.dataset}); delete it"
        )
    if Path(path).absolute() != Path(expected).absolute():
        raise ValueError(
            f"result file {path} holds the run of {expected.name} (row, dataset, bits, init, "
            "strategy, seed or profile differ from its name): not the harness's file for this "
            "path, so it is not used (delete it, or move it to its own name)"
        )
