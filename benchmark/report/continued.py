"""The continuation check's evidence in the tables: a run flagged at the end of its budget that
levelled off when continued is not climbing.

The climbing rule (``report.climbing``) reads a run's own curve, which ends with its budget: a
run whose budget ends where its plateau starts cannot show that plateau. ``quads-bench continue``
(``benchmark.continuation``) trains such runs a few epochs past the budget (validation only) and
writes ``continuation-<table>.json`` beside the tables (a continuation to the cap, later, in
``to-the-cap/``; ``load_evidence``): one entry per continued run (row, bits,
dataset, init, strategy, seed, ``kind`` of model continued, ``budget_best``, ``continued``
accuracies, ``gain``, ``noise``, ``climbing``). ``attach`` copies each entry into the matching
result's ``training["continued"]`` (in memory; the result files stay as written), and
``climbing.climbing_kinds`` then judges that run by its continued curve: early stopping with the
continued epochs as patience. An entry matches a result only if profile, row, bits, dataset, init,
strategy and seed agree and its ``budget_best`` is the best accuracy of that kind in the result's
own curve (a stale entry from another run of that name does not match); entries that match no
result are returned, for the report to list.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from benchmark.report.climbing import curves
from benchmark.results.files import Result
from quads.train import PRECISIONS

CONTINUED = "continued"  # the key ``attach`` adds to a result's ``training``
# where a continuation to the profile's cap is kept, beside the check (docs/reference-runs.md)
CAP_FOLDER = "to-the-cap"
TWIN = "twin"  # the key ``attach_twins`` adds to a result's ``training``
KEY_FIELDS = ("row", "bits", "dataset", "init", "strategy", "seed")  # ``_key``'s order


def continuation_path(folder: Path, table: str) -> Path:
    """Where ``quads-bench continue --out <folder>`` writes a table's continuation payload."""
    return folder / f"continuation-{table}.json"


def load_continued(folder: Path, table: str, profile: str) -> list[dict]:
    """The continued runs recorded in ``<folder>/continuation-<table>.json`` for ``profile``;
    [] when there is no such file. A file that is not a continuation payload of this table is an
    error naming it (a report would otherwise silently ignore the evidence)."""
    path = continuation_path(folder, table)
    if not path.is_file():
        return []
    payload = _payload(path, table)
    if payload.get("twin"):
        raise ValueError(
            f"{path}: continues twins trained in {payload['twin'].get('precision')} "
            "(`quads-bench continue --twin`), another configuration than the result files: "
            "not evidence for their cells; keep it in a folder of its own"
        )
    if payload.get("profile") != profile:
        return []  # another profile's check: none of its runs are this report's
    return [dict(e, epochs=payload.get("epochs")) for e in payload["runs"]]


def _payload(path: Path, table: str) -> dict:
    """The continuation payload at ``path``, checked to be one of ``table``."""
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(payload, dict) or not isinstance(payload.get("runs"), list):
        raise ValueError(f"{path}: not a continuation payload (no 'runs' list)")
    if payload.get("table") != table:
        raise ValueError(f"{path}: holds table {payload.get('table')!r}, not {table!r}")
    return payload


def twin_folder(precision: str) -> Path:
    """Where a continuation of twins trained in ``precision`` is kept beside the tables
    (``quads-bench continue --twin <precision> --out <reference>/to-the-cap-<precision>``)."""
    return Path(f"{CAP_FOLDER}-{precision}")


def load_twins(folder: Path, table: str, profile: str) -> list[dict]:
    """Entries of twins continued to the cap (``<folder>/to-the-cap-<precision>/``): runs trained
    again in another precision, evidence about the recipe only. ``attach_twins`` shows them
    beside the runs they are twins of; no cell and no climbing verdict reads them. Each entry
    names its report (``source``) and its ``precision``."""
    out = []
    for precision in (p for p in PRECISIONS if p != "auto"):
        sub = twin_folder(precision)
        path = continuation_path(folder / sub, table)
        if not path.is_file():
            continue
        payload = _payload(path, table)
        if (payload.get("twin") or {}).get("precision") != precision:
            raise ValueError(
                f"{path}: not a continuation of {precision} twins (`quads-bench continue "
                f"--twin {precision}` writes there)"
            )
        if payload.get("profile") != profile:
            continue
        source = (sub / path.with_suffix(".md").name).as_posix()
        out += [
            dict(e, epochs=payload.get("epochs"), precision=precision, source=source)
            for e in payload["runs"]
        ]
    return out


def load_evidence(folder: Path, table: str, profile: str) -> list[dict]:
    """The continuation check's entries (``<folder>/continuation-<table>.json``), then those of
    a continuation to the cap (``<folder>/to-the-cap/``), which supersede the check's for the
    runs it continued (``attach`` keeps a run's last entry). Each entry names its report
    (``source``, relative to ``folder``)."""
    out = []
    for sub in (Path(), Path(CAP_FOLDER)):
        source = (sub / continuation_path(Path(), table).name).with_suffix(".md").as_posix()
        out += [dict(e, source=source) for e in load_continued(folder / sub, table, profile)]
    return out


def run_label(row, bits, init, strategy, dataset, seed) -> str:
    """How the continuation check names a run: init and strategy tell Table 2's rows of one bit
    width apart."""
    return f"{row} {bits} bit ({init}, {strategy}) {dataset} seed {seed}"


def entry_label(entry: dict) -> str:
    """``run_label`` of a continuation entry (its row, bits, init, strategy, dataset, seed)."""
    return run_label(*(entry[k] for k in ("row", "bits", "init", "strategy", "dataset", "seed")))


def _key(row, bits, dataset, init, strategy, seed) -> tuple:
    return (row, int(bits), dataset, init, strategy, int(seed))


def _result_key(r: Result) -> tuple:
    x = r.experiment
    return _key(x.row, x.bits, x.dataset, x.init, x.strategy, r.seed)


def _matches(entry: dict, r: Result, best: str = "budget_best") -> bool:
    """Whether ``entry`` was continued from ``r``'s own run (same best of the continued kind;
    a twin's entry records the file's as ``file_budget_best``)."""
    phases = r.training.get("phases") or []
    curve = curves(r.training.get("history") or [], phases).get(entry.get("kind"), [])
    return bool(curve) and round(max(curve), 2) == entry.get(best)


def attach_twins(results: Sequence[Result], twins: Sequence[dict]) -> list[Result]:
    """``results`` with the entry of each run's twin (``load_twins``) in ``training["twin"]``
    (in memory), where the twin's file budget best is the run's own."""
    by_key = {_key(*(e[k] for k in KEY_FIELDS)): e for e in twins}
    out = []
    for r in results:
        entry = by_key.get(_result_key(r))
        if entry is not None and _matches(entry, r, "file_budget_best"):
            r = dataclasses.replace(r, training=dict(r.training, **{TWIN: entry}))
        out.append(r)
    return out


def attach(results: Sequence[Result], entries: Sequence[dict]) -> tuple[list[Result], list[str]]:
    """``results`` with each continued run's entry in ``training["continued"]``, and one line
    per entry that matched no result."""
    by_key = {}
    for e in entries:
        by_key[_key(*(e[k] for k in KEY_FIELDS))] = e
    out, used = [], set()
    for r in results:
        key = _result_key(r)
        entry = by_key.get(key)
        if entry is None or not _matches(entry, r):
            out.append(r)
            continue
        used.add(key)
        training = dict(r.training, **{CONTINUED: entry})
        out.append(dataclasses.replace(r, training=training))
    unmatched = [entry_label(e) for key, e in by_key.items() if key not in used]
    return out, unmatched
