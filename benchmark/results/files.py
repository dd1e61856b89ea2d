"""Result files: one JSON per (table, row, dataset, profile, seed), written atomically."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmark.data.cache import atomic_write
from benchmark.results.identity import split_by_config
from benchmark.rows import Experiment

# 2: a "checksum" (``content_checksum``) over the rest of the file, so a hand edit is detected
SCHEMA = 2


@dataclass(frozen=True)
class Result:
    experiment: Experiment
    profile: str
    seed: int
    corpus: str  # what actually ran, e.g. "synthetic-fsc"
    metrics: dict[str, float | None]  # params_m, size_mb, gmacs, accuracy, f1, energy_j, ...
    notes: dict[str, str] = field(default_factory=dict)  # metric -> why missing / how measured
    config: dict[str, object] = field(default_factory=dict)
    provenance: dict[str, object] = field(default_factory=dict)
    wall_seconds: float = 0.0
    artifacts: dict[str, str] = field(default_factory=dict)  # e.g. exported model path
    training: dict[str, object] = field(default_factory=dict)  # init, schedule, per-epoch history
    # skipped / resampled counts of the corpus and its features
    data: dict[str, object] = field(default_factory=dict)
    # test-set class ids, "truth" and "pred" (N,) each: the report's bootstrap intervals
    predictions: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        d = asdict(self)
        d["schema"] = SCHEMA
        return d

    @classmethod
    def from_json(cls, d: dict[str, object]) -> Result:
        exp = dict(d["experiment"])
        exp.pop("needs", None)  # an unused field of older result files
        fields = {k: v for k, v in d.items() if k not in ("schema", "experiment", "checksum")}
        return cls(experiment=Experiment(**exp), **fields)


def content_checksum(d: dict[str, object]) -> str:
    """sha256 of a result's JSON content without its "checksum" key (key order and layout do
    not matter: it hashes the canonical form)."""
    body = {k: v for k, v in d.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def result_path(results_dir: Path, exp: Experiment, profile: str, seed: int) -> Path:
    return results_dir / profile / exp.table / exp.dataset.lower() / f"{exp.slug}-seed{seed}.json"


def write_result(path: Path, result: Result) -> None:
    """Write atomically (``benchmark.data.cache.atomic_write``, fsync'ed): a run killed at any
    point leaves either no file or a complete one (temp files end in .tmp and are never read).
    """
    write_checked_json(path, result.to_json())


def write_checked_json(path: Path, data: dict) -> None:
    """The one writer of result-like files: ``data`` (with a ``predictions`` dict of id lists)
    plus its ``checksum``, atomic and fsync'ed, each id list on one line."""
    d = json.loads(json.dumps(data))  # the form it has once read back (tuples -> lists)
    d["checksum"] = content_checksum(d)
    # one line per id list, not one line per id
    lists = {k: json.dumps(v) for k, v in d.pop("predictions").items()}
    d["predictions"] = {k: f"@@{k}@@" for k in lists}
    text = json.dumps(d, indent=1, sort_keys=True) + "\n"
    for k, v in lists.items():
        text = text.replace(f'"@@{k}@@"', v)
    try:
        with atomic_write(path, fsync=True) as tmp:
            tmp.write_text(text)
    except OSError as err:
        raise OSError(err.errno, f"cannot write result file {path}: {err.strerror or err}") from err


def not_a_result_file(data: object) -> str | None:
    """Why parsed JSON is no result-like file of any harness version (None: it may be one):
    not a JSON object, or an object without an integer "schema"."""
    if not isinstance(data, dict):
        return f"a JSON {_json_type(data)}, not an object"
    if "schema" not in data:
        return 'a JSON object without a "schema" key'
    if type(data["schema"]) is not int:
        return f'its "schema" is {data["schema"]!r}, not a version number'
    return None


def _json_type(value: object) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def load_json(path: Path, what: str) -> object:
    """The parsed JSON of ``path``; ``ValueError`` "unreadable <what> <path>: ..." when it cannot
    be read or parsed (the one reader of every result-like file)."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"unreadable {what} {path}: {err}") from err


def checked_payload(path: Path, what: str, schema: int, kind: str | None = None) -> dict:
    """The JSON object of a file the harness wrote (``what``: "result file", "robustness result
    file"), before its fields are checked: readable, of ``schema`` and ``kind`` (the "kind" key;
    None: a file without one), its checksum intact; ``ValueError`` naming the file and what to do
    otherwise."""
    data = load_json(path, what)
    why = not_a_result_file(data)
    if why:
        raise ValueError(f"{path} is not a {what}: {why} (delete it or move it elsewhere)")
    if (data["schema"], data.get("kind")) != (schema, kind):
        got = f"schema {data['schema']!r}" + (f", kind {data['kind']!r}" if "kind" in data else "")
        raise ValueError(
            f"{what} {path} has {got}, expected schema {schema}"
            + (f", kind {kind!r}" if kind else "")
            + " (written by another version of the harness, or another kind of file: run again "
            "to recompute it)"
        )
    if data.get("checksum") != content_checksum(data):
        raise ValueError(
            f"{what} {path} does not match its checksum: it was edited after the harness wrote "
            "it (delete it to recompute the run)"
        )
    return data


def read_result(path: Path, results_dir: Path | None = None) -> Result:
    """Read and validate one result file; ``ValueError`` naming it when it cannot be trusted:
    unreadable, another schema, a checksum mismatch (edited by hand), wrong keys or types
    (``schema.check_result_json``), or, given ``results_dir``, a run other than the one its
    path names (``schema.check_result_path``: a copy or a file moved to another seed)."""
    from benchmark.results.schema import check_result_json, check_result_path

    data = checked_payload(path, "result file", SCHEMA)
    check_result_json(data, path)
    result = Result.from_json(data)
    if results_dir is not None:
        expected = result_path(results_dir, result.experiment, result.profile, result.seed)
        check_result_path(path, expected, result.experiment)
    return result


def read_for_reuse(
    path: Path,
    read: Callable[[Path, Path | None], object],
    results_dir: Path,
    log: Callable[[str], None],
):
    """The stored result-like file at ``path`` read by ``read`` (``read_result`` or a twin that
    raises ``ValueError`` when the file cannot be trusted), or None: no file, or one that cannot
    be trusted, which is then recomputed with one line saying why."""
    if not path.exists():
        return None
    try:
        return read(path, results_dir)
    except ValueError as err:
        log(f"recomputing: {err}")
        return None


@dataclass(frozen=True)
class ResultScan:
    """The result files of one table and profile: those read, and those left out with why."""

    results: list[Result]
    excluded: list[str]  # one line per file left out, naming it and the reason


def scan_results(results_dir: Path, profile: str, table: str) -> ResultScan:
    """Every valid result of one table and profile, in a stable (path) order. Only files named
    as the harness names them are read (``<slug>-seed<N>.json``); any other ``.json`` file,
    every file ``read_result`` refuses and every run whose row's other seeds were made with
    another configuration (``identity.split_by_config``) is left out and listed in
    ``excluded``."""
    folder = results_dir / profile / table
    results: list[Result] = []
    excluded: list[str] = []
    if not folder.is_dir():
        return ResultScan(results, excluded)
    for p in sorted(folder.rglob("*.json")):
        try:
            results.append(read_result(p, results_dir))
        except ValueError as err:
            excluded.append(str(err))
    # never average unlike runs: one configuration per row (``identity.split_by_config``)
    results, mixed = split_by_config(results)
    return ResultScan(results, excluded + mixed)


def read_results(
    results_dir: Path, profile: str, table: str, log: Callable[[str], None] | None = None
) -> list[Result]:
    """The valid results of one table and profile (``scan_results``); each file left out is
    reported through ``log`` (default: one line on stderr)."""
    scan = scan_results(results_dir, profile, table)
    for line in scan.excluded:
        (log or _stderr)(f"excluded: {line}")
    return scan.results


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
