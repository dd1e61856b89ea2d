"""Preflight: before any training, check everything a run will need and say every problem at once.

``check`` looks at the corpus roots and manifests, the weights of every model and of the teacher
(located, not loaded), the disk space the feature cache needs at the profile's input length and
whether the output and cache folders are writable. It reads manifests and file listings only, so
it takes seconds even for real SLURP. ``require`` raises one ``PreflightError`` listing every
problem with its fix (the CLI exits 2 with it). ``plan_text`` is what ``quads-bench run
--dry-run`` prints: the runs, what each needs, an estimate of time and disk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from baselines.registry import get_model_spec
from baselines.weight_sources import locate_whisper
from benchmark.data.corpora import CORPORA
from benchmark.data.features import N_MELS
from benchmark.data.records import SPLITS
from benchmark.profiles import Profile
from benchmark.rows import Experiment
from benchmark.run.recipe import schedule_for

FEATURE_BYTES = 2  # float16 per log-mel value in the cache
TEACHER_BYTES = 4 * 1280  # float32 pooled teacher feature (large-v2: 1280 wide) per train utterance
SYNTH_BYTES_PER_UTT = 64_000  # ~2 s of 16 kHz PCM16 (synthetic-fsc measured 54 KB per file)
DISK_MARGIN = 1.1


class PreflightError(ValueError):
    """Everything a run lacks, one problem and its fix per line."""


@dataclass(frozen=True)
class Problem:
    what: str
    fix: str


@dataclass(frozen=True)
class DataNeed:
    """One dataset's corpus: utterances per split (None: unknown) and disk it still needs."""

    dataset: str
    corpus: str  # the name its result files will carry, e.g. "fsc-subset50"
    source: str  # where it comes from
    utterances: dict[str, int | None]
    disk_bytes: int  # features (and a synthetic corpus) not cached yet
    loadable: bool  # the corpus can be read now (in seconds: nothing to generate, nothing missing)
    # real corpora: utterances per split after missing/unreadable files, dropped labels, --subset
    usable: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Preflight:
    problems: tuple[Problem, ...]
    notices: tuple[str, ...]  # rows that will not train, and why
    data: tuple[DataNeed, ...]
    weights: dict[str, str | None]  # Whisper name -> where it loads from (None: nowhere)
    teacher: str | None  # the teacher's name when a selected row distills
    disk_free: int
    cache: Path

    @property
    def disk_needed(self) -> int:
        return sum(d.disk_bytes for d in self.data)


def _writable(folder: Path) -> str | None:
    """Why ``folder`` cannot be created or written to, or None."""
    probe = folder.expanduser().absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def _nearest_existing(folder: Path) -> Path:
    probe = folder.expanduser().absolute()
    while not probe.exists():
        probe = probe.parent
    return probe


