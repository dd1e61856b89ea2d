"""Peak resident memory of loading one student variant and running it, in a fresh process.

    python -m benchmark.speed.packed_memory VARIANT FILE [--frames 300] [--batch 1] [--threads 1]

prints one JSON line. Run by `bench_packed.py`, one subprocess per variant, so that no variant
inherits another's allocations. VARIANT is one of LOAD_PATHS:
    fp32          the float student: a meta-device skeleton filled from a float32 safetensors
                  file with `load_state_dict(assign=True)` (the float weights exist once)
    dequantized   a random-init float skeleton filled by `quads.export.load_quantized`
                  (W = C[I] in float32 on load: the path the training runs use)
    packed        a meta-device skeleton filled by `quads.packed.load_packed` (indices + tables)

Measured (Linux /proc/self/status, kB): once every import and the input batch are in memory,
VmRSS is read ("rss_imports_kb") and VmHWM, the peak so far, too ("peak_imports_kb"); VmHWM is
then reset to VmRSS (writing "5" to /proc/self/clear_refs), the model is loaded
("peak_after_load_kb") and run `--rounds` times under `torch.inference_mode()`, and VmHWM is read
again ("peak_kb"). peak_kb - rss_imports_kb is the memory the model's load and forward passes
added at their peak; max(peak_imports_kb, peak_kb) is the peak of the whole process.
(getrusage's ru_maxrss is not used: Linux carries it over from the parent across fork + exec, so
in a subprocess of pytest it reports pytest's own peak.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from baselines.registry import build_model
from baselines.skeleton import meta_skeleton
from quads.export import load_quantized
from quads.packed import load_packed

LOAD_PATHS = ("fp32", "dequantized", "packed")
MODEL = "whisper-tiny"
NUM_CLASSES = 31  # FSC intents


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    """Set VmHWM to the current VmRSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


def load_variant(load_path: str, file: str | Path, n_frames: int) -> nn.Module:
    """The student of one LOAD_PATHS entry, in eval mode."""
    if load_path == "fp32":
        model = meta_skeleton(MODEL, NUM_CLASSES, n_frames)
        model.load_state_dict(load_file(str(file)), strict=False, assign=True)
        on_meta = [k for k, t in model.state_dict().items() if t.is_meta]
        if on_meta:
            raise ValueError(f"{file} lacks {on_meta}")
    elif load_path == "dequantized":
        torch.manual_seed(0)
        model = load_quantized(file, build_model(MODEL, NUM_CLASSES, n_frames))
    elif load_path == "packed":
        model = load_packed(file, meta_skeleton(MODEL, NUM_CLASSES, n_frames))
    else:
        raise ValueError(f"load path {load_path!r} unknown; known: {', '.join(LOAD_PATHS)}")
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("load_path", choices=LOAD_PATHS)
    ap.add_argument("file", type=Path, help="float32 safetensors (fp32) or a quads.export file")
    ap.add_argument("--frames", type=int, default=300, help="input frames (300 = 3 s)")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--rounds", type=int, default=3, help="forward passes after the load")
    args = ap.parse_args(argv)
    if not args.file.is_file():
        ap.error(f"{args.file} does not exist")

    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    inputs = {"mel": torch.randn(args.batch, 80, args.frames, generator=gen)}  # (B, 80, T)
    rss_imports, peak_imports = _status_kb("VmRSS"), _status_kb("VmHWM")
    _reset_peak()
    start = time.perf_counter()
    model = load_variant(args.load_path, args.file, args.frames)
    load_s = time.perf_counter() - start
    loaded = _status_kb("VmHWM")
    with torch.inference_mode():
        for _ in range(args.rounds):
            model(**inputs)
    record = {
        "load_path": args.load_path,
        "rss_imports_kb": rss_imports,
        "peak_imports_kb": peak_imports,
        "peak_after_load_kb": loaded,
        "peak_kb": _status_kb("VmHWM"),
        "rss_end_kb": _status_kb("VmRSS"),
        "load_s": round(load_s, 4),
        "threads": torch.get_num_threads(),
    }
    json.dump(record, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
