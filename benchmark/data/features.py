"""Whisper log-mel features and their on-disk cache.

`log_mel` reproduces Whisper's front end (`transformers.WhisperFeatureExtractor`, 80 mels): 25 ms
Hann window (n_fft 400), 10 ms hop (160) at 16 kHz, Slaney mel bank 0-8 kHz, log10 clamped at
1e-10, floored at max - 8, then (x + 4) / 4, on audio cropped or padded to `n_frames * 160`
samples: exactly (80, n_frames). `log10_mel`, the same before floor and scaling, feeds the
prosodic band energies (`benchmark.data.prosody_features`).

`load_features` computes a split's features once per (corpus fingerprint, split, n_frames,
FEATURE_VERSION) as a Hugging Face `datasets` folder (float16 mels + label ids + uids), built in a
temporary folder and renamed when complete. ``meta.json`` records the size and sha256 of every
file; a cache that no longer matches or cannot be read is named and rebuilt
(``benchmark.data.integrity``). Audio is read with soundfile (`read_audio`), not `datasets`' Audio
feature (which needs torchcodec/FFmpeg).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from benchmark.data.audio import AudioError, read_audio_with_info
from benchmark.data.cache import atomic_write, cache_subdir, new_temp_dir, publish_dir
from benchmark.data.integrity import cache_message, discard_dir, files_problem, record_files
from benchmark.data.records import Corpus

FEATURE_VERSION = 1  # bump when log_mel or the cache layout changes
SAMPLE_RATE = 16000
N_FFT = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms at 16 kHz
N_MELS = 80


@lru_cache(maxsize=4)
def _filter_bank(n_mels: int) -> np.ndarray:
    """Whisper's mel filter bank (transformers), (201, n_mels) float64, read only."""
    from transformers.audio_utils import mel_filter_bank

    fb = mel_filter_bank(
        num_frequency_bins=1 + N_FFT // 2,
        num_mel_filters=n_mels,
        min_frequency=0.0,
        max_frequency=SAMPLE_RATE / 2,
        sampling_rate=SAMPLE_RATE,
        norm="slaney",
        mel_scale="slaney",
    )
    fb.setflags(write=False)
    return fb


@lru_cache(maxsize=4)
def mel_filters(n_mels: int = N_MELS) -> torch.Tensor:
    """Whisper's mel filter bank, (n_mels, N_FFT // 2 + 1) = (80, 201) float32 (transformers)."""
    return torch.from_numpy(np.ascontiguousarray(_filter_bank(n_mels).T)).float()


