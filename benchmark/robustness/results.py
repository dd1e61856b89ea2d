"""Robustness result files: one JSON per (Table 1 row, dataset, profile, seed), written atomically
with a checksum, validated on read like the table result files (``benchmark.results.files``).

``<out>/results/<profile>/robustness/<dataset>/<row slug>-seed<N>.json`` holds the row's test
predictions on the clean split and under every condition, their accuracy / macro F1, the snapshot
they came from, the check of the clean predictions against the row's Table 1 result file, the
configuration that decides whether the file is reused, and the provenance of the run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.data.records import RECORDING
from benchmark.results.files import checked_payload, write_checked_json
from benchmark.results.identity import split_by_config
from benchmark.results.stored_values import (
    config_num_classes,
    num_classes_problem,
    predictions_problem,
    sentence_ids_problem,
    value_problem,
)
from benchmark.rows import Experiment, experiments

SCHEMA = 1
KIND = "robustness"
CLEAN = "clean"
# clean_check statuses: the snapshot's clean predictions vs the Table 1 result file's
EQUAL, DIFFER, NO_RESULT, OTHER_CONFIG = "equal", "DIFFER", "no table1 result", "other config"

KEYS: dict[str, type | tuple[type, ...]] = {
    "schema": int,
    "kind": str,
    "checksum": str,
    "experiment": dict,
    "profile": str,
    "seed": int,
    "corpus": str,
    "snapshot": dict,
    "config": dict,
    "clean_check": dict,
    "metrics": dict,
    "predictions": dict,
    "provenance": dict,
    "wall_seconds": (int, float),
    "feature_seconds": dict,
}
# keys a file may lack: files written before them are read with the field's default
OPTIONAL_KEYS: dict[str, type] = {"sentence_unit": str}
GROUP = "group"  # predictions["group"]: the sentence id of each test recording (N,)


@dataclass(frozen=True)
class RobustnessResult:
    experiment: Experiment
    profile: str
    seed: int
    corpus: str
    snapshot: dict[str, str]  # path, sha256 of the evaluated-model snapshot
    config: dict[str, object]  # conditions, n_frames, data, the row's Table 1 configuration
    clean_check: dict[str, object]  # status, table1_result, differing, n
    metrics: dict[str, dict[str, float]]  # condition (and "clean") -> accuracy, f1
    predictions: dict[str, list[int]]  # "truth", "clean" and one list per condition (N,)
    provenance: dict[str, object] = field(default_factory=dict)
    wall_seconds: float = 0.0  # inference: clean + every condition
    # input -> seconds its corrupted test features took to build, summed over the conditions (as
    # recorded in the shared cache files; the cost of the corpus, paid once for every row)
    feature_seconds: dict[str, float] = field(default_factory=dict)
    # what predictions["group"] groups the test recordings by (``records.sentence_unit``);
    # "recording" (and no "group") in files written before the sweep stored sentence ids
    sentence_unit: str = RECORDING

    @property
    def conditions(self) -> list[str]:
        return [c for c in self.metrics if c != CLEAN]

    @property
    def groups(self) -> list[int] | None:
        """The test recordings' sentence ids (N,), None when the file has none."""
        return self.predictions.get(GROUP)


def robustness_path(results_dir: Path, exp: Experiment, profile: str, seed: int) -> Path:
    return results_dir / profile / KIND / exp.dataset.lower() / f"{exp.slug}-seed{seed}.json"


def write_robustness(path: Path, result: RobustnessResult) -> None:
    """Atomic and fsync'ed; prediction lists on one line each."""
    write_checked_json(path, {**asdict(result), "schema": SCHEMA, "kind": KIND})


