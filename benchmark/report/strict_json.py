"""Report JSON that any JSON parser reads: no bare ``NaN`` or ``Infinity``.

Result files with non-finite numbers are refused when read (``benchmark.results.stored_values``), so
a non-finite number here comes from a computation on valid ones; it is written as ``null`` with
one line on stderr naming the file and the key, and ``allow_nan=False`` guards the rest.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path


def finite_or_null(data: object, at: str = "") -> tuple[object, list[str]]:
    """``data`` with every NaN / inf float replaced by None, and the key paths replaced."""
    if isinstance(data, float) and not math.isfinite(data):
        return None, [f"{at or '(top)'} = {data}"]
    if isinstance(data, dict):
        pairs = [(k, finite_or_null(v, f"{at}.{k}")) for k, v in data.items()]
        return {k: v for k, (v, _) in pairs}, [p for _, (_, ps) in pairs for p in ps]
    if isinstance(data, (list, tuple)):
        items = [finite_or_null(v, f"{at}[{i}]") for i, v in enumerate(data)]
        return [v for v, _ in items], [p for _, ps in items for p in ps]
    return data, []


def write_strict_json(
    path: Path, data: object, log: Callable[[str], None] | None = None, **dump_options
) -> None:
    """Write ``data`` to ``path`` as strict JSON (``json.dumps(**dump_options)`` + newline)."""
    clean, replaced = finite_or_null(data)
    for where in replaced:
        (log or _stderr)(f"{path}: non-finite value {where} written as null")
    path.write_text(json.dumps(clean, allow_nan=False, **dump_options) + "\n")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)