def pad_or_crop(audio: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Keep the first `n_samples` of (..., T), zero-padding at the end if shorter."""
    t = audio.shape[-1]
    if t >= n_samples:
        return audio[..., :n_samples]
    return torch.nn.functional.pad(audio, (0, n_samples - t))


def log_mel(audio: np.ndarray | torch.Tensor, n_frames: int = 3000) -> torch.Tensor:
    """Whisper log-mel of 16 kHz audio (T,) or (B, T) -> (80, n_frames) or (B, 80, n_frames).

    The signal is cropped/padded to n_frames * 160 samples; the STFT (centred, reflect
    padding) gives n_frames + 1 frames and the last is dropped, as Whisper does. The
    max - 8 floor is taken per utterance.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    x = torch.as_tensor(audio, dtype=torch.float32)
    batched = x.dim() == 2
    if x.dim() not in (1, 2):
        raise ValueError(f"audio must be (T,) or (B, T), got shape {tuple(x.shape)}")
    x = pad_or_crop(x if batched else x[None], n_frames * HOP)  # (B, n_frames*160)
    window = torch.hann_window(N_FFT)
    stft = torch.stft(x, N_FFT, HOP, window=window, return_complex=True)  # (B, 201, n_frames+1)
    power = stft[..., :-1].abs() ** 2  # (B, 201, n_frames)
    mel = mel_filters() @ power  # (B, 80, n_frames)
    logm = torch.clamp(mel, min=1e-10).log10()
    floor = logm.amax(dim=(1, 2), keepdim=True) - 8.0
    out = (torch.maximum(logm, floor) + 4.0) / 4.0
    return out if batched else out[0]


def log10_mel(audio: np.ndarray, n_frames: int) -> np.ndarray:
    """The mel power spectrogram of `log_mel` without Whisper's max - 8 floor and (x + 4) / 4:
    log10 clamped at 1e-10, (80, n_frames) float32, of 16 kHz audio (T,) cut or zero-padded to
    `n_frames * 160` samples. The prosodic band energies are computed from it.

    Same filter bank, window, hop and centring as `log_mel`, but computed by transformers'
    numpy `spectrogram` (float64 FFT, values rounded to float32), as the Prosody rows always have
    been. Measured on the synthetic corpora: torch's float32 STFT (`log_mel` before its floor)
    differs from it by up to 4e-4 (a float64 torch STFT still by 5e-7), and Whisper's floor moves
    the z-normalised band energies by up to 3 standard deviations; so computing these through
    `log_mel` would change the Prosody rows.
    """
    from transformers.audio_utils import spectrogram, window_function

    padded = np.zeros(n_frames * HOP)  # float64
    padded[: min(audio.size, padded.size)] = audio[: padded.size]
    mel = spectrogram(
        padded,
        window_function(N_FFT, "hann"),
        frame_length=N_FFT,
        hop_length=HOP,
        power=2.0,
        mel_filters=_filter_bank(N_MELS),
        log_mel="log10",
    )  # (80, n_frames + 1), frame i centred at sample i * HOP
    return mel[:, :n_frames]


# Splits whose float32 log-mels would exceed this stay on disk (memory-mapped Arrow) and are read
# batch by batch: real SLURP at 30 s is ~70 GB as float32 (72k train recordings x 80 x 3000 x 4 B).
IN_MEMORY_LIMIT_BYTES = 2 * 2**30


class LazyMel:
    """Read-on-index view of a cached split's log-mels: behaves like the (N, 80, T) float32 tensor
    for what the trainer does with it (``shape``, ``len``, indexing by slice, int or index tensor).
    The `datasets` table is memory-mapped, so only the rows asked for are read."""

    def __init__(self, dataset, n_frames: int) -> None:
        self._ds = dataset.with_format("numpy", columns=["mel"])
        self.shape = torch.Size((len(dataset), N_MELS, n_frames))
        self.dtype = torch.float32

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.tolist()
        if isinstance(index, int):
            return self[[index]][0]
        if isinstance(index, slice):
            index = list(range(*index.indices(len(self))))
        if not index:
            return torch.zeros((0,) + tuple(self.shape[1:]))
        rows = self._ds[index]["mel"]  # (B, 80, T) float16
        return torch.from_numpy(np.asarray(rows, dtype=np.float32))


@dataclass(frozen=True)
class FeatureSet:
    """Log-mel features of one split. `notes` counts what happened on the way: utterances,
    features, "unreadable" (skipped files), "resampled", "downmixed"."""

    mel: torch.Tensor | LazyMel  # (N, 80, n_frames) float32; LazyMel past IN_MEMORY_LIMIT_BYTES
    labels: torch.Tensor  # (N,) int64 class ids into `intents`
    uids: tuple[str, ...]
    intents: tuple[str, ...]
    notes: Mapping[str, int] = field(default_factory=dict)
    split: str = ""
    n_frames: int = 0
    from_cache: bool = False  # True when read from an existing cache (nothing recomputed)

    def __len__(self) -> int:
        return len(self.uids)


class EmptySplitError(ValueError):
    """A split with no features to train or evaluate on. Names the corpus, split and fix."""


def require_features(fs: FeatureSet, corpus: Corpus) -> FeatureSet:
    """``fs`` when it has at least one utterance, else an `EmptySplitError` saying why (what the
    manifest listed, what could not be read) and the fix, before anything stacks zero tensors."""
    if len(fs):
        return fs
    notes = dict(fs.notes)
    where = f" in {corpus.source}" if corpus.source else ""
    raise EmptySplitError(
        f"{corpus.name}: the {fs.split} split{where} has no usable utterance "
        f"({notes.get('utterances', 0)} listed with audio present, "
        f"{notes.get('unreadable', 0)} unreadable; skipped by the loader: "
        f"{dict(corpus.skipped) or 'none'}); put readable audio for the files its manifest "
        f"lists, or list some (quads-bench run --dry-run counts them before training)"
    )


def feature_dir(
    corpus: Corpus, split: str, n_frames: int, cache_dir: str | os.PathLike | None = None
) -> Path:
    """`<cache_dir>/<corpus>-<fingerprint>/<split>-f<n_frames>-v<FEATURE_VERSION>`; cache_dir
    defaults to `<cache root>/features`."""
    return (
        cache_subdir(cache_dir, "features")
        / f"{corpus.name}-{corpus.fingerprint}"
        / f"{split}-f{n_frames}-v{FEATURE_VERSION}"
    )


# Failures seen by the generator below and the split's one progress bar, keyed by a per-build
# token (the generator runs in this process, but `datasets` may copy its kwargs, so a shared list
# could be lost; and it calls the generator once per shard, so a bar made inside it would be one
# bar per shard).
_FAILURES: dict[str, list[dict]] = {}
_BARS: dict[str, object] = {}


def _rows(items: tuple, n_frames: int, token: str):
    bar = _BARS.get(token)
    for uid, path, label in items:
        try:
            audio, info = read_audio_with_info(path, SAMPLE_RATE)
        except AudioError as e:
            warnings.warn(f"skipping unreadable audio: {e}", stacklevel=2)
            _FAILURES[token].append({"uid": uid, "path": path, "error": str(e)})
            continue
        finally:
            if bar is not None:
                bar.update(1)
        mel = log_mel(audio, n_frames).numpy().astype(np.float16)  # (80, n_frames)
        yield {
            "uid": uid,
            "label": label,
            "mel": mel,
            "resampled": info.resampled,
            "downmixed": info.downmixed,
        }


def _build(corpus: Corpus, split: str, n_frames: int, final: Path, progress: bool) -> None:
    import datasets
    from tqdm import tqdm

    utts = corpus.split(split)
    # a tuple, not a list: `datasets` splits list-valued gen_kwargs into one shard per element
    items = tuple((u.uid, u.path, corpus.label_id(u.label)) for u in utts)
    features = datasets.Features(
        {
            "uid": datasets.Value("string"),
            "label": datasets.Value("int64"),
            "mel": datasets.Array2D(shape=(N_MELS, n_frames), dtype="float16"),
            "resampled": datasets.Value("bool"),
            "downmixed": datasets.Value("bool"),
        }
    )
    tmp = new_temp_dir(final)
    token = tmp.name
    _FAILURES[token] = []
    _BARS[token] = tqdm(
        total=len(items),
        desc=f"log-mel {corpus.name}/{split} {n_frames} frames",
        unit="utt",
        disable=not progress,
    )
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    t0 = time.perf_counter()
    try:
        n, resampled, downmixed = 0, 0, 0
        gen_kwargs = {"items": items, "n_frames": n_frames, "token": token}
        ds = None
        try:
            if items:
                ds = datasets.Dataset.from_generator(
                    _rows, features=features, gen_kwargs=gen_kwargs, cache_dir=str(tmp / "build")
                )
        except ValueError:
            if len(_FAILURES[token]) != len(items):
                raise
            # every file failed: datasets refuses to load a generator's empty output
        if ds is not None:
            n = len(ds)
            if n:  # datasets cannot reload a saved empty table: n = 0 lives in meta.json only
                resampled, downmixed = int(sum(ds["resampled"])), int(sum(ds["downmixed"]))
                ds.save_to_disk(str(tmp / "dataset"))
            del ds
        failures = _FAILURES[token]
        notes = {
            "utterances": len(items),
            "features": n,
            "unreadable": len(failures),
            "resampled": resampled,
            "downmixed": downmixed,
        }
        shutil.rmtree(tmp / "build", ignore_errors=True)
        meta = {
            "files": _dataset_files(tmp),
            "corpus": corpus.name,
            "fingerprint": corpus.fingerprint,
            "split": split,
            "n_frames": n_frames,
            "version": FEATURE_VERSION,
            "intents": list(corpus.intents),
            "notes": notes,
            "failures": failures,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _FAILURES.pop(token, None)
        _BARS.pop(token).close()
        if bars:
            datasets.enable_progress_bars()
    publish_dir(tmp, final)


def _dataset_files(folder: Path) -> dict[str, dict[str, object]]:
    """Size and sha256 of every file of a cache's ``dataset/`` folder (``integrity``)."""
    names = [p.relative_to(folder).as_posix() for p in (folder / "dataset").rglob("*")]
    return record_files(folder, [n for n in names if (folder / n).is_file()])


def _cache_problem(final: Path, n_frames: int, limit: int) -> tuple[str | None, bool]:
    """(what is wrong with a published cache folder or None, whether it records its files).
    Files are hashed when the split is read whole anyway (up to ``limit`` bytes), else only
    their sizes are checked (a memory-mapped split is read batch by batch)."""
    try:
        meta = json.loads((final / "meta.json").read_text())
        n = int(meta["notes"]["features"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        return f"{final / 'meta.json'} is unreadable ({err})", False
    if "files" not in meta:
        return None, False  # made before checksums were kept: checked by reading it
    return files_problem(final, meta["files"], hashes=n * N_MELS * n_frames * 4 <= limit), True


def _read(
    final: Path, corpus: Corpus, split: str, n_frames: int, from_cache: bool, limit: int
) -> FeatureSet:
    import datasets

    meta = json.loads((final / "meta.json").read_text())
    if tuple(meta["intents"]) != corpus.intents:
        raise ValueError(f"feature cache {final} was built for another label space")
    n = meta["notes"]["features"]
    if n:
        ds = datasets.load_from_disk(str(final / "dataset"))
        labels = torch.from_numpy(np.asarray(ds.with_format("numpy")["label"], dtype=np.int64))
        uids = tuple(ds["uid"])
        if n * N_MELS * n_frames * 4 > limit:
            mel = LazyMel(ds, n_frames)
        else:
            ds.set_format("numpy", columns=["mel"])
            mel = torch.from_numpy(np.asarray(ds["mel"], dtype=np.float32))
    else:
        mel = torch.zeros((0, N_MELS, n_frames))
        labels = torch.zeros((0,), dtype=torch.long)
        uids = ()
    if meta["failures"] and from_cache:
        warnings.warn(
            f"{corpus.name}/{split}: {len(meta['failures'])} unreadable file(s) were skipped "
            f"when this cache was built (first: {meta['failures'][0]['path']})",
            stacklevel=3,
        )
    return FeatureSet(
        mel=mel,
        labels=labels,
        uids=uids,
        intents=corpus.intents,
        notes=dict(meta["notes"]),
        split=split,
        n_frames=n_frames,
        from_cache=from_cache,
    )


def _record_legacy(final: Path) -> None:
    """Record the files of a cache made before checksums were kept, after it read back whole."""
    meta = json.loads((final / "meta.json").read_text())
    meta["files"] = _dataset_files(final)
    with atomic_write(final / "meta.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    cache_message(
        f"feature cache {final}: recorded the checksums of its files (made before "
        "checksums were kept)"
    )


def load_features(
    corpus: Corpus,
    split: str,
    n_frames: int,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    in_memory_limit: int = IN_MEMORY_LIMIT_BYTES,
) -> FeatureSet:
    """Log-mel features (N, 80, n_frames) of one split, computed once and cached under
    `cache_dir` (default `$QUADS_CACHE_DIR/features`, else `~/.cache/quads-repro/features`).

    Files that cannot be read are skipped with a warning naming them and counted in
    `notes["unreadable"]`; resampled/downmixed files are counted too. Stored as float16
    (log-mel values are O(1); float16 keeps ~3 significant digits), returned as float32: in memory
    up to `in_memory_limit` bytes, else as a `LazyMel` that reads the batches it is asked for.
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    corpus.split(split)  # validates the split name
    final = feature_dir(corpus, split, n_frames, cache_dir)
    if final.exists():
        problem, recorded = _cache_problem(final, n_frames, in_memory_limit)
        if problem is None:
            try:
                fs = _read(final, corpus, split, n_frames, True, in_memory_limit)
            except Exception as err:  # noqa: BLE001 - any failure to read a cache means rebuild
                problem = f"unreadable ({type(err).__name__}: {str(err).splitlines()[0]})"
            else:
                if not recorded:
                    _record_legacy(final)
                return fs
        cache_message(f"feature cache {final} is damaged: {problem}; rebuilding it")
        discard_dir(final)
    # one utterance at a time is a small op: on a shared machine, torch's thread pool makes
    # log_mel many times slower (threads waiting on descheduled peers)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _build(corpus, split, n_frames, final, progress)
    finally:
        torch.set_num_threads(threads)
    return _read(final, corpus, split, n_frames, False, in_memory_limit)
