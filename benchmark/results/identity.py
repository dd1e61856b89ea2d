"""The run identity: the one key of everything a run produces.

A result file's ``config`` (``benchmark.run.experiment.experiment_config``) holds everything that
determines its numbers except the seed: the profile's settings, the corpus fingerprint, the
resolved precision, the teacher, the trainer version and the row's schedule. Its digest plus the
seed name every cached artefact of the run (checkpoint, exported model, evaluated snapshot,
scorer-format predictions), so two configurations never overwrite or reuse each other's files,
whatever ``--out`` and cache they share.

Result files keep their readable names (``<slug>-seed<N>.json``); one folder holds one
configuration per row. ``config_conflicts`` says where a stored result belongs to another
configuration, and ``split_by_config`` keeps a report from averaging unlike runs.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmark.rows import Experiment

DIGEST_CHARS = 10  # 40 bits of sha256: collisions need ~1e6 configurations of one row

# cached artefacts of a run, by kind: (folder under <cache>/runs, file suffix)
ARTEFACTS: dict[str, tuple[str, str]] = {
    "checkpoint": ("checkpoints", ".pt"),
    "model": ("models", ".safetensors"),
    "snapshot": ("evaluated", ".pt"),
    "slurp_predictions": ("predictions", ".jsonl"),
}

# config keys that only the code changes (a run of newer code replaces them with one line);
# any other difference is a different configuration, never replaced silently
CODE_KEYS = ("trainer", "schedule")


def config_digest(config: dict[str, object]) -> str:
    """Short sha256 of a canonical JSON form of ``config`` (key order does not matter)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_CHARS]


def run_id(exp: Experiment, seed: int, config: dict[str, object]) -> str:
    """``table1-fsc-quads-4b-pretrained-m-seed0-<digest>``: readable, and unique per run."""
    return f"{exp.table}-{exp.dataset.lower()}-{exp.slug}-seed{seed}-{config_digest(config)}"


def artefact_path(
    cache: Path, kind: str, profile: str, exp: Experiment, seed: int, config: dict[str, object]
) -> Path:
    """Where the run's artefact of ``kind`` (one of ``ARTEFACTS``) lives in the cache."""
    if kind not in ARTEFACTS:
        raise ValueError(f"unknown artefact kind {kind!r}; known: {', '.join(ARTEFACTS)}")
    folder, suffix = ARTEFACTS[kind]
    return Path(cache) / "runs" / folder / profile / f"{run_id(exp, seed, config)}{suffix}"


def _flat(d: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, object] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def config_differences(stored: dict[str, object], planned: dict[str, object]) -> list[str]:
    """``key: stored -> planned`` for every leaf where two configs differ, sorted; long values
    are cut. Keys of one side only show as missing on the other."""
    a, b = _flat(stored), _flat(planned)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<none>") != b.get(key, "<none>"):
            left, right = (_short(x.get(key, "<none>")) for x in (a, b))
            out.append(f"{key}: {left} -> {right}")
    return out


def mismatch(
    stored: dict[str, object], planned: dict[str, object], ignore: Sequence[str] = ()
) -> str:
    """The first 3 of ``config_differences`` joined by "; ", leaving out the leaves named in
    ``ignore`` (e.g. "precision"); "" where the configs agree (elsewhere)."""
    diffs = [
        d
        for d in config_differences(stored, planned)
        if d.split(":", 1)[0].rsplit(".", 1)[-1] not in ignore
    ]
    return "; ".join(diffs[:3])


def _short(value: object, limit: int = 40) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def differs_only_in_code(stored: dict[str, object], planned: dict[str, object]) -> bool:
    """Whether two configs differ only where newer code changes them (``CODE_KEYS``: the trainer
    version, the schedule): the stored run is then stale, not another user's configuration."""
    diffs = config_differences(stored, planned)
    return bool(diffs) and all(
        any(part in CODE_KEYS for part in d.split(":", 1)[0].split(".")) for d in diffs
    )


def split_by_config(results: Sequence) -> tuple[list, list[str]]:
    """Results (anything with ``experiment``, ``config`` and ``seed``) kept for one report, and one line per result left out because the other seeds of its row
    were made with another configuration.

    Per row (``experiment``), the configuration with the most seeds is kept; on a tie none is
    kept, since neither can be preferred without guessing. Results are never averaged across
    configurations."""
    by_exp: dict[Experiment, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        by_exp[r.experiment][config_digest(r.config)].append(r)
    kept, excluded = [], []
    for exp, groups in by_exp.items():
        if len(groups) == 1:
            kept.extend(next(iter(groups.values())))
            continue
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        tie = len(ranked[1][1]) == len(ranked[0][1])
        winner = None if tie else ranked[0][0]
        if winner is not None:
            kept.extend(groups[winner])
        for digest, runs in ranked:
            if digest == winner:
                continue
            other = groups[winner][0] if winner else next(g for d, g in ranked if d != digest)[0]
            diffs = "; ".join(config_differences(runs[0].config, other.config)[:4])
            seeds = ", ".join(str(r.seed) for r in sorted(runs, key=lambda r: r.seed))
            why = (
                "as many seeds were made with another configuration"
                if tie
                else "the other seeds of its row were made with another configuration"
            )
            excluded.append(
                f"{exp.table} {exp.row} {exp.bits} bit {exp.dataset} ({exp.init}, {exp.strategy})"
                f" seed(s) {seeds}: not averaged with the rest, {why} ({diffs}); "
                "run them again into one --out, or move them to a folder of their own"
            )
    return kept, excluded


def precisions(results: Sequence) -> list[str]:
    """The training precisions of ``results`` (resolved: "fp32" | "bf16"), sorted. A robustness
    result holds its Table 1 run's configuration under ``table1_config``."""
    out = set()
    for r in results:
        config = r.config if isinstance(r.config, dict) else {}
        config = config.get("table1_config", config)
        identity = config.get("identity") if isinstance(config, dict) else None
        if isinstance(identity, dict) and identity.get("precision"):
            out.add(str(identity["precision"]))
    return sorted(out)
