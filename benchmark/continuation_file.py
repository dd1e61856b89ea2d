"""A continuation report that is written after every run and resumed from itself.

``quads-bench continue`` can run for hours (a continuation to the cap: about an hour per run on 2
cores). Its report (``continuation-<table>.json``) is rewritten after every run, with the runs
still to do listed under ``pending``, so an interruption loses at most the run in progress and
the finished runs can be committed as they finish. Run again with the same command, it keeps the
entries the report already holds for runs whose result file is unchanged (``file_config``, the
digest of the result file's configuration: ``results.identity.config_digest``) and continues
only the others; entries of runs outside this invocation's selection (other ``--datasets`` or
``--seeds``) are kept as they are.

The settings that make two continuations comparable (``SETTINGS``: profile, table, epochs, the
``--still-climbing`` selection and the twin precision) must agree with the earlier report's;
otherwise this is another study, and the error names the file and the difference (write it to
another ``--out``, or remove the file).
"""

from __future__ import annotations

import json
from pathlib import Path

# payload keys that must agree for an earlier report to be resumed or extended
SETTINGS = ("profile", "table", "epochs", "selected", "twin")


def earlier_report(path: Path, settings: dict) -> dict | None:
    """The payload at ``path`` if it continues the same study as ``settings``; None when there is
    no file. A file of another study, or one that is not a continuation payload, is an error
    naming it."""
    if not path.is_file():
        return None
    try:
        payload = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path}: not valid JSON ({err}); remove it or choose another --out"
        ) from err
    if not isinstance(payload, dict) or not isinstance(payload.get("runs"), list):
        raise ValueError(f"{path}: not a continuation payload (no 'runs' list)")
    diffs = [
        f"{key}: {payload.get(key)!r} there, {settings.get(key)!r} here"
        for key in SETTINGS
        if payload.get(key) != settings.get(key)
    ]
    if diffs:
        raise ValueError(
            f"{path} holds another continuation ({'; '.join(diffs)}): write this one to another "
            "--out, or remove that file to replace it"
        )
    return payload


def selection_union(earlier: object, now: object) -> object:
    """The ``datasets`` / ``seeds`` field of a report holding both selections ("all" wins)."""
    if earlier == "all" or now == "all":
        return "all"
    return sorted(set(earlier) | set(now))


def earlier_provenances(earlier: dict | None, now: dict) -> list[dict]:
    """The provenances of the invocations whose entries a report keeps, other than ``now``'s
    (the date aside), oldest first."""
    if earlier is None:
        return []
    known = [*earlier.get("earlier_provenance", []), *filter(None, [earlier.get("provenance")])]
    out: list[dict] = []
    for p in known:
        if _sans_date(p) != _sans_date(now) and all(_sans_date(p) != _sans_date(q) for q in out):
            out.append(p)
    return out


def _sans_date(p: dict) -> dict:
    return {k: v for k, v in p.items() if k != "date"}
