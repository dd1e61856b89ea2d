"""Write a synthetic corpus in the official FSC or SLURP layout, so the real loaders
(``benchmark.data.fsc``, ``benchmark.data.slurp``) and everything after them can run on it.

    fsc:   <out>/data/{train,valid,test}_data.csv    unnamed index column, then
                                                     path,speakerId,transcription,action,object,location
           <out>/wavs/speakers/<speakerId>/<uuid>.wav   (16 kHz mono PCM16, copied)
    slurp: <out>/dataset/slurp/{train,devel,test}.jsonl   one sentence per line: slurp_id, sentence,
                                                     scenario, action, intent, recordings, entities
           <out>/audio/slurp_real/audio-<n>.flac       (FLAC 16 bit); every ``headset_every``-th
                                                     recording also has its close-talk copy
                                                     ``audio-<n>-headset.flac`` (the same audio)

Like the public releases, each split lists ``missing`` audio files that are not on disk (extra
rows/recordings pointing at absent files, labelled like a present neighbour): the loaders skip and
count them. Utterances sharing (split, intent, text) become one SLURP sentence with several
recordings, as SLURP's do. The folder is built under a temporary name and renamed when complete.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from benchmark.data.cache import new_temp_dir, publish_dir
from benchmark.data.records import SPLITS, Corpus

LAYOUTS = ("fsc", "slurp")
SLURP_SPLIT_FILES = {"train": "train", "valid": "devel", "test": "test"}
FIRST_SLURP_FILE = 1490000000  # SLURP's audio files are named audio-<10-digit timestamp>.flac


@dataclass(frozen=True)
class Exported:
    """What an export wrote: the folder, audio files written, listed-but-missing files."""

    root: Path
    layout: str
    audio_files: int
    missing: int
    headset_copies: int = 0


def _file_uuid(uid: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"quads-repro/{uid}"))


def _fsc_parts(label: str) -> tuple[str, str, str]:
    parts = label.split("_")
    if len(parts) != 3:
        raise ValueError(f"FSC label {label!r} is not action_object_location")
    return parts[0], parts[1], parts[2]


def _write_fsc(corpus: Corpus, tmp: Path, missing: int) -> tuple[int, int, int]:
    written = listed_missing = 0
    (tmp / "data").mkdir(parents=True)
    for split in SPLITS:
        rows = []
        utts = corpus.split(split)
        for u in utts:
            rel = f"wavs/speakers/{u.speaker}/{_file_uuid(u.uid)}.wav"
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(u.path, tmp / rel)
            written += 1
            rows.append((rel, u.speaker, u.text, *_fsc_parts(u.label)))
        for i in range(min(missing, len(utts))):  # listed, never written
            u = utts[i]
            rel = f"wavs/speakers/{u.speaker}/{_file_uuid(u.uid + '-missing')}.wav"
            rows.append((rel, u.speaker, u.text, *_fsc_parts(u.label)))
            listed_missing += 1
        with open(tmp / "data" / f"{split}_data.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["", "path", "speakerId", "transcription", "action", "object", "location"])
            w.writerows([i, *row] for i, row in enumerate(rows))
    return written, listed_missing, 0


def _write_slurp(
    corpus: Corpus, tmp: Path, missing: int, headset_every: int
) -> tuple[int, int, int]:
    audio_dir = tmp / "audio" / "slurp_real"
    audio_dir.mkdir(parents=True)
    (tmp / "dataset" / "slurp").mkdir(parents=True)
    written = listed_missing = headset = 0
    number = FIRST_SLURP_FILE
    slurp_id = 10000
    for split in SPLITS:
        records: dict[tuple[str, str], dict] = {}
        for u in corpus.split(split):
            scenario, _, action = u.label.partition("_")
            key = (u.label, u.text)
            if key not in records:
                slurp_id += 1
                records[key] = {
                    "slurp_id": slurp_id,
                    "sentence": u.text,
                    "sentence_annotation": u.text,
                    "intent": u.label,
                    "scenario": scenario,
                    "action": action,
                    "tokens": [
                        {"surface": w, "id": i, "lemma": w} for i, w in enumerate(u.text.split())
                    ],
                    "recordings": [],
                    "entities": [],
                }
            audio, rate = sf.read(u.path, dtype="float32")
            number += 1
            names = [f"audio-{number}.flac"]
            if headset_every and (number - FIRST_SLURP_FILE) % headset_every == 0:
                names.append(f"audio-{number}-headset.flac")
                headset += 1
            for name in names:
                sf.write(audio_dir / name, audio, rate, subtype="PCM_16", format="FLAC")
                written += 1
                records[key]["recordings"].append(
                    {"file": name, "wer": 0.0, "ent_wer": 0.0, "status": "correct"}
                )
        for rec in list(records.values())[:missing]:  # listed, never written
            number += 1
            rec["recordings"].append(
                {"file": f"audio-{number}.flac", "wer": 0.0, "ent_wer": 0.0, "status": "correct"}
            )
            listed_missing += 1
        jsonl = tmp / "dataset" / "slurp" / f"{SLURP_SPLIT_FILES[split]}.jsonl"
        with open(jsonl, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records.values())
    return written, listed_missing, headset


def check_out(out: str | os.PathLike) -> Path:
    """``out`` resolved; a ``ValueError`` when it exists and is not an empty folder."""
    final = Path(out).expanduser().resolve()
    if final.exists() and (not final.is_dir() or any(final.iterdir())):
        raise ValueError(f"--out {final} exists and is not an empty folder; choose a new folder")
    return final


def export_corpus(
    corpus: Corpus,
    layout: str,
    out: str | os.PathLike,
    missing: int = 2,
    headset_every: int = 4,
) -> Exported:
    """Write ``corpus`` (a synthetic one) in the official ``layout`` ("fsc" | "slurp") at ``out``.

    missing: audio files listed per split but not written; headset_every: SLURP only, every n-th
    recording gets a "-headset" close-talk copy (0: none). ``out`` must not exist or be empty.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if layout != corpus.stands_for.lower():
        raise ValueError(
            f"corpus {corpus.name!r} stands for {corpus.stands_for}: export it with "
            f"--layout {corpus.stands_for.lower()}"
        )
    if missing < 0 or headset_every < 0:
        raise ValueError(f"missing and headset_every must be >= 0, got {missing}, {headset_every}")
    final = check_out(out)
    if final.is_dir():
        final.rmdir()
    tmp = new_temp_dir(final)
    try:
        if layout == "fsc":
            counts = _write_fsc(corpus, tmp, missing)
        else:
            counts = _write_slurp(corpus, tmp, missing, headset_every)
        (tmp / "EXPORTED_FROM.json").write_text(
            json.dumps(
                {"corpus": corpus.name, "fingerprint": corpus.fingerprint, "layout": layout},
                indent=1,
            )
            + "\n"
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish_dir(tmp, final)
    return Exported(final, layout, *counts)
