"""Fluent Speech Commands loader (official layout).

    <root>/data/{train,valid,test}_data.csv   unnamed index column, then
                                               path,speakerId,transcription,action,object,location
    <root>/wavs/speakers/<speakerId>/<uuid>.wav   16 kHz mono; `path` is relative to <root>

Label: `f"{action}_{object}_{location}"` with FSC's strings, e.g. "activate_lights_kitchen",
"change language_Chinese_none" (31 distinct intents). uid = the csv `path` (unique).
Audio files listed in a csv but absent on disk are skipped and counted under
"missing audio"; a malformed row raises ValueError naming the csv file and line. The
fingerprint covers every listed file's bytes (`benchmark.data.audio_index`, a side index in
`index_dir`, default `<cache root>/audio-index`, makes a reload cost one `stat` per file).
"""

from __future__ import annotations

import csv
import os
import warnings
from collections import Counter
from pathlib import Path

from benchmark.data.audio_index import on_disk_corpus
from benchmark.data.records import SPLITS, Corpus, Utterance

FSC_COLUMNS = ("path", "speakerId", "transcription", "action", "object", "location")
_REQUIRED = ("path", "speakerId", "action", "object", "location")  # transcription may be empty


def fsc_label(action: str, obj: str, location: str) -> str:
    """The intent label of an (action, object, location) triple, e.g. "activate_lights_kitchen"."""
    return f"{action}_{obj}_{location}"


def read_fsc_csv(csv_path: Path, root: Path, split: str) -> tuple[list[Utterance], Counter]:
    """Parse one FSC csv into utterances whose audio exists, plus counted skips.

    Raises ValueError "<file>:<line>: ..." on a malformed header or row.
    """
    utts: list[Utterance] = []
    skipped: Counter = Counter()
    missing: list[str] = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{csv_path}:1: empty file, expected a header row") from None
        except csv.Error as e:
            raise ValueError(f"{csv_path}:{reader.line_num}: malformed csv ({e})") from None
        absent = [c for c in FSC_COLUMNS if c not in header]
        if absent:
            raise ValueError(
                f"{csv_path}:1: header lacks column(s) {absent}; expected an index column "
                f"then {','.join(FSC_COLUMNS)}"
            )
        col = {name: header.index(name) for name in FSC_COLUMNS}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise ValueError(f"{csv_path}:{reader.line_num}: malformed csv ({e})") from None
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"{csv_path}:{line}: expected {len(header)} fields, got {len(row)}: {row}"
                )
            fields = {name: row[i].strip() for name, i in col.items()}
            empty = [name for name in _REQUIRED if not fields[name]]
            if empty:
                raise ValueError(f"{csv_path}:{line}: empty field(s) {empty}")
            audio = root / fields["path"]
            if not audio.is_file():
                skipped["missing audio"] += 1
                missing.append(str(audio))
                continue
            utts.append(
                Utterance(
                    uid=fields["path"],
                    path=str(audio),
                    label=fsc_label(fields["action"], fields["object"], fields["location"]),
                    speaker=fields["speakerId"],
                    split=split,
                    text=fields["transcription"],
                )
            )
    if missing:
        warnings.warn(
            f"FSC {csv_path.name}: {len(missing)} listed audio file(s) missing, skipped "
            f"(first: {missing[0]})",
            stacklevel=3,
        )
    return utts, skipped


def load_fsc(
    root: str | os.PathLike,
    unseen_labels: str = "error",
    index_dir: str | os.PathLike | None = None,
) -> Corpus:
    """Load Fluent Speech Commands from its official layout under `root`.

    unseen_labels: policy for labels of valid/test absent from train ("error" | "drop" |
    "keep"), see `records.UNSEEN_LABEL_POLICIES`. index_dir: folder of the audio digest index.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"FSC root {root} does not exist")
    utts: list[Utterance] = []
    skipped: Counter = Counter()
    for split in SPLITS:
        csv_path = root / "data" / f"{split}_data.csv"
        if not csv_path.is_file():
            raise FileNotFoundError(
                f"FSC csv {csv_path} not found (expected <root>/data/{{train,valid,test}}_data.csv)"
            )
        split_utts, split_skipped = read_fsc_csv(csv_path, root, split)
        utts += split_utts
        skipped += split_skipped
    return on_disk_corpus("fsc", "FSC", utts, skipped, root, unseen_labels, index_dir)
