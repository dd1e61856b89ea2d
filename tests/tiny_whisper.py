"""Tiny random-weight Whisper encoders standing in for the real ones in end-to-end tests.

``write_library`` writes Hugging Face folders (``config.json`` + ``model.safetensors``) that
``baselines.weights`` loads through ``$QUADS_WHISPER_DIR`` like any pretrained Whisper;
``use_tiny_models`` swaps the registry's Whisper models for encoders of the same tiny size and
measures efficiency without the process-wide cache (which must not keep tiny numbers under real
model names).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import benchmark.run.experiment as experiment
from baselines.registry import MODELS, ModelSpec
from baselines.whisper import WhisperClassifier, WhisperDims
from benchmark.run.efficiency import measure_efficiency

DIMS = WhisperDims(d_model=16, layers=1, heads=2, ffn=32)


def write_library(root: Path, names: tuple[str, ...]) -> Path:
    """One tiny random-weight Whisper encoder per name (e.g. "tiny.en", "base") under ``root``."""
    import torch
    from safetensors.torch import save_file
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    for seed, name in enumerate(names):
        config = WhisperConfig(
            d_model=DIMS.d_model,
            encoder_layers=DIMS.layers,
            encoder_attention_heads=DIMS.heads,
            encoder_ffn_dim=DIMS.ffn,
            decoder_layers=1,
            decoder_attention_heads=DIMS.heads,
            decoder_ffn_dim=DIMS.ffn,
            max_source_positions=1500,
        )
        torch.manual_seed(seed)
        state = WhisperEncoder(config).state_dict()
        folder = root / name
        folder.mkdir(parents=True)
        config.to_json_file(str(folder / "config.json"))
        save_file(
            {f"encoder.{k}": v.contiguous() for k, v in state.items()},
            str(folder / "model.safetensors"),
        )
    return root


def use_tiny_models(monkeypatch, sizes: tuple[str, ...] = ("tiny", "base")) -> None:
    """Registry entries ``whisper-<size>`` become tiny encoders (undone after the test)."""
    for size in sizes:
        spec = MODELS[f"whisper-{size}"]
        tiny = ModelSpec(
            spec.name, partial(WhisperClassifier, size, dims=DIMS), spec.pretrained, "tiny test"
        )
        monkeypatch.setitem(MODELS, spec.name, tiny)
    monkeypatch.setattr(experiment, "measure_efficiency", measure_efficiency.__wrapped__)


def register_in_worker() -> None:
    """``use_tiny_models`` for a worker process (a Ray setup hook): no undo, the worker is ours."""
    from baselines.registry import register

    for size in ("tiny", "base"):
        spec = MODELS[f"whisper-{size}"]
        register(
            ModelSpec(
                spec.name, partial(WhisperClassifier, size, dims=DIMS), spec.pretrained, "tiny"
            ),
            replace=True,
        )
    experiment.measure_efficiency = measure_efficiency.__wrapped__


KILL_ONCE_ENV = "QUADS_TEST_KILL_ONCE"  # a marker file: the first worker to checkpoint dies


def register_and_kill_once() -> None:
    """``register_in_worker``, and the first run to write an epoch checkpoint (anywhere: the
    marker file in ``$QUADS_TEST_KILL_ONCE`` decides) kills its worker right after it."""
    import quads.engine

    register_in_worker()
    marker = os.environ.get(KILL_ONCE_ENV)
    if not marker or getattr(quads.engine.save_checkpoint, "kills_once", False):
        return
    save = quads.engine.save_checkpoint

    def save_then_die(path, state):
        save(path, state)
        if "checkpoints" in Path(path).parts:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os._exit(1)

    save_then_die.kills_once = True
    quads.engine.save_checkpoint = save_then_die
