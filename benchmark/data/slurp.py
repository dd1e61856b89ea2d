"""SLURP loader (official layout of github.com/pswietojanski/slurp).

    <root>/dataset/slurp/{train,devel,test}.jsonl   (+ train_synthetic.jsonl)
        one sentence per line: slurp_id, sentence, scenario, action, intent,
        recordings: [{file, ...}], entities
    <audio_root>/slurp_real/<file>.flac    close-talk copies end in "-headset"
    <audio_root>/slurp_synth/<file>.flac   audio of train_synthetic.jsonl

`audio_root` defaults to `<root>/audio` (where the repo's download script puts it), else
`<root>`. Label: `f"{scenario}_{action}"` (the raw `intent` field is inconsistent).
One `Utterance` per recording: uid = recording = the SLURP file name, which is how the
official scorer keys predictions; source_id = slurp_id. SLURP's jsonl has no speaker id,
so `speaker` is "". devel.jsonl is the "valid" split. Recordings whose file is missing
are skipped and counted ("missing audio"); a recording listed twice is counted as
"duplicate recording", a record with an empty `recordings` list as "no recordings"; a
malformed line raises ValueError naming file and line. The fingerprint covers every listed
file's bytes (`benchmark.data.audio_index`, a side index in `index_dir`).

Why `scenario_action` and not the raw `intent` field: in SLURP's release `intent` is
`<scenario>_<action>` for almost every record, but about 1 % of records hold only the action
there; `scenario` and `action` are always both present, so their join is the one consistent
label (the official scorer forms intents the same way).
"""

from __future__ import annotations

import json
import os
import warnings
from collections import Counter
from pathlib import Path

from benchmark.data.audio_index import on_disk_corpus
from benchmark.data.records import Corpus, Utterance

SLURP_FILES: tuple[tuple[str, str], ...] = (
    ("train", "train"),
    ("devel", "valid"),
    ("test", "test"),
)
HEADSET_CHOICES = (True, False, "only")


def slurp_label(scenario: str, action: str) -> str:
    """The intent label of a SLURP record, e.g. ("alarm", "set") -> "alarm_set"."""
    return f"{scenario}_{action}"


def is_headset(file: str) -> bool:
    """True for SLURP's close-talk copies ("audio-1490202727-headset.flac")."""
    return Path(file).stem.endswith("-headset")


def _find_audio_root(root: Path) -> Path:
    tried = [root / "audio", root]
    for cand in tried:
        if (cand / "slurp_real").is_dir():
            return cand
    raise FileNotFoundError(
        f"SLURP audio not found: no slurp_real/ folder in {[str(t) for t in tried]}; "
        f"pass audio_root= the folder holding slurp_real/ (and slurp_synth/)"
    )


def read_slurp_jsonl(
    jsonl: Path, audio_dir: Path, split: str, headset: bool | str
) -> tuple[list[Utterance], Counter]:
    """Parse one SLURP jsonl into per-recording utterances whose audio exists, plus skips.

    Raises ValueError "<file>:<line>: ..." on invalid JSON or missing/ill-typed fields.
    """
    utts: list[Utterance] = []
    skipped: Counter = Counter()
    missing: list[str] = []
    with open(jsonl, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{jsonl}:{lineno}: invalid JSON ({e.msg})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{jsonl}:{lineno}: expected a JSON object")
            for key in ("scenario", "action", "recordings"):
                if key not in rec:
                    raise ValueError(f"{jsonl}:{lineno}: missing field {key!r}")
            if not isinstance(rec["scenario"], str) or not isinstance(rec["action"], str):
                raise ValueError(f"{jsonl}:{lineno}: scenario and action must be strings")
            if not isinstance(rec["recordings"], list):
                raise ValueError(f"{jsonl}:{lineno}: recordings must be a list")
            label = slurp_label(rec["scenario"], rec["action"])
            if not rec["recordings"]:
                skipped["no recordings"] += 1
            for r in rec["recordings"]:
                if not isinstance(r, dict) or not isinstance(r.get("file"), str):
                    raise ValueError(f"{jsonl}:{lineno}: each recording needs a 'file' string")
                file = r["file"]
                head = is_headset(file)
                if (headset is False and head) or (headset == "only" and not head):
                    skipped["headset filtered"] += 1
                    continue
                audio = audio_dir / file
                if not audio.is_file():
                    skipped["missing audio"] += 1
                    missing.append(str(audio))
                    continue
                utts.append(
                    Utterance(
                        uid=file,
                        path=str(audio),
                        label=label,
                        speaker="",
                        split=split,
                        text=str(rec.get("sentence", "")),
                        recording=file,
                        source_id=str(rec.get("slurp_id", "")),
                    )
                )
    if missing:
        warnings.warn(
            f"SLURP {jsonl.name}: {len(missing)} listed recording(s) missing, skipped "
            f"(first: {missing[0]})",
            stacklevel=3,
        )
    return utts, skipped


def load_slurp(
    root: str | os.PathLike,
    audio_root: str | os.PathLike | None = None,
    headset: bool | str = True,
    synthetic_train: bool = False,
    unseen_labels: str = "error",
    index_dir: str | os.PathLike | None = None,
) -> Corpus:
    """Load SLURP from its official layout.

    headset: True = every recording (far-field and "-headset" close-talk, as the official
    evaluation scores them); False = far-field only; "only" = close-talk only.
    synthetic_train: also add train_synthetic.jsonl (audio in slurp_synth/) to "train".
    unseen_labels: "error" | "drop" | "keep", see `records.UNSEEN_LABEL_POLICIES`.
    index_dir: folder of the audio digest index (default `<cache root>/audio-index`).
    """
    if not (headset is True or headset is False or headset == "only"):
        raise ValueError(f"headset must be one of {HEADSET_CHOICES}, got {headset!r}")
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"SLURP root {root} does not exist")
    audio_base = Path(audio_root).expanduser().resolve() if audio_root else _find_audio_root(root)
    if not audio_base.is_dir():
        raise FileNotFoundError(f"SLURP audio_root {audio_base} does not exist")
    files = list(SLURP_FILES) + ([("train_synthetic", "train")] if synthetic_train else [])
    utts: list[Utterance] = []
    skipped: Counter = Counter()
    seen: set[str] = set()
    for stem, split in files:
        jsonl = root / "dataset" / "slurp" / f"{stem}.jsonl"
        if not jsonl.is_file():
            raise FileNotFoundError(
                f"SLURP file {jsonl} not found (expected <root>/dataset/slurp/{stem}.jsonl)"
            )
        audio_dir = audio_base / ("slurp_synth" if stem == "train_synthetic" else "slurp_real")
        file_utts, file_skipped = read_slurp_jsonl(jsonl, audio_dir, split, headset)
        skipped += file_skipped
        for u in file_utts:
            if u.uid in seen:
                skipped["duplicate recording"] += 1
                continue
            seen.add(u.uid)
            utts.append(u)
    return on_disk_corpus("slurp", "SLURP", utts, skipped, root, unseen_labels, index_dir)
