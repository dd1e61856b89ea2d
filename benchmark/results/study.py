"""A study's data file and its Markdown report, written side by side (plateau, continuation)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def write_study(out_dir: Path, name: str, payload: dict, lines: Sequence[str]) -> tuple[Path, Path]:
    """``<out_dir>/<name>.json`` (``payload``, sorted keys) and ``<name>.md`` (``lines``);
    returns (md, json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    js = out_dir / f"{name}.json"
    js.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    md = out_dir / f"{name}.md"
    md.write_text("\n".join(lines) + "\n")
    return md, js