def _check(data: object, path: Path) -> None:
    def bad(what: str) -> ValueError:
        return ValueError(f"robustness result file {path} is malformed: {what} (delete it)")

    if not isinstance(data, dict):
        raise bad("not a JSON object")
    if not set(KEYS) <= set(data) <= set(KEYS) | set(OPTIONAL_KEYS):
        raise bad(f"keys {sorted(data)}, expected {sorted(KEYS)} (+ {sorted(OPTIONAL_KEYS)})")
    for k, types in {**KEYS, **OPTIONAL_KEYS}.items():
        if k in data and (not isinstance(data[k], types) or isinstance(data[k], bool)):
            raise bad(f"{k!r} is a {type(data[k]).__name__}")
    preds, metrics = data["predictions"], data["metrics"]
    truth = preds.get("truth")
    if not isinstance(truth, list) or not truth:
        raise bad("no 'truth' predictions")
    names = [CLEAN, *data["config"].get("conditions", {})]
    stored = sorted(k for k in preds if k != GROUP)
    if sorted(metrics) != sorted(names) or stored != sorted(["truth", *names]):
        raise bad("metrics / predictions do not cover clean + the configured conditions")
    for k, v in preds.items():
        if not isinstance(v, list) or len(v) != len(truth) or not all(type(i) is int for i in v):
            raise bad(f"predictions {k!r} is not {len(truth)} ids")
    why = sentence_ids_problem(data.get("sentence_unit", RECORDING), preds.get(GROUP), len(truth))
    if why:
        raise bad(why)
    for k, v in metrics.items():
        if not isinstance(v, dict) or not all(
            isinstance(v.get(m), (int, float)) for m in ("accuracy", "f1")
        ):
            raise bad(f"metrics {k!r} lacks accuracy / f1")
    seconds = {f"feature_seconds {k!r}": v for k, v in data["feature_seconds"].items()}
    for k, v in {"wall_seconds": data["wall_seconds"], **seconds}.items():
        why = value_problem(k, v)
        if why:
            raise bad(why)
    t1 = data["config"].get("table1_config")
    num_classes = config_num_classes(t1) if isinstance(t1, dict) else None
    why = num_classes_problem(num_classes) or predictions_problem(
        truth, {n: (preds[n], metrics[n]) for n in names}, num_classes
    )
    if why:
        raise bad(why)


def read_robustness(path: Path, results_dir: Path | None = None) -> RobustnessResult:
    """One validated file; ``ValueError`` naming it when unreadable, of another schema, edited
    (checksum), malformed, or (given ``results_dir``) not the run its path names."""
    data = checked_payload(path, "robustness result file", SCHEMA, KIND)
    _check(data, path)
    fields = {k: v for k, v in data.items() if k not in ("schema", "kind", "checksum")}
    try:
        exp = Experiment(**fields.pop("experiment"))
    except TypeError as err:
        raise ValueError(f"robustness result file {path} has a bad experiment: {err}") from err
    result = RobustnessResult(experiment=exp, **fields)
    if results_dir is not None:
        expected = robustness_path(results_dir, exp, result.profile, result.seed)
        if exp not in experiments("table1") or path.absolute() != expected.absolute():
            raise ValueError(
                f"robustness result file {path} holds the run of {expected} (another row, seed "
                "or profile): not used (delete it or move it to its own name)"
            )
    return result


def scan_robustness(results_dir: Path, profile: str) -> tuple[list[RobustnessResult], list[str]]:
    """Every valid robustness result of a profile (path order), and one line per file left out:
    unreadable, or made with another configuration than the other seeds of its row (conditions,
    inference arithmetic, the Table 1 run's configuration: ``identity.split_by_config``), which
    is never averaged with them."""
    folder = results_dir / profile / KIND
    results, excluded = [], []
    for p in sorted(folder.rglob("*.json")) if folder.is_dir() else ():
        try:
            results.append(read_robustness(p, results_dir))
        except ValueError as err:
            excluded.append(str(err))
    kept, mixed = split_by_config(results)
    kept_ids = {id(r) for r in kept}
    return [r for r in results if id(r) in kept_ids], excluded + mixed  # path order
