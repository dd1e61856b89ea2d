"""Synthetic stand-ins for FSC and SLURP, spoken by espeak-ng voices and generated locally.

Each speaker is an espeak-ng English voice (accent) with a voice variant (timbre), its own
speaking rate and pitch. Every speaker says every intent `utterances_per_intent` times
(a random phrasing, small rate/pitch jitter, random leading/trailing silence, additive
white/pink/brown/babble noise at a random SNR). Speakers are split train/valid/test with
disjoint variants, so test voices are unseen (as FSC's test speakers are). Babble is
made of other synthetic speech by voices that belong to no split.

Output: `<cache_dir>/<name>-<config hash>/` (cache_dir defaults to `$QUADS_CACHE_DIR/corpora`,
else `~/.cache/quads-repro/corpora`) with `wavs/<split>/<uid>.wav` (16 kHz mono
PCM16), `manifest.jsonl` (one row per utterance), `config.json`, `integrity.json` (size and
sha256 of the manifest and every wav, checked on every load: a damaged corpus is generated
again), `generation.json` (timing) and the completion marker `COMPLETE`, written last. The folder is built under a
temporary name and renamed when complete, so an interrupted generation restarts cleanly
(it does not resume: espeak-ng's output depends on its call history within a process,
so only an uninterrupted run in a fresh process is byte-reproducible). Generation runs
in a child process (`python -m benchmark.data.synthetic`) for that reason; the same
config and seed give the same bytes. What is said and how it sounds (config, speakers, plans,
rendering) is in `benchmark.data.synthetic_plan`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from benchmark.data.audio import write_audio
from benchmark.data.cache import (
    atomic_write,
    cache_subdir,
    new_temp_dir,
    publish_dir,
    stable_hash,
)
from benchmark.data.integrity import cache_message, discard_dir, files_problem, record_files
from benchmark.data.records import Corpus, Utterance, make_corpus
from benchmark.data.synthetic_plan import (
    DEFAULT_CONFIGS,
    KINDS,
    SyntheticConfig,
    babble_bank,
    phrase_bank,
    plan_speakers,
    plan_utterances,
    render,
)

GENERATOR_VERSION = 1  # bump when the generation procedure changes (changes the folder hash)
MARKER = "COMPLETE"
MANIFEST = "manifest.jsonl"
INTEGRITY = "integrity.json"  # sizes and sha256 of the manifest and every wav (corpus_problem)
# --------------------------------------------------------------------------- on disk


def config_hash(name: str, config: SyntheticConfig) -> str:
    """Hash of everything that determines the corpus bytes: name, config, generator
    version, phrase bank, voice exclusions and the espeak-ng package version."""
    from importlib.metadata import version

    from benchmark.data.tts import EXCLUDED_LANGUAGES, EXCLUDED_VARIANTS

    return stable_hash(
        {
            "name": name,
            "config": asdict(config),
            "version": GENERATOR_VERSION,
            "bank": phrase_bank(config.kind),
            "excluded": sorted(EXCLUDED_VARIANTS | EXCLUDED_LANGUAGES),
            "espeakng_loader": version("espeakng-loader"),
        }
    )


def corpus_dir(
    name: str, config: SyntheticConfig, cache_dir: str | os.PathLike | None = None
) -> Path:
    """`<cache_dir>/<name>-<config hash>`; cache_dir defaults to `<cache root>/corpora`."""
    return cache_subdir(cache_dir, "corpora") / f"{name}-{config_hash(name, config)}"


def _generate_here(name: str, config: SyntheticConfig, final: Path, progress: bool) -> None:
    """Generate into a temporary folder and publish it. Call in a fresh process only."""
    from tqdm import tqdm

    from benchmark.data.tts import get_synthesizer

    t0 = time.perf_counter()
    synth = get_synthesizer()
    synth.seed(config.seed)
    speakers = plan_speakers(config, synth.english_languages, synth.variants)
    plans = plan_utterances(config, speakers)
    tmp = new_temp_dir(final)
    try:
        babble = []
        if "babble" in {p.noise for p in plans}:
            babble = babble_bank(config, speakers, synth, np.random.default_rng([config.seed, 3]))
        rows = []
        for plan in tqdm(plans, desc=f"generating {name}", unit="utt", disable=not progress):
            audio = render(plan, synth, babble, config.sample_rate)
            rel = f"wavs/{plan.split}/{plan.uid}.wav"
            write_audio(tmp / rel, audio, config.sample_rate)
            spk = plan.speaker
            rows.append(
                {
                    "uid": plan.uid, "path": rel, "label": plan.label, "speaker": spk.id,
                    "split": plan.split, "text": plan.text, "language": spk.language,
                    "variant": spk.variant, "rate": plan.rate, "pitch": plan.pitch,
                    "pitch_range": plan.pitch_range, "lead_s": plan.lead_s, "tail_s": plan.tail_s,
                    "snr_db": plan.snr_db, "noise": plan.noise,
                    "duration_s": round(len(audio) / config.sample_rate, 4),
                }
            )  # fmt: skip
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        with open(tmp / "config.json", "w", encoding="utf-8") as f:
            json.dump(
                {"name": name, "version": GENERATOR_VERSION, "config": asdict(config)}, f, indent=1
            )
        _write_integrity(tmp, rows)
        with open(tmp / "generation.json", "w", encoding="utf-8") as f:
            json.dump({"seconds": round(time.perf_counter() - t0, 2), "utterances": len(rows)}, f)
        (tmp / MARKER).write_text(f"{len(rows)} utterances\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish_dir(tmp, final)


def generate(
    name: str,
    config: SyntheticConfig | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Path:
    """Generate the corpus folder unless a complete one exists; returns the folder.

    Runs `python -m benchmark.data.synthetic` in a child process: a fresh espeak-ng state
    makes the output reproducible, and no `if __name__ == "__main__"` guard is needed in
    the caller's script (as multiprocessing's spawn would require).
    """
    config = config if config is not None else default_config(name)
    final = corpus_dir(name, config, cache_dir)
    if (final / MARKER).is_file():
        problem = corpus_problem(final)
        if problem is None:
            return final
        cache_message(f"cached corpus {final} is damaged: {problem}; generating it again")
        discard_dir(final)
    elif final.exists():  # published without marker: damaged by hand
        cache_message(f"cached corpus {final} has no {MARKER} marker; generating it again")
        discard_dir(final)
    repo = str(Path(__file__).resolve().parents[2])
    paths = [repo, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    cmd = [sys.executable, "-m", "benchmark.data.synthetic", name, "--config-json",
           json.dumps(asdict(config)), "--child-final", str(final)]  # fmt: skip
    if not progress:
        cmd.append("--quiet")
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0 or not (final / MARKER).is_file():
        raise RuntimeError(
            f"generating {name} into {final} failed (child exit code {proc.returncode}); "
            "its traceback is printed above"
        )
    return final


def _write_integrity(folder: Path, rows: list[dict]) -> None:
    """``integrity.json``: the utterance count and the size and sha256 of the manifest and of
    every wav, checked by ``corpus_problem`` on every load."""
    record = {
        "utterances": len(rows),
        "files": record_files(folder, [MANIFEST, *(r["path"] for r in rows)]),
    }
    with atomic_write(folder / INTEGRITY) as tmp:
        tmp.write_text(json.dumps(record, indent=0))


def corpus_problem(folder: Path) -> str | None:
    """What is wrong with a published corpus folder (a manifest line deleted, a wav truncated or
    overwritten ...), or None. Hashes the manifest and every wav (about 0.2 s for a cpu-profile
    corpus of 1,600 wavs here). A folder made before ``integrity.json`` existed is checked
    structurally (manifest rows against the marker's count, each wav's length against its
    manifest duration) and its checksums are recorded then."""
    try:
        record = json.loads((folder / INTEGRITY).read_text())
    except FileNotFoundError:
        return _adopt(folder)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"{folder / INTEGRITY} is unreadable ({err})"
    problem = files_problem(folder, record["files"])
    if problem is None and len(record["files"]) != record["utterances"] + 1:
        problem = f"{folder / INTEGRITY} lists {len(record['files'])} files for {record['utterances']} utterances"
    return problem


def _adopt(folder: Path) -> str | None:
    import soundfile as sf

    try:
        rows = read_manifest(folder)
        count = int((folder / MARKER).read_text().split()[0])
    except (OSError, ValueError, IndexError) as err:
        return f"{folder / MANIFEST} or {folder / MARKER} is unreadable ({err})"
    if len(rows) != count:
        return f"{folder / MANIFEST} has {len(rows)} rows, {count} when it was generated"
    for r in rows:
        path = folder / r["path"]
        try:
            info = sf.info(str(path))
        except (OSError, RuntimeError) as err:  # soundfile raises LibsndfileError (RuntimeError)
            return f"{path} is unreadable ({err})"
        if abs(info.frames - r["duration_s"] * info.samplerate) > 2:
            return f"{path} holds {info.frames} samples, {r['duration_s']} s when it was generated"
    _write_integrity(folder, rows)
    cache_message(
        f"cached corpus {folder}: recorded the checksums of its files (made before "
        "checksums were kept)"
    )
    return None


def config_from_dict(d: dict) -> SyntheticConfig:
    """Inverse of `dataclasses.asdict` for `SyntheticConfig` (JSON lists back to tuples)."""
    d = dict(d)
    for k, v in d.items():
        if isinstance(v, list):
            d[k] = tuple(v)
    return SyntheticConfig(**d)


def default_config(name: str) -> SyntheticConfig:
    """The default config of a synthetic corpus name."""
    if name not in DEFAULT_CONFIGS:
        raise ValueError(f"unknown synthetic corpus {name!r}; known: {sorted(DEFAULT_CONFIGS)}")
    return DEFAULT_CONFIGS[name]


def read_manifest(folder: str | os.PathLike) -> list[dict]:
    """Rows of a generated corpus' manifest.jsonl."""
    with open(Path(folder) / MANIFEST, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_synthetic(
    name: str,
    config: SyntheticConfig | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Corpus:
    """Generate (once) and load a synthetic corpus as a `Corpus`.

    name: "synthetic-fsc" or "synthetic-slurp" (or any name, given a config).
    """
    config = config if config is not None else default_config(name)
    folder = generate(name, config, cache_dir, progress)
    utts, skipped = [], Counter()
    for r in read_manifest(folder):
        path = folder / r["path"]
        if not path.is_file():
            skipped["missing audio"] += 1
            continue
        utts.append(
            Utterance(
                uid=r["uid"],
                path=str(path),
                label=r["label"],
                speaker=r["speaker"],
                split=r["split"],
                text=r["text"],
            )
        )
    return make_corpus(
        name,
        KINDS[config.kind],
        True,
        utts,
        skipped,
        intents=config.label_space,
        source=str(folder),
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m benchmark.data.synthetic NAME [--cache-dir D]`: generate a corpus now."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("name", help=f"one of {sorted(DEFAULT_CONFIGS)}")
    ap.add_argument(
        "--cache-dir",
        default=None,
        help="corpora folder (default $QUADS_CACHE_DIR/corpora or ~/.cache/quads-repro/corpora)",
    )
    ap.add_argument(
        "--config-json", default=None, help="a SyntheticConfig as JSON (default: the name's)"
    )
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    ap.add_argument(
        "--child-final", default=None, help=argparse.SUPPRESS
    )  # internal: generate here
    args = ap.parse_args(argv)
    config = (
        config_from_dict(json.loads(args.config_json))
        if args.config_json
        else default_config(args.name)
    )
    if args.child_final:
        _generate_here(args.name, config, Path(args.child_final), not args.quiet)
        return
    corpus = load_synthetic(args.name, config, args.cache_dir, progress=not args.quiet)
    print(corpus)
    print(corpus.source)


if __name__ == "__main__":
    main()