def _real_counts(name: str, root: Path, headset: bool | str) -> tuple[dict, list[Problem]]:
    """Listed utterances per split of a real corpus (the manifests only), and what is missing."""
    spec = CORPORA[name]
    flag = f"{spec.root_flag} (or {spec.root_env})"
    if not root.is_dir():
        return {}, [
            Problem(f"{name.upper()} root {root} does not exist", f"pass {flag} the folder")
        ]
    counts: dict[str, int | None] = {}
    problems = []
    if name == "fsc":
        for split in SPLITS:
            csv_path = root / "data" / f"{split}_data.csv"
            if not csv_path.is_file():
                problems.append(
                    Problem(
                        f"FSC manifest {csv_path} is missing",
                        f"{flag} must be the release folder holding data/{split}_data.csv",
                    )
                )
                continue
            with open(csv_path, encoding="utf-8") as f:
                counts[split] = max(0, sum(1 for line in f if line.strip()) - 1)
        if not (root / "wavs").is_dir():
            problems.append(Problem(f"FSC audio folder {root / 'wavs'} is missing", f"{flag}"))
        return counts, problems
    from benchmark.data.slurp import SLURP_FILES, is_headset

    for stem, split in SLURP_FILES:
        jsonl = root / "dataset" / "slurp" / f"{stem}.jsonl"
        if not jsonl.is_file():
            problems.append(
                Problem(
                    f"SLURP manifest {jsonl} is missing",
                    f"{flag} must be the SLURP checkout holding dataset/slurp/{stem}.jsonl",
                )
            )
            continue
        n = 0
        with open(jsonl, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    try:
                        recordings = json.loads(line).get("recordings", [])
                    except (json.JSONDecodeError, AttributeError):
                        continue  # the loader names the bad line
                    n += sum(
                        1
                        for r in recordings
                        if headset is True or (is_headset(r.get("file", "")) == (headset == "only"))
                    )
        counts[split] = n
    if not any((c / "slurp_real").is_dir() for c in (root / "audio", root)):
        problems.append(
            Problem(
                f"SLURP audio folder slurp_real/ is in neither {root / 'audio'} nor {root}",
                "download SLURP's audio (scripts/download_audio.sh) into <root>/audio/",
            )
        )
    return counts, problems


def _synthetic_counts(name: str, profile: Profile, cache: Path) -> tuple[dict, bool]:
    """Utterances per split of a synthetic corpus (from its config) and whether it exists."""
    from benchmark.data.synthetic import MARKER, corpus_dir, default_config

    config = profile.synthetic.get(name) or default_config(name)
    per_speaker = len(config.label_space) * config.utterances_per_intent
    counts = {
        "train": config.n_train_speakers * per_speaker,
        "valid": config.n_valid_speakers * per_speaker,
        "test": config.n_test_speakers * per_speaker,
    }
    return counts, (corpus_dir(name, config, cache / "corpora") / MARKER).is_file()


def _cached_splits(cache: Path, corpus: str, n_frames: int) -> set[str]:
    """Splits of ``corpus`` with a feature cache at ``n_frames`` (any fingerprint)."""
    folder = cache / "features"
    if not folder.is_dir():
        return set()
    pattern = re.compile(rf"{re.escape(corpus)}-[0-9a-f]{{16}}")
    found = set()
    for sub in folder.iterdir():
        if pattern.fullmatch(sub.name):
            for split in SPLITS:
                if any(sub.glob(f"{split}-f{n_frames}-v*/meta.json")):
                    found.add(split)
    return found


def _data_need(dataset: str, profile: Profile, choice, cache: Path, problems: list) -> DataNeed:
    from benchmark.run.data_choice import HEADSET

    name = choice.corpus_name(profile, dataset)
    label = choice.label(profile, dataset)
    spec = CORPORA[name]
    extra = 0
    usable: dict[str, int] = {}
    before = len(problems)
    exists = True
    if spec.synthetic:
        counts, exists = _synthetic_counts(name, profile, cache)
        source = "generated" if exists else "generated on first use (espeak-ng)"
        if not exists:
            extra = sum(counts.values()) * SYNTH_BYTES_PER_UTT
        if name == "synthetic-slurp" and choice.slurp_headset != "all":
            problems.append(
                Problem(
                    "--slurp-headset applies to real SLURP, but SLURP runs on synthetic-slurp",
                    "pass --slurp-root (or QUADS_SLURP_ROOT), or drop --slurp-headset",
                )
            )
    else:
        root = choice.roots.get(name) or os.environ.get(spec.root_env)
        if not root:
            problems.append(
                Problem(
                    f"{dataset} runs on the real corpus {name!r} in profile {profile.name!r}, "
                    "but no root folder is given",
                    f"pass {spec.root_flag} DIR or set {spec.root_env} (a real-layout copy of the "
                    f"synthetic corpus: quads-bench export-corpus --layout {name} --out DIR)",
                )
            )
            counts, source, exists = {}, "no root given", False
        else:
            headset = HEADSET[choice.slurp_headset] if name == "slurp" else True
            counts, found = _real_counts(name, Path(root).expanduser(), headset)
            problems += found
            source = str(root)
            if not found:  # every manifest is there: count what the run will really use
                from benchmark.run.split_check import check_real_splits

                split_check = check_real_splits(
                    dataset, name, Path(root).expanduser(), choice, cache
                )
                problems += [Problem(what, fix) for what, fix in split_check.problems]
                usable = split_check.usable
    if choice.subset is not None:
        counts = {s: min(n, choice.subset) for s, n in counts.items()}
    cached = _cached_splits(cache, label, profile.n_frames)
    per_utt = N_MELS * profile.n_frames * FEATURE_BYTES
    need = extra + sum(n * per_utt for s, n in counts.items() if n and s not in cached)
    need += (counts.get("train") or 0) * TEACHER_BYTES
    loadable = exists and len(problems) == before
    listed = {s: counts.get(s) for s in SPLITS}
    return DataNeed(dataset, label, source, listed, need, loadable, usable)


def _distills(exp: Experiment, profile: Profile) -> bool:
    if profile.untrained_reason(exp):
        return False
    return schedule_for(exp, profile).distills


def check(
    exps: list[Experiment],
    profile: Profile,
    choice,
    out_dir: Path,
    cache: Path,
    explicit_rows: tuple[str, ...] = (),
) -> Preflight:
    """Everything the runs of ``exps`` need (module doc); nothing is loaded or written."""
    problems: list[Problem] = []
    notices: list[str] = []
    for what, folder, fix in (
        ("output folder", out_dir, "pass --out a writable folder"),
        ("cache folder", cache, "pass --cache-dir (or QUADS_CACHE_DIR) a writable folder"),
    ):
        why = _writable(folder)
        if why:
            problems.append(Problem(f"{what} {folder} cannot be written: {why}", fix))
    data = tuple(
        _data_need(d, profile, choice, cache, problems) for d in sorted({e.dataset for e in exps})
    )
    weights: dict[str, str | None] = {}
    untrained: dict[str, set[str]] = {}  # why -> rows
    for exp in exps:
        if exp.init != "pretrained" or profile.untrained_reason(exp):
            continue
        name = get_model_spec(exp.model).pretrained
        if name is None:
            untrained.setdefault("no pretrained weights exist offline", set()).add(exp.row)
            continue
        if name not in weights:
            weights[name] = locate_whisper(name)[0]
        if weights[name] is None:
            untrained.setdefault(f"weights of Whisper {name} not found", set()).add(exp.row)
    for why, rows in untrained.items():
        asked = sorted(rows & set(explicit_rows))
        if asked and why.startswith("weights"):
            name = why.split()[3]
            problems.append(
                Problem(
                    f"{why}, needed by {', '.join(asked)}",
                    f"put them in $QUADS_WHISPER_DIR/{name}/ (a Hugging Face or CTranslate2 "
                    "folder), or run where the Hugging Face hub is reachable",
                )
            )
        else:
            notices.append(
                f"not trained, reported as not measured: {', '.join(sorted(rows))} ({why})"
            )
    teacher = profile.teacher if any(_distills(e, profile) for e in exps) else None
    if teacher is not None:
        where, why = locate_whisper(teacher)
        weights[teacher] = where
        if where is None:
            usable = [n for n in ("large-v2", "small", "base") if locate_whisper(n)[0]]
            problems.append(
                Problem(
                    f"teacher Whisper {teacher} not found ({'; '.join(why)})",
                    (f"pass --teacher {usable[0]} (found here)" if usable else "")
                    + f"{' or ' if usable else ''}put {teacher} in $QUADS_WHISPER_DIR/{teacher}/",
                )
            )
    free = shutil.disk_usage(_nearest_existing(cache)).free
    needed = sum(d.disk_bytes for d in data)
    if needed * DISK_MARGIN > free:
        problems.append(
            Problem(
                f"the cache needs about {_size(needed)} (log-mels of {profile.n_frames} "
                f"frames, float16) but {_nearest_existing(cache)} has {_size(free)} free",
                "free space, pass --cache-dir on a larger disk, or try --subset N first",
            )
        )
    return Preflight(tuple(problems), tuple(notices), data, weights, teacher, free, cache)


def require(pf: Preflight) -> None:
    """Raise one ``PreflightError`` listing every problem and its fix."""
    require_none(pf.problems)


def require_none(problems: Sequence[Problem]) -> None:
    """Raise one ``PreflightError`` listing every problem of ``problems`` and its fix."""
    if problems:
        lines = [f"the run cannot start ({len(problems)} problem(s)):"]
        for i, p in enumerate(problems, 1):
            lines += [f"  {i}. {p.what}", f"     fix: {p.fix}"]
        raise PreflightError("\n".join(lines))


def _size(n: float) -> str:
    """A byte count in the largest binary unit it fills: "1.5 GiB", "12.0 MiB", "1000 bytes"."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def plan_text(
    table: str, pf: Preflight, runs: list[tuple[Experiment, int, bool]], profile: Profile, est
) -> str:
    """The ``--dry-run`` plan: runs (to do / reused) with what they need, time and disk."""
    lines = [f"plan for {table}, profile {profile.name} ({profile.n_frames} frames per input):"]
    for d in pf.data:
        counts = ", ".join(f"{s} {n if n is not None else '?'}" for s, n in d.utterances.items())
        usable = ", ".join(f"{s} {n}" for s, n in d.usable.items())
        usable = f"; usable: {usable}" if usable else ""
        lines.append(f"  {d.dataset}: corpus {d.corpus} from {d.source} (listed: {counts}{usable})")
    todo = sum(1 for *_, done in runs if not done)
    lines.append(f"runs: {todo} to do, {len(runs) - todo} complete results reused")
    groups: dict[str, dict[str, list[int]]] = {}
    needs: dict[str, str] = {}
    for exp, _seed, done in runs:
        key = f"{exp.row} {exp.bits} bit" + (
            f" ({exp.init}, {exp.strategy})" if exp.table == "table2" else ""
        )
        groups.setdefault(key, {}).setdefault(exp.dataset, [0, 0])[int(done)] += 1
        parts = []
        if profile.untrained_reason(exp):
            parts.append("efficiency only")
        elif exp.init == "pretrained":
            parts.append(f"weights {get_model_spec(exp.model).pretrained or 'none offline'}")
        if _distills(exp, profile):
            parts.append(f"teacher {profile.teacher}")
        needs[key] = " + ".join(parts) or "nothing (random init)"
    for key, per in groups.items():
        counts = ", ".join(f"{d} {n[0]} to do/{n[1]} reused" for d, n in per.items())
        lines.append(f"  {key:34s} {counts}; needs {needs[key]}")
    for name, where in pf.weights.items():
        teacher = " (teacher)" if name == pf.teacher else ""
        lines.append(f"weights {name}{teacher}: {where or 'NOT FOUND'}")
    lines += [f"  {n}" for n in pf.notices]
    lines.append(
        f"disk: about {_size(pf.disk_needed)} more in {pf.cache} ({_size(pf.disk_free)} free)"
    )
    lines.append(est)
    if pf.problems:
        lines.append(f"{len(pf.problems)} problem(s) would stop the run:")
        lines += [f"  - {p.what}\n    fix: {p.fix}" for p in pf.problems]
    else:
        lines.append("preflight: no problems")
    return "\n".join(lines)
